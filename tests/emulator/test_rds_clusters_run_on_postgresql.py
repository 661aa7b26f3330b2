"""rds.clusters_run_on_postgresql: an Aurora PostgreSQL cluster is a PostgreSQL server of its own."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import psycopg
import pytest


def refused(connect) -> str:
    with pytest.raises(psycopg.OperationalError) as failure:
        connect().close()
    return str(failure.value)


def test_master_user_and_database_at_the_endpoint(aurora, login, emulator):
    cluster = aurora()
    assert cluster["Endpoint"] == cluster["ReaderEndpoint"] == "127.0.0.1"
    assert cluster["Port"] not in (5432, emulator["pg_port"])
    with login(cluster, "FirstPassword123") as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT current_user, current_database()").fetchone() == ("dbadmin", "streams")
        # Aurora's master user: no superuser, may create databases and roles, member of rds_superuser.
        assert conn.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = 'dbadmin'"
                            ).fetchone() == (False, True, True)
        assert conn.execute("SELECT pg_has_role('dbadmin', 'rds_superuser', 'MEMBER')").fetchone() == (True,)
        assert conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'streams'"
                            ).fetchone() == ("dbadmin",)
        conn.execute("CREATE TABLE owned (id int)")  # it owns the database's public schema
    # verify-full works with the emulator's certificate as the root
    with login(cluster, "FirstPassword123", sslmode="verify-full", sslrootcert=emulator["pg_ca_file"]) as conn:
        assert conn.pgconn.ssl_in_use
    assert "password authentication failed" in refused(lambda: login(cluster, "WrongPassword123"))


def test_members_report_the_cluster_endpoint(aurora, aws):
    cluster = aurora()
    rds = aws("rds")
    rds.create_db_instance(DBInstanceIdentifier=cluster["DBClusterIdentifier"] + "-w", DBClusterIdentifier=cluster["DBClusterIdentifier"],
                           Engine="aurora-postgresql", DBInstanceClass="db.serverless")
    member = rds.describe_db_instances(DBInstanceIdentifier=cluster["DBClusterIdentifier"] + "-w")["DBInstances"][0]
    assert member["Endpoint"] == {"Address": "127.0.0.1", "Port": cluster["Port"]}


def test_clusters_are_isolated(aurora, login):
    """Two environments ask for the same master user and database: each has its own."""
    first, second = aurora(), aurora(MasterUserPassword="SecondPassword123")
    assert first["Port"] != second["Port"]
    with login(first, "FirstPassword123") as conn:
        conn.execute("CREATE TABLE only_in_first (id int)")
    with login(second, "SecondPassword123") as conn:
        assert conn.execute("SELECT to_regclass('only_in_first')").fetchone() == (None,)
    assert "password authentication failed" in refused(lambda: login(second, "FirstPassword123"))


def test_modify_sets_the_master_password(aurora, aws, login):
    cluster = aurora()
    aws("rds").modify_db_cluster(DBClusterIdentifier=cluster["DBClusterIdentifier"], MasterUserPassword="NewPassword456",
                                 ApplyImmediately=True)
    with login(cluster, "NewPassword456") as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("dbadmin",)
    assert "password authentication failed" in refused(lambda: login(cluster, "FirstPassword123"))
    described = aws("rds").describe_db_clusters(DBClusterIdentifier=cluster["DBClusterIdentifier"])["DBClusters"][0]
    assert (described["Endpoint"], described["Port"]) == ("127.0.0.1", cluster["Port"])


def test_managed_master_password(aurora, aws, login):
    """ManageMasterUserPassword: RDS's own secret names the master user and holds its password."""
    cluster = aurora(MasterUserPassword=None, ManageMasterUserPassword=True)
    secret = json.loads(aws("secretsmanager").get_secret_value(
        SecretId=cluster["MasterUserSecret"]["SecretArn"])["SecretString"])
    assert secret["username"] == "dbadmin" and len(secret["password"]) >= 16
    with login(cluster, secret["password"]) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("dbadmin",)


def test_force_ssl_refuses_plain_connections(aurora, aws, login):
    rds = aws("rds")
    group = "t-force-ssl-" + uuid.uuid4().hex[:6]
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=group, DBParameterGroupFamily="aurora-postgresql16",
                                          Description="force ssl")
    try:
        cluster = aurora(DBClusterParameterGroupName=group)
        with login(cluster, "FirstPassword123", sslmode="disable") as conn:  # rds.force_ssl not set yet
            assert not conn.pgconn.ssl_in_use
        rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName=group, Parameters=[
            {"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "immediate"}])
        message = refused(lambda: login(cluster, "FirstPassword123", sslmode="disable"))
        assert 'no pg_hba.conf entry for host "127.0.0.1", user "dbadmin", database "streams", no encryption' in message
        with login(cluster, "FirstPassword123") as conn:
            assert conn.pgconn.ssl_in_use
    finally:
        for made in rds.describe_db_clusters()["DBClusters"]:
            if made.get("DBClusterParameterGroup") == group:
                rds.delete_db_cluster(DBClusterIdentifier=made["DBClusterIdentifier"], SkipFinalSnapshot=True)
        rds.delete_db_cluster_parameter_group(DBClusterParameterGroupName=group)


def test_delete_stops_the_server_and_drops_its_data(aurora, aws, login, emulator):
    cluster = aurora()
    data = Path(emulator["pg_ca_file"]).parents[1] / "rds" / "clusters" / cluster["DbClusterResourceId"]
    assert (data / "PG_VERSION").exists()
    aws("rds").delete_db_cluster(DBClusterIdentifier=cluster["DBClusterIdentifier"], SkipFinalSnapshot=True)
    assert "Connection refused" in refused(lambda: login(cluster, "FirstPassword123"))
    assert not data.exists()


def test_final_snapshot_keeps_the_data_and_restores_it(aurora, aws, login):
    cluster = aurora()
    with login(cluster, "FirstPassword123") as conn:
        conn.execute("CREATE TABLE kept AS SELECT 42 AS answer")
    rds = aws("rds")
    snapshot = cluster["DBClusterIdentifier"] + "-final"
    rds.delete_db_cluster(DBClusterIdentifier=cluster["DBClusterIdentifier"], FinalDBSnapshotIdentifier=snapshot)
    assert rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=snapshot)["DBClusterSnapshots"][0]["SnapshotType"] == "manual"
    restored = rds.restore_db_cluster_from_snapshot(DBClusterIdentifier=cluster["DBClusterIdentifier"] + "-r",
                                                    SnapshotIdentifier=snapshot, Engine="aurora-postgresql")["DBCluster"]
    try:
        with login(restored, "FirstPassword123") as conn:
            assert conn.execute("SELECT answer FROM kept").fetchone() == (42,)
    finally:
        rds.delete_db_cluster(DBClusterIdentifier=restored["DBClusterIdentifier"], SkipFinalSnapshot=True)
        rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=snapshot)


def test_a_reset_of_moto_stops_the_servers(aurora, login, endpoint, emulator):
    import urllib.request

    cluster = aurora()
    data = Path(emulator["pg_ca_file"]).parents[1] / "rds" / "clusters" / cluster["DbClusterResourceId"]
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"), timeout=30).read()
    assert "Connection refused" in refused(lambda: login(cluster, "FirstPassword123"))
    assert not data.exists()
