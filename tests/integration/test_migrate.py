"""playbooks/migrate.yml and verify.yml on the local inventory: the stand-in PostgreSQL, both transports."""
from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import psycopg
import pytest

from harness import reset_emulator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.data_api_standin import DataApiStandIn  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = sorted(p.name for p in (ROOT / "example-app/prisma/migrations").iterdir() if p.is_dir())
TAGS = ("--tags", "network,secrets,aurora")
# verify.yml also checks the application (tag app), which these tests do not deploy.
DATABASE_ONLY = ("--tags", "database")


def creds(aws):
    value = aws("secretsmanager").get_secret_value(SecretId="stream-sales/local/database/credentials")["SecretString"]
    return json.loads(value)


def connect(aws):
    c = creds(aws)
    return psycopg.connect(host=c["host"], port=c["port"], user=c["username"], password=c["password"], dbname=c["dbname"])


def history(aws) -> list:
    with connect(aws) as conn:
        if not conn.execute("SELECT to_regclass('public._prisma_migrations')").fetchone()[0]:
            return []
        return [r[0] for r in conn.execute(
            "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY started_at")]


def recreate_database(pg_admin_url):
    """An empty `streams` owned by dbadmin, as a fresh cluster would have."""
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS streams WITH (FORCE)")
        conn.execute("CREATE DATABASE streams OWNER dbadmin")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def local(endpoint, playbook, pg_admin_url):
    reset_emulator(endpoint)
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS streams WITH (FORCE)")
        conn.execute("DROP ROLE IF EXISTS dbadmin")
    playbook("deploy", "local", *TAGS)


@pytest.mark.parametrize("args, message", [
    (("-e", "migrate_transport=carrier_pigeon"), "migrate_transport is 'carrier_pigeon'; allowed: direct, data_api."),
    (("-e", "migrations_dir=/nonexistent/prisma/migrations"), "migrations_dir '/nonexistent/prisma/migrations' is not a directory"),
    (("-e", "aurora_max_capacity=300"), "aurora_max_capacity is 300; allowed: 0 to 256 ACU in steps of 0.5."),
    (("-e", "migrate_resolve_applied=20991231000000_nope"), "migrate_resolve_applied is '20991231000000_nope', which is not a migration"),
])
def test_bad_inputs_fail_in_preflight_before_any_call(playbook, args, message):
    # Every AWS endpoint is a closed port: had any call been made, it would fail differently.
    dead = f"http://127.0.0.1:{closed_port()}"
    run = playbook("migrate", "local", *args, "-e", f"aws_endpoint_url={dead}", check=False)
    assert run.rc != 0 and "Preflight failed, nothing was changed" in run.out, run.out[-2000:]
    assert message in run.out
    assert "Migrate | Find the database secret" not in run.out


def test_check_mode_lists_pending_and_applies_nothing(local, playbook, aws):
    run = playbook("migrate", "local", "--check", "--diff")
    assert run.changed == 1
    assert all(name in run.out for name in MIGRATIONS)
    assert "would apply: " + MIGRATIONS[0] in run.out
    assert history(aws) == []


def test_migrate_applies_the_example_app_then_changes_nothing(local, playbook, aws):
    run = playbook("migrate", "local")
    assert run.changed == 1 and history(aws) == MIGRATIONS
    with connect(aws) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"User", "Product", "Order", "OrderItem", "Review", "_prisma_migrations"} <= tables
    again = playbook("migrate", "local")
    assert again.changed == 0, again.out[-2000:]
    assert creds(aws)["password"] not in run.out + again.out


def test_verify_reports_version_and_pending(local, playbook):
    run = playbook("verify", "local", *DATABASE_ONLY)
    assert "database: reachable, PostgreSQL" in run.out and "none pending" in run.out


def test_verify_fails_when_the_database_is_unreachable(local, playbook):
    run = playbook("verify", "local", *DATABASE_ONLY, "-e", f"migrate_port={closed_port()}", check=False)
    assert run.rc != 0 and "Connect to the database" in run.out


def test_resolve_options(local, playbook, aws):
    run = playbook("migrate", "local", "-e", f"migrate_resolve_applied={MIGRATIONS[-1]}")
    assert run.changed == 0  # already applied: nothing to resolve
    failed = playbook("migrate", "local", "-e", f"migrate_resolve_rolled_back={MIGRATIONS[-1]}", check=False)
    assert failed.rc != 0 and "P3012" in failed.out  # Prisma refuses: it did not fail


@pytest.fixture
def data_api(aws):
    """The Data API stand-in, resolving secret ARNs through the emulator's Secrets Manager."""
    def credentials(secret_arn):
        return json.loads(aws("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"])

    with DataApiStandIn(credentials) as standin:
        yield standin


def test_data_api_transport_through_the_stand_in(local, playbook, aws, pg_admin_url, data_api):
    recreate_database(pg_admin_url)
    via = ("-e", "migrate_transport=data_api", "-e", f"migrate_data_api_endpoint_url={data_api.endpoint_url}")
    check = playbook("migrate", "local", *via, "--check")
    assert check.changed == 1 and history(aws) == []
    run = playbook("migrate", "local", *via)
    assert run.changed == 1 and history(aws) == MIGRATIONS
    assert playbook("migrate", "local", *via).changed == 0
    report = playbook("verify", "local", *DATABASE_ONLY, *via)
    assert "via data_api" in report.out and "none pending" in report.out
    assert creds(aws)["password"] not in run.out + report.out


def test_migrate_and_verify_never_show_the_password_at_vvv(local, playbook, aws):
    run = playbook("migrate", "local", "-vvv", "--diff")
    report = playbook("verify", "local", *DATABASE_ONLY, "-vvv")
    assert creds(aws)["password"] not in run.out + report.out
