"""Transports of the Prisma migrator: script semantics, errors, locking.

Every behaviour is checked on BOTH transports against one Aurora cluster of the emulator (a real
PostgreSQL server of its own): the direct one is PostgreSQL's own simple-query protocol, so it is
the reference the Data API transport (the emulator's rds-data, executing on that same server)
must match. The fixtures here are shared with test_prisma_migrate.py and test_prisma_module.py.
"""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
import json

import boto3
import psycopg
import pytest
from botocore.config import Config
from psycopg import sql

from ansible_collections.stream_sales.platform.plugins.module_utils.pg_transport import _SNAPSHOT_FREE_STATEMENT
from ansible_collections.stream_sales.platform.plugins.module_utils.pg_transport import DataApiTransport
from ansible_collections.stream_sales.platform.plugins.module_utils.pg_transport import DirectTransport
from ansible_collections.stream_sales.platform.plugins.module_utils.pg_transport import split_script
from ansible_collections.stream_sales.platform.plugins.module_utils.prisma_migrate import LOCK_KEY
from ansible_collections.stream_sales.platform.plugins.module_utils.prisma_migrate import DatabaseError

TRANSPORTS = ("direct", "data_api")


# --------------------------------------------------------------------------------------
# shared fixtures
# --------------------------------------------------------------------------------------
@dataclass
class ScratchDb:
    """A throwaway database owned by a throwaway password-authenticated role, in the module's
    Aurora cluster, with its credentials as a secret."""

    name: str
    user: str
    password: str
    host: str
    port: int
    admin_url: str  # the engine's administrator, connected to this database
    secret_arn: str
    cluster_arn: str

    @property
    def secret(self) -> dict:
        return {"username": self.user, "password": self.password, "host": self.host, "port": str(self.port),
                "dbname": self.name, "engine": "postgres"}

    def fetch(self, query: str, *params):
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            cur = conn.execute(query, params or None)
            return cur.fetchall() if cur.description else []

    def relations(self, *names) -> list:
        """Which of the names exist as relations in public."""
        return [n for n in names if self.fetch("SELECT to_regclass(%s)", f'public."{n}"')[0][0]]


@pytest.fixture(scope="module")
def aurora_engine(aws):
    """An Aurora PostgreSQL cluster with the Data API on, for this test module (deleted afterwards)."""
    rds = aws("rds")
    identifier = "unit-transport-" + secrets.token_hex(4)
    cluster = rds.create_db_cluster(DBClusterIdentifier=identifier, Engine="aurora-postgresql", EngineVersion="16.6",
                                    MasterUsername="dbadmin", MasterUserPassword="pw-" + secrets.token_hex(16),
                                    EnableHttpEndpoint=True)["DBCluster"]
    yield cluster
    rds.delete_db_cluster(DBClusterIdentifier=identifier, SkipFinalSnapshot=True)


@pytest.fixture
def scratch_db(aurora_engine, aws):
    """Factory of ScratchDb; everything it made is dropped afterwards."""
    made = []
    sm = aws("secretsmanager")
    host, port = aurora_engine["Endpoint"], aurora_engine["Port"]
    admin_url = f"postgresql://postgres@{host}:{port}/postgres"

    def make() -> ScratchDb:
        name = "prisma_" + secrets.token_hex(5)
        password = "pw-" + secrets.token_hex(16)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(name)))
        db = ScratchDb(name, name, password, host, port, f"postgresql://postgres@{host}:{port}/{name}", "",
                       aurora_engine["DBClusterArn"])
        db.secret_arn = sm.create_secret(Name=f"unit/{name}", SecretString=json.dumps(db.secret))["ARN"]
        made.append(db)
        return db

    yield make
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for db in made:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(db.name)))
    for db in made:
        sm.delete_secret(SecretId=db.secret_arn, ForceDeleteWithoutRecovery=True)


