"""playbooks/rotate_secrets.yml on the local inventory: the emulator's Secrets Manager and RDS, whose
cluster runs on a PostgreSQL server of its own (the master password set by ModifyDBCluster).

One deploy (network, secrets, aurora) for the module; the tests run in order on its state. The
cluster (engine 16.6) runs on PostgreSQL 16 when the emulator finds its binaries
(STREAM_SALES_PG16_BIN or /usr/lib/postgresql/16), else on the emulator's PostgreSQL (15 here).
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

import psycopg
import pytest

from harness import reset_emulator

TAGS = ("--tags", "kms,network,secrets,aurora")
DATABASE = "stream-sales/local/database/credentials"
JWT = "stream-sales/local/jwt/secret"
ENCRYPTION = "stream-sales/local/encryption/key"
OWNER = "streams_owner"  # owns the database and its objects from the first rotation on
TIMINGS: dict = {}
PG16_BIN = os.environ.get("STREAM_SALES_PG16_BIN", "")


def flat(text: str) -> str:
    """Whitespace-normalised: Ansible wraps long messages in its YAML results."""
    return " ".join(text.split())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def labels(aws, name) -> dict:
    out = {}
    for version, stages in aws("secretsmanager").describe_secret(SecretId=name)["VersionIdsToStages"].items():
        for stage in stages:
            out[stage] = version
    return out


def raw(aws, name, stage="AWSCURRENT") -> str:
    return aws("secretsmanager").get_secret_value(SecretId=name, VersionStage=stage)["SecretString"]


def creds(aws, stage="AWSCURRENT") -> dict:
    return json.loads(raw(aws, DATABASE, stage))


def login(c: dict):
    """(session_user, current_user) when the credential logs in, else None."""
    try:
        with psycopg.connect(host=c["host"], port=c["port"], user=c["username"], password=c["password"],
                             dbname=c["dbname"], connect_timeout=5, sslmode="require") as conn:
            return conn.execute("SELECT session_user, current_user").fetchone()
    except psycopg.OperationalError:
        return None


def assert_current_works(aws, acting=OWNER):
    """AWSCURRENT logs in and acts as the owner role (dbadmin itself before the first rotation);
    GetSecretValue without a stage answers the same version."""
    c = creds(aws)
    assert login(c) == (c["username"], acting), c["username"]
    assert aws("secretsmanager").get_secret_value(SecretId=DATABASE)["VersionId"] == labels(aws, DATABASE)["AWSCURRENT"]
    return c


def timed(name, playbook, *args, **kwargs):
    start = time.monotonic()
    run = playbook("rotate_secrets", "local", *args, **kwargs)
    TIMINGS[name] = TIMINGS.get(name, 0) + time.monotonic() - start
    return run


def admin(aws, dbname="postgres"):
    """The cluster's engine as its administrator (Aurora's rdsadmin): the secret's host and port."""
    c = creds(aws)
    return psycopg.connect(host=c["host"], port=c["port"], user="postgres", dbname=dbname, autocommit=True)


OWNED_IN_PUBLIC = """
    SELECT pg_get_userbyid(relowner), 'pg_class'::regclass, c.oid FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
    UNION ALL SELECT pg_get_userbyid(proowner), 'pg_proc'::regclass, p.oid FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
    UNION ALL SELECT pg_get_userbyid(typowner), 'pg_type'::regclass, t.oid FROM pg_type t
      JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public'
"""


def owners(aws) -> tuple:
    """(owner of the streams database, owners of its tables, sequences, functions, types and
    extensions). What an extension's script makes (citext's type and functions) belongs to the
    bootstrap superuser (trusted extensions) and is left out, as are the parts owned with their
    parent (array and row types); the extension itself is counted."""
    with admin(aws, "streams") as conn:
        database = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'streams'").fetchone()[0]
        objects = {r[0] for r in conn.execute(
            f"SELECT o.owner FROM ({OWNED_IN_PUBLIC}) AS o(owner, classid, oid) WHERE NOT EXISTS "
            "(SELECT 1 FROM pg_depend d WHERE d.classid = o.classid AND d.objid = o.oid AND d.deptype IN ('e', 'i')) "
            "UNION SELECT pg_get_userbyid(extowner) FROM pg_extension WHERE extname <> 'plpgsql'")}
    return database, objects


