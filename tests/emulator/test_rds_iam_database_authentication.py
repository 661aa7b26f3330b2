"""Fix rds.iam_database_authentication_follows_the_cluster: switched by ModifyDBCluster, reported by members."""
from __future__ import annotations


def test_cluster_switch_and_members_report_it(aws, aurora):
    rds = aws("rds")
    cluster = aurora(EnableIAMDatabaseAuthentication=False)
    name = cluster["DBClusterIdentifier"]
    assert cluster["IAMDatabaseAuthenticationEnabled"] is False
    rds.create_db_instance(DBInstanceIdentifier=f"{name}-w", DBClusterIdentifier=name, Engine="aurora-postgresql",
                           DBInstanceClass="db.serverless")
    assert rds.describe_db_instances(DBInstanceIdentifier=f"{name}-w")["DBInstances"][0][
        "IAMDatabaseAuthenticationEnabled"] is False

    rds.modify_db_cluster(DBClusterIdentifier=name, EnableIAMDatabaseAuthentication=True, ApplyImmediately=True)
    assert rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]["IAMDatabaseAuthenticationEnabled"] is True
    assert rds.describe_db_instances(DBInstanceIdentifier=f"{name}-w")["DBInstances"][0][
        "IAMDatabaseAuthenticationEnabled"] is True

    rds.modify_db_cluster(DBClusterIdentifier=name, EnableIAMDatabaseAuthentication=False, ApplyImmediately=True)
    assert rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]["IAMDatabaseAuthenticationEnabled"] is False


def test_created_on(aws, aurora):
    cluster = aurora(EnableIAMDatabaseAuthentication=True)
    assert cluster["IAMDatabaseAuthenticationEnabled"] is True