def rds_data_client(endpoint_url: str):
    # One attempt and a short read timeout: a hang shows up as a failure, not as retries.
    config = Config(read_timeout=30, retries={"mode": "standard", "total_max_attempts": 1})
    return boto3.client("rds-data", endpoint_url=endpoint_url, region_name="us-east-1", config=config,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def make_transport(endpoint):
    """``make_transport(kind, db)``: a transport of that kind to db, closed afterwards."""
    opened = []

    def make(kind: str, db: ScratchDb):
        if kind == "direct":
            transport = DirectTransport(db.host, db.port, db.user, db.password, db.name)
        else:
            transport = DataApiTransport(rds_data_client(endpoint), db.cluster_arn, db.secret_arn, db.name)
        opened.append(transport)
        return transport

    yield make
    for transport in opened:
        try:
            transport.close()
        except Exception:  # noqa: BLE001 - a test may have closed it already
            pass


@pytest.fixture(params=TRANSPORTS)
def kind(request) -> str:
    return request.param


@pytest.fixture
def db(scratch_db) -> ScratchDb:
    return scratch_db()


@pytest.fixture
def transport(make_transport, kind, db):
    return make_transport(kind, db)


# --------------------------------------------------------------------------------------
# splitting (no database)
# --------------------------------------------------------------------------------------
def test_split_uses_the_parser_for_strings_comments_and_dollar_quotes():
    script = (
        "-- leading comment; with a semicolon\n"
        "CREATE TABLE \"a;b\" (v text DEFAULT 'x;y');\n"
        "/* block; comment */ COMMENT ON TABLE \"a;b\" IS E'it''s; fine';\n"
        "DO $$ BEGIN PERFORM 1; RAISE NOTICE 'a;b'; END $$;\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;\n"
        "-- trailing comment only\n"
    )
    statements = split_script(script)
    assert [s.sql for s in statements] == [
        "CREATE TABLE \"a;b\" (v text DEFAULT 'x;y')",
        "COMMENT ON TABLE \"a;b\" IS E'it''s; fine'",
        "DO $$ BEGIN PERFORM 1; RAISE NOTICE 'a;b'; END $$",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$",
    ]
    assert all(s.control is None for s in statements)


def test_split_classifies_transaction_control():
    statements = split_script(
        "BEGIN ISOLATION LEVEL SERIALIZABLE; SAVEPOINT s; RELEASE SAVEPOINT s; ROLLBACK TO SAVEPOINT s;"
        " COMMIT; START TRANSACTION; ROLLBACK; END; COMMIT AND CHAIN; SELECT 1"
    )
    assert [s.control for s in statements] == [
        "begin", "savepoint", "savepoint", "savepoint", "commit", "begin", "rollback", "commit", "commit", None]
    assert statements[0].set_transaction == "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"
    assert statements[3].keyword == "ROLLBACK TO SAVEPOINT"
    assert statements[8].chain


def test_split_keeps_non_ascii_offsets_right():
    statements = split_script("COMMENT ON TABLE t IS 'één; twee'; SELECT 'ü'")
    assert [s.sql for s in statements] == ["COMMENT ON TABLE t IS 'één; twee'", "SELECT 'ü'"]


def test_split_syntax_error_is_42601():
    with pytest.raises(DatabaseError) as err:
        split_script("CREATE TABLE ok (a int); CREATE TABLE (")
    assert err.value.sqlstate == "42601"


def test_split_empty_and_comment_only():
    assert split_script("") == []
    assert split_script("-- nothing here;\n/* nor; here */") == []


# --------------------------------------------------------------------------------------
# script semantics, both transports
# --------------------------------------------------------------------------------------
def run_failing(transport, script: str) -> DatabaseError:
    with pytest.raises(DatabaseError) as err:
        transport.run_script(script)
    return err.value


def test_multi_statement_script_is_all_or_nothing(transport, db):
    error = run_failing(transport, "CREATE TABLE a (v int);\nINSERT INTO a VALUES (1);\nINSERT INTO nope VALUES (1);")
    assert error.sqlstate == "42P01"
    assert error.message == 'ERROR: relation "nope" does not exist'
    assert db.relations("a") == []
    # and the session is usable afterwards
    assert transport.query("SELECT 1") == [(1,)]


def test_single_concurrently_statement_runs_outside_a_transaction(transport, db):
    transport.run_script("CREATE TABLE t (v int)")
    transport.run_script("-- built online\nCREATE INDEX CONCURRENTLY t_v_idx ON t (v);\n-- done\n")
    assert db.relations("t_v_idx") == ["t_v_idx"]


def test_concurrently_inside_a_multi_statement_script_is_refused(transport, db):
    transport.run_script("CREATE TABLE t (v int)")
    error = run_failing(transport, "CREATE TABLE u (v int); CREATE INDEX CONCURRENTLY t_v_idx ON t (v);")
    assert error.sqlstate == "25001"
    assert "cannot run inside a transaction block" in error.message
    assert db.relations("u", "t_v_idx") == []


def test_vacuum_alone_works_and_in_a_batch_is_refused(transport):
    transport.run_script("CREATE TABLE t (v int)")
    transport.run_script("VACUUM t")
    assert run_failing(transport, "SELECT 1; VACUUM t").sqlstate == "25001"


def test_explicit_transaction_blocks_follow_postgres(transport, db):
    # w joins the explicit block opened by BEGIN; y starts a new implicit block that fails.
    error = run_failing(transport, "CREATE TABLE w (v int); BEGIN; CREATE TABLE x (v int); COMMIT;"
                                   " CREATE TABLE y (v int); SELECT 1/0;")
    assert error.sqlstate == "22012"
    assert db.relations("w", "x", "y") == ["w", "x"]


def test_failure_inside_explicit_block_is_rolled_back(transport, db):
    error = run_failing(transport, "BEGIN;\nCREATE TABLE b (v int);\nINSERT INTO b VALUES ('x');\nCOMMIT;\n")
    assert error.sqlstate == "22P02"
    assert db.relations("b") == []
    transport.query("CREATE TABLE after_failure (v int)")  # not stuck in an aborted transaction
    assert db.relations("after_failure") == ["after_failure"]


def test_explicit_block_commits_and_concurrently_after_it_is_refused(transport, db):
    transport.run_script("CREATE TABLE t (v int)")
    error = run_failing(transport, "BEGIN; CREATE TABLE z (v int); COMMIT; CREATE INDEX CONCURRENTLY i ON t (v)")
    assert error.sqlstate == "25001"
    assert db.relations("z", "i") == ["z"]


def test_begin_options_and_savepoints(transport, db):
    transport.run_script(
        "BEGIN ISOLATION LEVEL SERIALIZABLE;\n"
        "CREATE TABLE iso AS SELECT current_setting('transaction_isolation') AS v;\n"
        "SAVEPOINT s1;\nINSERT INTO iso VALUES ('discarded');\nROLLBACK TO SAVEPOINT s1;\n"
        "RELEASE SAVEPOINT s1;\nCOMMIT;"
    )
    assert db.fetch("SELECT v FROM iso") == [("serializable",)]


def test_savepoint_outside_a_block_is_refused(transport, db):
    error = run_failing(transport, "CREATE TABLE s (v int); SAVEPOINT sp;")
    assert error.sqlstate == "25P01"
    assert error.message == "ERROR: SAVEPOINT can only be used in transaction blocks"
    assert db.relations("s") == []


def test_unterminated_begin_is_rolled_back_and_reported(transport, db):
    error = run_failing(transport, "BEGIN; CREATE TABLE open_tx (v int);")
    assert error.sqlstate == "25000"
    assert db.relations("open_tx") == []
    transport.query("SELECT 1")


def test_rollback_in_a_script_discards_its_block(transport, db):
    transport.run_script("CREATE TABLE kept (v int); BEGIN; CREATE TABLE gone (v int); ROLLBACK; CREATE TABLE also (v int)")
    assert db.relations("kept", "gone", "also") == ["also"]


def test_dollar_quoting_semicolons_in_strings_and_comments(transport, db):
    transport.run_script(
        "-- a comment; with semicolons;\n"
        "CREATE TABLE c (v text DEFAULT 'a;b');\n"
        "/* block ; comment */\n"
        "COMMENT ON TABLE c IS 'one; two; three';\n"
        "CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
        "BEGIN NEW.v := NEW.v || ';'; RETURN NEW; END;\n$fn$;\n"
        "CREATE TRIGGER c_bump BEFORE INSERT ON c FOR EACH ROW EXECUTE FUNCTION bump();\n"
        "DO $$ BEGIN INSERT INTO c VALUES ('x;y'); END $$;\n"
    )
    assert db.fetch("SELECT obj_description('c'::regclass)") == [("one; two; three",)]
    assert db.fetch("SELECT v FROM c") == [("x;y;",)]


def test_enum_add_value_alone_and_unsafe_use_in_same_batch(transport, db):
    transport.run_script("CREATE TYPE mood AS ENUM ('sad', 'ok')")
    transport.run_script("ALTER TYPE mood ADD VALUE 'happy'")
    # PostgreSQL >= 12 allows ADD VALUE in a transaction but not using the value before commit.
    error = run_failing(transport, "ALTER TYPE mood ADD VALUE 'ecstatic'; SELECT 'ecstatic'::mood;")
    assert error.sqlstate == "55P04"
    assert db.fetch("SELECT enum_range(NULL::mood)::text") == [("{sad,ok,happy}",)]


def test_syntax_error_runs_nothing(transport, db):
    error = run_failing(transport, "CREATE TABLE fine (v int); CREATE TABLE (;")
    assert error.sqlstate == "42601"
    assert db.relations("fine") == []


def test_comment_only_script_is_a_no_op(transport):
    transport.run_script("-- intentionally empty migration;\n")


def test_query_parameters_round_trip(transport):
    from datetime import datetime, timezone

    when = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
    rows = transport.query(
        "SELECT %(s)s::text, %(n)s::bigint, %(b)s::boolean, %(z)s::text IS NULL,"
        " to_char(%(t)s::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
        {"s": "it's; fine", "n": 42, "b": True, "z": None, "t": when},
    )
    assert rows == [("it's; fine", 42, True, True, "2024-01-02 03:04:05.678901")]


def test_server_version(transport):
    assert transport.server_version().startswith("15")


# --------------------------------------------------------------------------------------
# the advisory lock, across transports
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("holder,waiter", [("direct", "data_api"), ("data_api", "direct"), ("data_api", "data_api")])
def test_lock_excludes_across_transports(make_transport, db, holder, waiter):
    first, second = make_transport(holder, db), make_transport(waiter, db)
    assert first.acquire_lock(LOCK_KEY, 1)
    assert not second.acquire_lock(LOCK_KEY, 0.5)
    first.release_lock(LOCK_KEY)
    assert second.acquire_lock(LOCK_KEY, 1)
    second.release_lock(LOCK_KEY)


def test_lock_waiter_gets_it_when_released(make_transport, db, kind):
    first, second = make_transport(kind, db), make_transport(kind, db)
    assert first.acquire_lock(LOCK_KEY, 1)
    timer = threading.Timer(0.5, first.release_lock, args=(LOCK_KEY,))
    timer.start()
    try:
        assert second.acquire_lock(LOCK_KEY, 10)
    finally:
        timer.join()
    second.release_lock(LOCK_KEY)


def test_data_api_lock_keepalive_keeps_the_transaction_in_use(make_transport, db):
    transport = make_transport("data_api", db)
    transport._keepalive_interval = 0.05
    calls = []
    original = transport._execute

    def spy(query, params=None, tx=None):
        calls.append(query)
        return original(query, params, tx)

    transport._execute = spy
    assert transport.acquire_lock(LOCK_KEY, 1)
    threading.Event().wait(0.3)
    transport.release_lock(LOCK_KEY)
    assert calls.count(_SNAPSHOT_FREE_STATEMENT) >= 3  # once after locking, then the keepalives


def test_lock_does_not_block_concurrently_built_index(make_transport, db):
    """The Data API lock is an idle READ COMMITTED transaction: CREATE INDEX CONCURRENTLY
    in another session must not wait for it."""
    locker, worker = make_transport("data_api", db), make_transport("data_api", db)
    assert locker.acquire_lock(LOCK_KEY, 1)
    worker.run_script("CREATE TABLE t (v int)")
    worker.run_script("CREATE INDEX CONCURRENTLY t_v_idx ON t (v)")
    locker.release_lock(LOCK_KEY)
    assert db.relations("t_v_idx") == ["t_v_idx"]


# --------------------------------------------------------------------------------------
# direct transport specifics
# --------------------------------------------------------------------------------------
def test_direct_connect_error_does_not_reveal_the_password(db):
    with pytest.raises(DatabaseError) as err:
        DirectTransport(db.host, db.port, db.user, "wrong-" + db.password, db.name)
    assert "password authentication failed" in err.value.message
    assert db.password not in err.value.message


def test_direct_sets_search_path_to_the_schema(db):
    db.fetch(f'CREATE SCHEMA app AUTHORIZATION "{db.user}"')
    transport = DirectTransport(db.host, db.port, db.user, db.password, db.name, schema="app")
    try:
        transport.run_script("CREATE TABLE in_app (v int)")
    finally:
        transport.close()
    assert db.fetch("SELECT to_regclass('app.in_app') IS NOT NULL") == [(True,)]