@pytest.fixture(scope="module")
def local(endpoint, playbook):
    reset_emulator(endpoint)
    start = time.monotonic()
    playbook("deploy", "local", *TAGS)
    TIMINGS["deploy (network, secrets, aurora)"] = time.monotonic() - start


@pytest.mark.parametrize("args, messages", [
    ((), ["rotate is empty; allowed: a comma-separated subset of database, jwt, encryption"]),
    (("-e", "rotate=database,passwords", "-e", "rotation_days=30", "-e", "rotate_stop_after=finish"),
     ["rotate names 'passwords'; allowed: a comma-separated subset of database, jwt, encryption.",
      "rotation_days is '30', but Secrets Manager rotates on a schedule only by invoking a rotation Lambda function",
      "rotate_stop_after is 'finish'"]),
    (("-e", "rotate=jwt,encryption"),
     ["rotate includes encryption but names no re-encryption step: a new key alone would make every value encrypted "
      "with the current one (the product stream-account passwords) unreadable"]),
])
def test_bad_inputs_fail_in_preflight_before_any_call(playbook, args, messages):
    # Every AWS endpoint is a closed port: had any call been made, it would fail differently.
    dead = f"http://127.0.0.1:{closed_port()}"
    run = playbook("rotate_secrets", "local", *args, "-e", f"aws_endpoint_url={dead}", check=False)
    assert run.rc != 0 and "Preflight failed, nothing was changed" in run.out, run.out[-2000:]
    for message in messages:
        assert message in flat(run.out), (message, run.out[-3000:])
    assert "Lock | Take" not in run.out and "Secrets | Database 1/4" not in run.out


def test_check_mode_tells_what_would_rotate_and_changes_nothing(local, playbook, aws):
    before = {name: labels(aws, name) for name in (DATABASE, JWT, ENCRYPTION)}
    run = timed("check mode", playbook, "-e", "rotate=database,jwt,encryption", "-e", "rotate_reencrypt_command=false",
                "--check", "--diff")
    assert "would switch AWSCURRENT from user dbadmin to user dbadmin_clone" in flat(run.out)
    assert "jwt: would rotate" in run.out and "encryption: would rotate" in run.out
    assert {name: labels(aws, name) for name in (DATABASE, JWT, ENCRYPTION)} == before
    with admin(aws) as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname IN ('dbadmin_clone', %s)", (OWNER,)).fetchone() is None
    assert "would switch AWSCURRENT" in flat(run.out) and "create role streams_owner (NOLOGIN)" in flat(run.out)


