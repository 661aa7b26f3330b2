"""The rotation modules (secretsmanager_rotation, postgresql_rotation), run for real against the
emulator's Secrets Manager and an Aurora cluster of its RDS (a PostgreSQL server of its own)."""
from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from modules_helper import run_module

RUN = uuid.uuid4().hex[:8]  # names unique to this run
MASTER, CLONE, DB, OWNER = f"m{RUN}", f"m{RUN}_clone", f"d{RUN}", f"d{RUN}_owner"
CLUSTER = f"unit-rotation-{RUN}"
ENGINE = {}  # the cluster's endpoint: host, port
PASSWORD = "Unit0Rotation0Password0" + RUN


def labels(sm, arn):
    out = {}
    for version, stages in sm.describe_secret(SecretId=arn)["VersionIdsToStages"].items():
        for stage in stages:
            out[stage] = version
    return out


def value(sm, arn, stage="AWSCURRENT"):
    return json.loads(sm.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"])


def logs_in(creds):
    try:
        with psycopg.connect(host=creds["host"], port=creds["port"], user=creds["username"], password=creds["password"],
                             dbname=creds["dbname"], connect_timeout=5, sslmode="require") as conn:
            return conn.execute("SELECT session_user, current_user").fetchone()
    except psycopg.OperationalError:
        return None


def owners():
    """(database owner, owners of the tables in it), read as the engine's administrator."""
    with psycopg.connect(host=ENGINE["host"], port=ENGINE["port"], user="postgres", dbname=DB) as conn:
        database = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (DB,)).fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
    return database, tables


@pytest.fixture(scope="module")
def database(aws):
    """A cluster whose master user owns its database and a table in it, and a secret naming the
    master at the cluster's endpoint, as a deploy and a first migration leave them."""
    cluster = aws("rds").create_db_cluster(DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", EngineVersion="16.6",
                                           MasterUsername=MASTER, MasterUserPassword=PASSWORD, DatabaseName=DB)["DBCluster"]
    ENGINE.update(host=cluster["Endpoint"], port=cluster["Port"])
    with psycopg.connect(host=cluster["Endpoint"], port=cluster["Port"], user=MASTER, password=PASSWORD, dbname=DB,
                         autocommit=True, sslmode="require") as conn:
        conn.execute("CREATE TABLE before_rotation (id serial PRIMARY KEY)")
    secret = {"username": MASTER, "password": PASSWORD, "engine": "postgres", "host": cluster["Endpoint"],
              "port": str(cluster["Port"]), "dbname": DB}
    arn = aws("secretsmanager").create_secret(Name=f"unit/rotation-{RUN}", SecretString=json.dumps(secret))["ARN"]
    yield arn
    aws("rds").delete_db_cluster(DBClusterIdentifier=CLUSTER, SkipFinalSnapshot=True)


def sm_step(endpoint, arn, step, check=False):
    args = dict(secret_id=arn, step=step, json_key="password", alternate_usernames=[MASTER, CLONE])
    return run_module(endpoint, "secretsmanager_rotation", args, check=check, diff=True)


def pg_step(endpoint, arn, step, check=False, **extra):
    args = dict(dict(secret_id=arn, step=step, master_username=MASTER, cluster_identifier=CLUSTER), **extra)
    return run_module(endpoint, "postgresql_rotation", args, check=check, diff=True)


def test_database_rotation_step_by_step(endpoint, aws, database):
    sm, arn = aws("secretsmanager"), database
    before = labels(sm, arn)
    outputs = []

    planned = sm_step(endpoint, arn, "create", check=True)
    assert planned["changed"] and planned["usernames"]["pending"] == CLONE and labels(sm, arn) == before
    assert planned["diff"]["after"]["versions"]["pending"] == "(new version)"

    created = sm_step(endpoint, arn, "create")
    pending = created["versions"]["pending"]
    assert created["changed"] and labels(sm, arn)["AWSPENDING"] == pending
    new = value(sm, arn, "AWSPENDING")
    assert new["username"] == CLONE and len(new["password"]) == 32 and new["password"].isalnum()
    assert {k: v for k, v in new.items() if k not in ("username", "password")} == \
        {k: v for k, v in value(sm, arn).items() if k not in ("username", "password")}
    again = sm_step(endpoint, arn, "create")
    assert not again["changed"] and again["versions"]["pending"] == pending  # a rerun reuses AWSPENDING

    plan = pg_step(endpoint, arn, "set", check=True)
    assert plan["changed"] and plan["actions"] == [
        f"create role {OWNER} (NOLOGIN), the owner of {DB} and its objects", f"grant {OWNER} to {MASTER}",
        f"reassign what {MASTER} owns in {DB} (the database, tables, sequences, ...) to {OWNER}",
        f"make the sessions of {MASTER} act as {OWNER}", f"create login role {CLONE}", f"grant {OWNER} to {CLONE}",
        f"make the sessions of {CLONE} act as {OWNER}", f"set the password of {CLONE} to AWSPENDING's (SQL, as {MASTER})"]
    assert logs_in(new) is None and owners() == (MASTER, {MASTER})
    made = pg_step(endpoint, arn, "set")
    assert made["changed"] and made["users"] == {"current": MASTER, "pending": CLONE, "previous": ""}
    assert made["actions"] == plan["actions"] and made["owner_role"] == OWNER
    assert logs_in(new) == (CLONE, OWNER)  # the clone acts as the owner role
    assert logs_in(value(sm, arn)) == (MASTER, OWNER)  # AWSCURRENT still works, and acts as the owner too
    assert owners() == (OWNER, {OWNER})  # the database and the table were reassigned
    assert not pg_step(endpoint, arn, "set")["changed"]
    tested = pg_step(endpoint, arn, "test")
    assert not tested["changed"] and f"acts as {OWNER} and creates tables owned by it" in tested["actions"][0]

    finished = sm_step(endpoint, arn, "finish")
    assert finished["changed"] and finished["versions"] == {"current": pending, "pending": "", "previous": before["AWSCURRENT"]}
    assert finished["usernames"] == {"current": CLONE, "pending": "", "previous": MASTER}
    # GetSecretValue without a stage (what the app and deploy read) answers the new version.
    assert sm.get_secret_value(SecretId=arn)["VersionId"] == pending
    assert not sm_step(endpoint, arn, "finish")["changed"]
    old = value(sm, arn, "AWSPREVIOUS")
    assert logs_in(old) is not None
    retired = pg_step(endpoint, arn, "retire")
    # The master gets a random password through the RDS API, which the cluster applies.
    assert retired["changed"] and "ModifyDBCluster" in retired["actions"][0]
    assert logs_in(old) is None and logs_in(value(sm, arn)) == (CLONE, OWNER)
    assert not pg_step(endpoint, arn, "retire")["changed"]
    outputs += [planned, created, again, plan, made, tested, finished, retired]
    for result in outputs:
        for secret in (PASSWORD, new["password"]):
            assert secret not in result["_stdout"]


