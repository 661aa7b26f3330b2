"""The native `prisma migrate deploy` / `resolve`: Prisma's bookkeeping on both transports."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from ansible_collections.stream_sales.platform.plugins.module_utils.prisma_migrate import Migrator
from ansible_collections.stream_sales.platform.plugins.module_utils.prisma_migrate import PrismaError
from ansible_collections.stream_sales.platform.plugins.module_utils.prisma_migrate import load_migrations
import test_pg_transport as shared
from test_pg_transport import TRANSPORTS

# Fixtures shared with test_pg_transport.py (pytest finds fixtures among module attributes).
aurora_engine, scratch_db, db = shared.aurora_engine, shared.scratch_db, shared.db
kind, make_transport, transport = shared.kind, shared.make_transport, shared.transport

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-app" / "prisma" / "migrations"
EXAMPLE_NAMES = sorted(p.parent.name for p in EXAMPLE.glob("*/migration.sql"))
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def migrator(transport, path, **kwargs) -> Migrator:
    return Migrator(transport, load_migrations(str(path)), **kwargs)


def write_migrations(root: Path, scripts: dict, lock: str | None = 'provider = "postgresql"\n') -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if lock is not None:
        (root / "migration_lock.toml").write_text(lock)
    for name, script in scripts.items():
        (root / name).mkdir(exist_ok=True)
        (root / name / "migration.sql").write_bytes(script.encode())
    return root


def history(db) -> list:
    return db.fetch(
        "SELECT migration_name, checksum, finished_at IS NOT NULL, rolled_back_at IS NOT NULL, logs,"
        " applied_steps_count FROM _prisma_migrations ORDER BY started_at, migration_name")


FAILING = {
    "001_first": "CREATE TABLE first (v int);",
    "002_broken": "CREATE TABLE broken (v int);\nINSERT INTO broken VALUES (1);\nINSERT INTO missing VALUES (1);\n",
    "003_third": "CREATE TABLE third (v int);",
}


# --------------------------------------------------------------------------------------
# reading the migrations folder
# --------------------------------------------------------------------------------------
def test_load_migrations_sorts_checksums_and_skips_non_migrations(tmp_path):
    root = write_migrations(tmp_path / "m", {"20240102_b": "SELECT 2;\r\n", "20240101_a with space": "SELECT 1;\n"})
    (root / "not_a_migration").mkdir()
    (root / "README.md").write_text("x")
    migrations = load_migrations(str(root))
    assert [m.name for m in migrations] == ["20240101_a with space", "20240102_b"]
    # bytes as stored, CRLF included
    assert migrations[1].checksum == hashlib.sha256(b"SELECT 2;\r\n").hexdigest()


def test_lock_file_must_name_postgresql(tmp_path):
    root = write_migrations(tmp_path / "m", {"001": "SELECT 1;"}, lock='# comment\nprovider = "mysql"\n')
    with pytest.raises(PrismaError) as err:
        load_migrations(str(root))
    assert err.value.code == "P3019"
    assert "`mysql`" in err.value.message
    # no lock file at all is fine
    assert len(load_migrations(str(write_migrations(tmp_path / "n", {"001": "SELECT 1;"}, lock=None)))) == 1


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_migrations(str(tmp_path / "nope"))


# --------------------------------------------------------------------------------------
# deploy
# --------------------------------------------------------------------------------------
def test_fresh_deploy_of_the_example_app_then_rerun(transport, db):
    assert len(EXAMPLE_NAMES) >= 5
    outcome = migrator(transport, EXAMPLE).deploy()
    assert outcome.changed and outcome.applied == EXAMPLE_NAMES and outcome.after == EXAMPLE_NAMES
    assert outcome.before == [] and outcome.pending == [] and outcome.failed == []

    rows = db.fetch("SELECT id, checksum, migration_name, logs, finished_at >= started_at, rolled_back_at,"
                    " applied_steps_count FROM _prisma_migrations ORDER BY started_at")
    assert [r[2] for r in rows] == EXAMPLE_NAMES
    for row_id, checksum, name, logs, finished_after_start, rolled_back_at, steps in rows:
        assert UUID4.match(row_id)
        assert checksum == hashlib.sha256((EXAMPLE / name / "migration.sql").read_bytes()).hexdigest()
        assert (logs, finished_after_start, rolled_back_at, steps) == (None, True, None, 1)
    # the app's schema is there, including the CONCURRENTLY index and the enum's added value
    assert db.relations("User", "Order_buyerId_createdAt_idx", "Review", "Session") == [
        "User", "Order_buyerId_createdAt_idx", "Review", "Session"]
    assert db.fetch("SELECT enum_range(NULL::\"Role\")::text") == [("{BUYER,SELLER,ADMIN,MODERATOR}",)]
    assert db.fetch("SELECT count(*) FROM \"Category\"") == [(3,)]

    again = migrator(transport, EXAMPLE).deploy()
    assert not again.changed and again.applied == [] and again.before == EXAMPLE_NAMES
    assert len(db.fetch("SELECT 1 FROM _prisma_migrations")) == len(EXAMPLE_NAMES)


def test_history_table_matches_prisma(transport, db, tmp_path):
    migrator(transport, write_migrations(tmp_path / "m", {"001": "SELECT 1;"})).deploy()
    columns = db.fetch(
        "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default"
        " FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position")
    assert columns == [
        ("id", "character varying", 36, "NO", None),
        ("checksum", "character varying", 64, "NO", None),
        ("finished_at", "timestamp with time zone", None, "YES", None),
        ("migration_name", "character varying", 255, "NO", None),
        ("logs", "text", None, "YES", None),
        ("rolled_back_at", "timestamp with time zone", None, "YES", None),
        ("started_at", "timestamp with time zone", None, "NO", "now()"),
        ("applied_steps_count", "integer", None, "NO", "0"),
    ]
    assert db.fetch("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
                    " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = '_prisma_migrations'::regclass"
                    " AND i.indisprimary") == [("id",)]


def test_check_mode_changes_nothing(transport, db):
    outcome = migrator(transport, EXAMPLE).deploy(check=True)
    assert outcome.changed and outcome.pending == EXAMPLE_NAMES and outcome.applied == []
    assert db.relations("_prisma_migrations", "User") == []


def test_non_empty_schema_without_history_is_refused(transport, db):
    db.fetch(f'CREATE TABLE legacy (v int); ALTER TABLE legacy OWNER TO "{db.user}"')
    for check in (True, False):
        with pytest.raises(PrismaError) as err:
            migrator(transport, EXAMPLE).deploy(check=check)
        assert err.value.code == "P3005"
        assert err.value.details["tables"] == ["legacy"]
    assert db.relations("_prisma_migrations") == []


def test_postgis_tables_views_and_types_do_not_count(transport, db, tmp_path):
    db.fetch("CREATE TABLE spatial_ref_sys (srid int); CREATE VIEW some_view AS SELECT 1 AS one;"
             " CREATE TYPE some_type AS (a int); CREATE FUNCTION some_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    outcome = migrator(transport, write_migrations(tmp_path / "m", {"001": "CREATE TABLE x (v int);"})).deploy()
    assert outcome.applied == ["001"]


def test_failed_migration_is_recorded_and_blocks_further_deploys(transport, db, tmp_path):
    root = write_migrations(tmp_path / "m", FAILING)
    with pytest.raises(PrismaError) as err:
        migrator(transport, root).deploy()
    assert err.value.code == "P3018"
    assert err.value.details["applied"] == ["001_first"]
    assert [f["name"] for f in err.value.details["failed"]] == ["002_broken"]
    assert db.relations("first", "broken", "third") == ["first"]  # nothing of 002 survived

    (name, _checksum, finished, rolled_back, logs, steps), = [r for r in history(db) if r[0] == "002_broken"]
    assert (finished, rolled_back, steps) == (False, False, 0)
    assert logs.startswith("A migration failed to apply. New migrations cannot be applied before the error is"
                           " recovered from.")
    assert "Migration name: 002_broken" in logs
    assert "Database error code: 42P01" in logs
    assert 'ERROR: relation "missing" does not exist' in logs

    for check in (False, True):
        with pytest.raises(PrismaError) as err:
            migrator(transport, root).deploy(check=check)
        assert err.value.code == "P3009"
        assert "The `002_broken` migration started at " in err.value.message
    assert db.relations("third") == []


def test_failure_inside_the_scripts_own_transaction_is_recorded(transport, db, tmp_path):
    root = write_migrations(tmp_path / "m", {"001_tx": "BEGIN;\nCREATE TABLE t (v int);\nSELECT 1/0;\nCOMMIT;\n"})
    with pytest.raises(PrismaError):
        migrator(transport, root).deploy()
    assert "Database error code: 22012" in history(db)[0][4]
    assert db.relations("t") == []


def test_resolve_rolled_back_then_fixed_redeploy(transport, db, tmp_path):
    root = write_migrations(tmp_path / "m", FAILING)
    with pytest.raises(PrismaError):
        migrator(transport, root).deploy()

    assert migrator(transport, root).resolve_rolled_back("002_broken", check=True).changed
    assert [r[3] for r in history(db) if r[0] == "002_broken"] == [False]  # check mode wrote nothing
    assert migrator(transport, root).resolve_rolled_back("002_broken").changed
    assert not migrator(transport, root).resolve_rolled_back("002_broken").changed  # idempotent

    fixed = FAILING["002_broken"].replace("INSERT INTO missing VALUES (1);\n", "")
    (root / "002_broken" / "migration.sql").write_text(fixed)
    outcome = migrator(transport, root).deploy()
    assert outcome.applied == ["002_broken", "003_third"]
    assert db.relations("first", "broken", "third") == ["first", "broken", "third"]
    rows = [r for r in history(db) if r[0] == "002_broken"]
    assert [(r[2], r[3]) for r in rows] == [(False, True), (True, False)]
    assert rows[1][1] == hashlib.sha256(fixed.encode()).hexdigest()


def test_resolve_applied(transport, db, tmp_path):
    root = write_migrations(tmp_path / "m", FAILING)
    with pytest.raises(PrismaError):
        migrator(transport, root).deploy()
    db.fetch(f'CREATE TABLE broken (v int); ALTER TABLE broken OWNER TO "{db.user}"')  # fixed by hand

    outcome = migrator(transport, root).resolve_applied("002_broken")
    assert outcome.changed and outcome.after == ["001_first", "002_broken"]
    rows = db.fetch("SELECT checksum, logs, finished_at = started_at, rolled_back_at IS NOT NULL, applied_steps_count"
                    " FROM _prisma_migrations WHERE migration_name = '002_broken' ORDER BY started_at")
    checksum = hashlib.sha256(FAILING["002_broken"].encode()).hexdigest()
    assert rows[0][3] is True  # the failed row is marked rolled back
    assert rows[1] == (checksum, "", True, False, 0)

    with pytest.raises(PrismaError) as err:
        migrator(transport, root).resolve_applied("002_broken")
    assert err.value.code == "P3008"
    assert migrator(transport, root).deploy().applied == ["003_third"]


def test_resolve_applied_on_a_fresh_database_creates_the_table(transport, db, tmp_path):
    root = write_migrations(tmp_path / "m", FAILING)
    db.fetch(f'CREATE TABLE legacy (v int); ALTER TABLE legacy OWNER TO "{db.user}"')  # baselining
    migrator(transport, root).resolve_applied("001_first")
    assert [r[0] for r in history(db)] == ["001_first"]


def test_resolve_errors(transport, db, tmp_path):
    root = write_migrations(tmp_path / "m", {"001_first": "SELECT 1;"})
    with pytest.raises(PrismaError) as err:
        migrator(transport, root).resolve_applied("nope")
    assert err.value.code == "P3017"
    with pytest.raises(PrismaError) as err:
        migrator(transport, root).resolve_rolled_back("001_first")  # no table yet
    assert err.value.code == "P3011"
    migrator(transport, root).deploy()
    with pytest.raises(PrismaError) as err:
        migrator(transport, root).resolve_rolled_back("nope")
    assert err.value.code == "P3011"
    with pytest.raises(PrismaError) as err:
        migrator(transport, root).resolve_rolled_back("001_first")
    assert err.value.code == "P3012"


def test_every_script_shape(transport, db, tmp_path):
    scripts = {
        "20240101000000_first step": "-- a name with a space\nCREATE TYPE mood AS ENUM ('sad', 'ok');\n"
                                     "CREATE TABLE t (id int PRIMARY KEY, m mood, note text DEFAULT 'a;b');\n",
        "20240102000000_enum_value": "ALTER TYPE mood ADD VALUE 'happy';\n",
        "20240103000000_concurrently": "-- online\nCREATE INDEX CONCURRENTLY t_m_idx ON t (m);\n",
        "20240104000000_explicit_tx": "BEGIN;\nALTER TABLE t ADD COLUMN n int;\nUPDATE t SET n = 1;\nCOMMIT;\n",
        "20240105000000_do_block": "DO $$\nBEGIN\n  INSERT INTO t VALUES (1, 'happy', 'x;y');\nEND\n$$;\n"
                                   "COMMENT ON TABLE t IS 'semi; colon';\n",
        "20240106000000_function": "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
                                   "BEGIN NEW.note := NEW.note || ';'; RETURN NEW; END;\n$fn$;\n"
                                   "CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();\n",
    }
    outcome = migrator(transport, write_migrations(tmp_path / "m", scripts)).deploy()
    assert outcome.applied == sorted(scripts)
    assert history(db)[0][0] == "20240101000000_first step"
    assert db.fetch("SELECT id, m::text, note, n FROM t") == [(1, "happy", "x;y", None)]
    assert db.fetch("SELECT obj_description('t'::regclass)") == [("semi; colon",)]
    assert db.relations("t_m_idx") == ["t_m_idx"]


def test_concurrently_in_a_multi_statement_migration_fails_as_in_postgres(transport, db, tmp_path):
    root = write_migrations(tmp_path / "m", {
        "001": "CREATE TABLE t (v int);",
        "002": "CREATE TABLE u (v int);\nCREATE INDEX CONCURRENTLY t_v_idx ON t (v);\n",
    })
    with pytest.raises(PrismaError):
        migrator(transport, root).deploy()
    assert "Database error code: 25001" in history(db)[1][4]
    assert db.relations("u", "t_v_idx") == []


# --------------------------------------------------------------------------------------
# the two transports leave the same database
# --------------------------------------------------------------------------------------
def schema_dump(db, bindir: str) -> str:
    out = subprocess.run(
        [str(Path(bindir) / "pg_dump"), "--schema-only", "--no-owner", "--no-privileges", "--dbname", db.admin_url],
        check=True, capture_output=True, text=True).stdout
    # Drop the version banner and pg_dump's per-run random \restrict key.
    return "\n".join(line for line in out.splitlines()
                     if not line.startswith(("-- Dumped", "\\restrict", "\\unrestrict")))


def test_direct_and_data_api_yield_the_same_database(make_transport, scratch_db, emulator, tmp_path):
    root = tmp_path / "m"
    shutil.copytree(EXAMPLE, root)
    dumps, rows = [], []
    for kind_ in TRANSPORTS:
        target = scratch_db()
        transport_ = make_transport(kind_, target)
        with pytest.raises(PrismaError):  # a failure, recorded, then resolved: the same history
            migrator(transport_, write_migrations(tmp_path / kind_, FAILING)).deploy()
        migrator(transport_, root).resolve_rolled_back("002_broken")
        migrator(transport_, root).deploy()
        dumps.append(schema_dump(target, emulator["pg_bindir"]))
        rows.append(history(target))
    assert dumps[0] == dumps[1]
    assert rows[0] == rows[1]
    assert "CREATE INDEX \"Order_buyerId_createdAt_idx\"" in dumps[0]


# --------------------------------------------------------------------------------------
# concurrency: the advisory lock serializes deploys
# --------------------------------------------------------------------------------------
SLOW = {"001_slow": "CREATE TABLE slow (v int);\nSELECT pg_sleep(2);\n", "002_next": "CREATE TABLE next (v int);"}


def deploy_in_threads(make_transport, db, kinds, root, lock_timeout):
    results = {}

    def run(index, kind_):
        try:
            results[index] = migrator(make_transport(kind_, db), root, lock_timeout=lock_timeout).deploy()
        except PrismaError as exc:
            results[index] = exc

    threads = []
    for index, kind_ in enumerate(kinds):
        threads.append(threading.Thread(target=run, args=(index, kind_)))
        threads[-1].start()
        time.sleep(0.5)  # let the first one take the lock
    for thread in threads:
        thread.join(60)
    return [results[i] for i in range(len(kinds))]


@pytest.mark.parametrize("kinds", [("direct", "direct"), ("data_api", "data_api"), ("data_api", "direct")])
def test_concurrent_deploys_serialize(make_transport, db, tmp_path, kinds):
    root = write_migrations(tmp_path / "m", SLOW)
    first, second = deploy_in_threads(make_transport, db, kinds, root, lock_timeout=10)
    assert first.applied == ["001_slow", "002_next"]
    assert second.applied == [] and not second.changed  # it waited, then found nothing to do
    assert [r[0] for r in history(db)] == ["001_slow", "002_next"]


@pytest.mark.parametrize("kinds", [("direct", "data_api"), ("data_api", "data_api")])
def test_concurrent_deploy_times_out_with_p1002(make_transport, db, tmp_path, kinds):
    root = write_migrations(tmp_path / "m", SLOW)
    first, second = deploy_in_threads(make_transport, db, kinds, root, lock_timeout=1)
    assert first.applied == ["001_slow", "002_next"]
    assert isinstance(second, PrismaError) and second.code == "P1002"
    assert "pg_advisory_lock(72707369)" in second.message and "Timeout: 1000ms" in second.message
    assert [r[0] for r in history(db)] == ["001_slow", "002_next"]


def test_status(transport, db, tmp_path):
    root = write_migrations(tmp_path / "m", FAILING)
    assert migrator(transport, root).status().pending == list(FAILING)
    with pytest.raises(PrismaError):
        migrator(transport, root).deploy()
    status = migrator(transport, root).status()
    assert status.after == ["001_first"] and status.pending == ["003_third"]
    assert [f["name"] for f in status.failed] == ["002_broken"]
    assert status.failed[0]["started_at"].endswith(" UTC")
