"""The rotation modules (secretsmanager_rotation, postgresql_rotation) and postgresql_master_user after a
rotation, run for real against the emulator's Secrets Manager and its PostgreSQL server."""
from __future__ import annotations

import json
import uuid
from urllib.parse import urlparse

import psycopg
import pytest

from modules_helper import run_module

RUN = uuid.uuid4().hex[:8]  # names unique to this run
MASTER, CLONE, DB, OWNER = f"m{RUN}", f"m{RUN}_clone", f"d{RUN}", f"d{RUN}_owner"
CLUSTER = f"unit-rotation-{RUN}"
STAND_IN = {}  # the emulator's PostgreSQL plays the cluster's engine: the master's password lands there too
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
                             dbname=creds["dbname"], connect_timeout=5) as conn:
            return conn.execute("SELECT session_user, current_user").fetchone()
    except psycopg.OperationalError:
        return None


def owners(pg_admin_url):
    """(database owner, owners of the tables in it)."""
    with psycopg.connect(pg_admin_url, dbname=DB) as conn:
        database = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (DB,)).fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
    return database, tables


@pytest.fixture(scope="module")
def database(aws, pg_admin_url):
    """A master user owning its database and a table in it, the cluster (metadata in the emulator),
    and a secret naming the master, as a deploy and a first migration leave them."""
    admin = urlparse(pg_admin_url)
    STAND_IN["url"] = pg_admin_url
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {MASTER} LOGIN CREATEDB CREATEROLE PASSWORD '{PASSWORD}'")
        conn.execute(f"CREATE DATABASE {DB} OWNER {MASTER}")
    with psycopg.connect(host=admin.hostname, port=admin.port, user=MASTER, password=PASSWORD, dbname=DB,
                         autocommit=True) as conn:
        conn.execute("CREATE TABLE before_rotation (id serial PRIMARY KEY)")
    aws("rds").create_db_cluster(DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", EngineVersion="16.6",
                                 MasterUsername=MASTER, MasterUserPassword=PASSWORD)
    secret = {"username": MASTER, "password": PASSWORD, "engine": "postgres", "host": admin.hostname,
              "port": str(admin.port), "dbname": DB}
    arn = aws("secretsmanager").create_secret(Name=f"unit/rotation-{RUN}", SecretString=json.dumps(secret))["ARN"]
    yield arn
    aws("rds").delete_db_cluster(DBClusterIdentifier=CLUSTER, SkipFinalSnapshot=True)
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        for role in (CLONE, OWNER, MASTER):
            conn.execute(f"DROP ROLE IF EXISTS {role}")


def sm_step(endpoint, arn, step, check=False):
    args = dict(secret_id=arn, step=step, json_key="password", alternate_usernames=[MASTER, CLONE])
    return run_module(endpoint, "secretsmanager_rotation", args, check=check, diff=True)


def pg_step(endpoint, arn, step, check=False, **extra):
    args = dict(dict(secret_id=arn, step=step, master_username=MASTER, sslmode="prefer", cluster_identifier=CLUSTER,
                     stand_in_admin_url=STAND_IN["url"]), **extra)
    return run_module(endpoint, "postgresql_rotation", args, check=check, diff=True)


def test_database_rotation_step_by_step(endpoint, aws, database, pg_admin_url):
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
    assert logs_in(new) is None and owners(pg_admin_url) == (MASTER, {MASTER})
    made = pg_step(endpoint, arn, "set")
    assert made["changed"] and made["users"] == {"current": MASTER, "pending": CLONE, "previous": ""}
    assert made["actions"] == plan["actions"] and made["owner_role"] == OWNER
    assert logs_in(new) == (CLONE, OWNER)  # the clone acts as the owner role
    assert logs_in(value(sm, arn)) == (MASTER, OWNER)  # AWSCURRENT still works, and acts as the owner too
    assert owners(pg_admin_url) == (OWNER, {OWNER})  # the database and the table were reassigned
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
    refused = pg_step(endpoint, arn, "retire", stand_in_admin_url="postgresql://postgres@db.example.com/postgres")
    assert refused.get("failed") and "must be a loopback URL" in refused["msg"] and logs_in(old) is not None
    retired = pg_step(endpoint, arn, "retire")
    # The master gets a random password through the RDS API (and, on the emulator, the stand-in).
    assert retired["changed"] and "ModifyDBCluster" in retired["actions"][0]
    assert logs_in(old) is None and logs_in(value(sm, arn)) == (CLONE, OWNER)
    assert not pg_step(endpoint, arn, "retire")["changed"]
    outputs += [planned, created, again, plan, made, tested, finished, refused, retired]
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


def test_master_user_module_after_a_rotation(endpoint, aws, database, pg_admin_url):
    sm, arn = aws("secretsmanager"), database
    assert value(sm, arn)["username"] == CLONE  # rotated once: the secret names the clone, the master has no password
    args = {"admin_url": pg_admin_url, "secret_id": arn, "username": MASTER}
    assert not run_module(endpoint, "postgresql_master_user", args)["changed"]  # deploy after a rotation: no change
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f"DROP ROLE {CLONE}")
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (DB,)).fetchone()[0]
    assert owner == OWNER
    repaired = run_module(endpoint, "postgresql_master_user", args)
    assert repaired["actions"] == [f"create login role {CLONE}", f"grant {OWNER} to {CLONE}",
                                   f"make the sessions of {CLONE} act as {OWNER}",
                                   f"set the password of role {CLONE} to the secret's"]
    assert logs_in(value(sm, arn)) == (CLONE, OWNER) and value(sm, arn)["password"] not in repaired["_stdout"]
    other = run_module(endpoint, "postgresql_master_user", dict(args, username="someoneelse"))
    assert other.get("failed") and "neither the master user someoneelse" in other["msg"]


def test_second_rotation_sets_the_master_password_through_the_rds_api(endpoint, aws, database, pg_admin_url):
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


def test_master_user_module_drops_the_rotation_roles(endpoint, database, pg_admin_url):
    dropped = run_module(endpoint, "postgresql_master_user",
                         {"admin_url": pg_admin_url, "username": MASTER, "database": DB, "state": "absent"})
    assert dropped["actions"] == [f"drop database {DB}", f"drop role {CLONE}", f"drop role {OWNER}", f"drop role {MASTER}"]


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