def test_cancel_rolls_back_and_a_stray_pending_is_replaced(endpoint, aws, database):
    sm, arn = aws("secretsmanager"), database
    current = labels(sm, arn)["AWSCURRENT"]
    created = sm_step(endpoint, arn, "create")
    assert created["usernames"]["pending"] == MASTER  # the second rotation goes back to the master
    cancelled = sm_step(endpoint, arn, "cancel")
    assert cancelled["changed"] and "AWSPENDING" not in labels(sm, arn) and labels(sm, arn)["AWSCURRENT"] == current
    assert not sm_step(endpoint, arn, "cancel")["changed"]
    # An AWSPENDING that does not switch the user (e.g. left by something else) is replaced.
    stray = dict(value(sm, arn), password="Stray0Value0" + RUN)
    sm.put_secret_value(SecretId=arn, SecretString=json.dumps(stray), ClientRequestToken=str(uuid.uuid4()),
                        VersionStages=["AWSPENDING"])
    replaced = sm_step(endpoint, arn, "create")
    assert replaced["changed"] and replaced["usernames"]["pending"] == MASTER and "replace AWSPENDING" in replaced["actions"][0]
    assert sm_step(endpoint, arn, "cancel")["changed"] and labels(sm, arn)["AWSCURRENT"] == current


def test_second_rotation_sets_the_master_password_through_the_rds_api(endpoint, aws, database):
    """clone -> master: the master's password goes through ModifyDBCluster (no SQL privilege needed);
    the finish removes the clone's password with SQL, as the master."""
    sm, arn = aws("secretsmanager"), database
    assert value(sm, arn)["username"] == CLONE
    assert sm_step(endpoint, arn, "create")["usernames"]["pending"] == MASTER
    pending = value(sm, arn, "AWSPENDING")
    planned = pg_step(endpoint, arn, "set", check=True)
    assert planned["changed"] and planned["actions"] == [
        f"set the password of {MASTER} to AWSPENDING's (RDS ModifyDBCluster MasterUserPassword, cluster {CLUSTER})"]
    assert logs_in(pending) is None
    made = pg_step(endpoint, arn, "set")
    assert made["actions"] == planned["actions"] and logs_in(pending) == (MASTER, OWNER)
    assert not pg_step(endpoint, arn, "set")["changed"]
    assert "acts as " + OWNER in pg_step(endpoint, arn, "test")["actions"][0]
    sm_step(endpoint, arn, "finish")
    old = value(sm, arn, "AWSPREVIOUS")
    retired = pg_step(endpoint, arn, "retire")
    assert retired["actions"] == [f"remove the password of {CLONE} (SQL, as {MASTER}): AWSPREVIOUS is rejected from now on"]
    assert logs_in(old) is None and logs_in(value(sm, arn)) == (MASTER, OWNER)
    for result in (planned, made, retired):
        assert pending["password"] not in result["_stdout"] and old["password"] not in result["_stdout"]


def test_plain_secret_keeps_the_old_value_as_previous(endpoint, aws):
    sm = aws("secretsmanager")
    arn = sm.create_secret(Name=f"unit/rotation-jwt-{RUN}", SecretString="OldValue" * 8)["ARN"]
    created = run_module(endpoint, "secretsmanager_rotation", dict(secret_id=arn, step="create", length=64))
    finished = run_module(endpoint, "secretsmanager_rotation", dict(secret_id=arn, step="finish"))
    assert finished["versions"]["current"] == created["versions"]["pending"]
    new = sm.get_secret_value(SecretId=arn)["SecretString"]
    assert len(new) == 64 and new.isalnum() and new not in created["_stdout"] + finished["_stdout"]
    assert sm.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"] == "OldValue" * 8


def test_bad_arguments_fail_before_any_call():
    bad = run_module("http://127.0.0.1:9", "secretsmanager_rotation",
                     dict(secret_id="x", step="create", json_key="password", alternate_usernames=["a", "a"]))
    assert bad.get("failed") and "two different users" in bad["msg"]