def test_database_rotation_interrupted_after_each_step(local, playbook, aws):
    """Three rotations (dbadmin -> clone -> dbadmin -> clone), each interrupted once, then rerun."""
    # What a first migration leaves: objects owned by dbadmin, which acts as itself.
    first = assert_current_works(aws, acting="dbadmin")
    with psycopg.connect(host=first["host"], port=first["port"], user="dbadmin", password=first["password"],
                         dbname="streams", autocommit=True, sslmode="require") as conn:
        conn.execute("CREATE TABLE before_rotation (id serial PRIMARY KEY)")
    assert owners(aws) == ("dbadmin", {"dbadmin"})
    # Interrupted after create: AWSPENDING exists, nothing else changed.
    timed("database, interrupted", playbook, "-e", "rotate=database", "-e", "rotate_stop_after=create")
    assert assert_current_works(aws, acting="dbadmin") == first
    pending = creds(aws, "AWSPENDING")
    assert pending["username"] == "dbadmin_clone" and len(pending["password"]) == 32 and pending["password"].isalnum()
    assert login(pending) is None  # the clone does not exist yet
    run = timed("database, rerun", playbook, "-e", "rotate=database")
    second = assert_current_works(aws)
    assert second == pending and "AWSPENDING" not in labels(aws, DATABASE)  # the same rotation completed
    assert login(first) is None and creds(aws, "AWSPREVIOUS") == first  # old password rejected
    assert "database: rotated - AWSCURRENT is user dbadmin_clone" in flat(run.out)
    assert owners(aws) == (OWNER, {OWNER})  # the database and what dbadmin owned in it
    with psycopg.connect(host=second["host"], port=second["port"], user=second["username"], password=second["password"],
                         dbname="streams", autocommit=True, sslmode="require") as conn:
        conn.execute("DROP TABLE before_rotation")  # the clone may (as the owner role); migrate wants an empty schema

    # Interrupted after set: both credentials work; the rerun changes nothing on the database.
    timed("database, interrupted", playbook, "-e", "rotate=database", "-e", "rotate_stop_after=set")
    assert assert_current_works(aws) == second
    pending = creds(aws, "AWSPENDING")
    assert pending["username"] == "dbadmin" and login(pending) == ("dbadmin", OWNER)  # set through the RDS API
    timed("database, rerun", playbook, "-e", "rotate=database")
    third = assert_current_works(aws)
    assert third == pending and third["username"] == "dbadmin" and login(second) is None

    # Interrupted after test, and again inside the finish (AWSCURRENT moved, the rest not done).
    timed("database, interrupted", playbook, "-e", "rotate=database", "-e", "rotate_stop_after=test")
    assert assert_current_works(aws) == third
    tested = labels(aws, DATABASE)
    aws("secretsmanager").update_secret_version_stage(
        SecretId=DATABASE, VersionStage="AWSCURRENT", MoveToVersionId=tested["AWSPENDING"],
        RemoveFromVersionId=tested["AWSCURRENT"])
    assert login(creds(aws)) == ("dbadmin_clone", OWNER) and login(third) is not None
    timed("database, rerun", playbook, "-e", "rotate=database")
    fourth = assert_current_works(aws)
    assert labels(aws, DATABASE) == {"AWSCURRENT": tested["AWSPENDING"], "AWSPREVIOUS": tested["AWSCURRENT"]}
    assert fourth["username"] == "dbadmin_clone" and login(third) is None


def test_migrate_and_deploy_after_a_rotation(local, playbook, aws):
    c = assert_current_works(aws)
    assert c["username"] == "dbadmin_clone"
    playbook("migrate", "local")
    assert owners(aws) == (OWNER, {OWNER})  # the clone acts as the owner role
    start = time.monotonic()
    deploy = playbook("deploy", "local", *TAGS)
    TIMINGS["deploy after rotation"] = time.monotonic() - start
    assert deploy.changed == 0, deploy.out[-3000:]
    assert assert_current_works(aws) == c and c["password"] not in deploy.out


def test_failed_test_step_rolls_back(local, playbook, aws):
    before = labels(aws, DATABASE)
    current = assert_current_works(aws)
    with admin(aws) as conn:
        conn.execute("ALTER ROLE dbadmin CONNECTION LIMIT 0")  # the next user cannot log in
    try:
        run = timed("database, rolled back", playbook, "-e", "rotate=database", check=False)
    finally:
        with admin(aws) as conn:
            conn.execute("ALTER ROLE dbadmin CONNECTION LIMIT -1")
    assert run.rc != 0 and "The new database credential could not be set or failed its test, so the rotation was rolled back" in flat(run.out)
    assert 'too many connections for role "dbadmin"' in flat(run.out)
    assert labels(aws, DATABASE) == before and assert_current_works(aws) == current


def test_all_three_at_vvv_show_no_value(local, playbook, aws, tmp_path):
    """JWT keeps AWSPREVIOUS; the encryption step gets ids, never values; nothing shows a value."""
    old = {name: raw(aws, name) for name in (DATABASE, JWT, ENCRYPTION)}
    old_ids = {name: labels(aws, name)["AWSCURRENT"] for name in (JWT, ENCRYPTION)}
    seen = tmp_path / "reencrypt.json"
    script = tmp_path / "reencrypt.py"
    script.write_text("import json, os, sys\n"
                      "json.dump({k: v for k, v in os.environ.items() if k.startswith(('STREAM_SALES_', 'AWS_'))},"
                      " open(sys.argv[1], 'w'))\n")
    run = timed("all three at -vvv", playbook, "-e", "rotate=database,jwt,encryption", "-vvv",
                "-e", json.dumps({"rotate_reencrypt_command": f"{sys.executable} {script} {seen}"}))
    new = {name: raw(aws, name) for name in (DATABASE, JWT, ENCRYPTION)}
    values = list(old.values()) + list(new.values()) + [json.loads(old[DATABASE])["password"],
                                                        json.loads(new[DATABASE])["password"]]
    for value in values:
        assert value not in run.out
    # JWT: a new 64-character AWSCURRENT, the old value kept as AWSPREVIOUS.
    assert new[JWT] != old[JWT] and len(new[JWT]) == 64 and new[JWT].isalnum()
    assert raw(aws, JWT, "AWSPREVIOUS") == old[JWT] and labels(aws, JWT)["AWSPREVIOUS"] == old_ids[JWT]
    # Encryption: the command ran between AWSPENDING and AWSCURRENT with the version ids only.
    env = json.loads(seen.read_text())
    after = labels(aws, ENCRYPTION)
    assert env["STREAM_SALES_SECRET_ARN"].startswith("arn:aws:secretsmanager:") and env["STREAM_SALES_ENV"] == "local"
    assert env["STREAM_SALES_PENDING_VERSION_ID"] == after["AWSCURRENT"]
    assert env["STREAM_SALES_CURRENT_VERSION_ID"] == old_ids[ENCRYPTION] == after["AWSPREVIOUS"]
    assert not any(value in seen.read_text() for value in values)
    assert raw(aws, ENCRYPTION, "AWSPREVIOUS") == old[ENCRYPTION] and len(new[ENCRYPTION]) == 64
    assert_current_works(aws)


def test_failing_reencryption_rolls_back(local, playbook, aws):
    before = labels(aws, ENCRYPTION)
    run = timed("encryption, rolled back", playbook, "-e", "rotate=encryption",
                "-e", json.dumps({"rotate_reencrypt_command": "exit 3"}), check=False)
    assert run.rc != 0 and "The encryption key rotation was rolled back (AWSPENDING removed, AWSCURRENT unchanged)" \
        in flat(run.out)
    assert labels(aws, ENCRYPTION) == before


def test_rotation_takes_the_lock(local, playbook, aws):
    """Every run above gave the lock back (on success and on failure); a held lock refuses the rotation."""
    ddb, table, key = aws("dynamodb"), "stream-sales-local-locks", {"lock_id": {"S": "stream-sales-local"}}
    assert "Item" not in ddb.get_item(TableName=table, Key=key, ConsistentRead=True)
    now = int(time.time())
    ddb.put_item(TableName=table, Item=dict(key, owner={"S": "alice@laptop"}, operation={"S": "deploy"},
                                            started_at={"S": "2026-11-28T10:00:00Z"}, expires_at={"S": "2099-01-01T00:00:00Z"},
                                            expires_epoch={"N": str(now + 3600)}, token={"S": "alices-token"}))
    before = labels(aws, JWT)
    try:
        run = timed("refused by the lock", playbook, "-e", "rotate=jwt", check=False)
    finally:
        ddb.delete_item(TableName=table, Key=key)
    assert run.rc != 0 and "is locked by alice@laptop (deploy)" in flat(run.out)
    assert labels(aws, JWT) == before and "Secrets | JWT 1/2" not in run.out


@pytest.mark.skipif(not PG16_BIN and not Path("/usr/lib/postgresql/16/bin/postgres").exists(),
                    reason="no PostgreSQL 16 server binaries (STREAM_SALES_PG16_BIN)")
def test_the_chain_ran_on_postgresql_16(local, aws):
    """Aurora's engine is 16.6: with PostgreSQL 16 binaries the emulator runs the cluster on them, so
    every rotation above ran where a role may not grant itself and CREATEROLE acts only on roles
    its holder administers (dbadmin is no superuser)."""
    with admin(aws) as conn:
        assert int(conn.execute("SHOW server_version_num").fetchone()[0]) >= 160000
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = 'dbadmin'").fetchone() == (False,)


def test_report_timings():
    print("\n" + "\n".join(f"{k}: {v:.1f} s" for k, v in TIMINGS.items()))
