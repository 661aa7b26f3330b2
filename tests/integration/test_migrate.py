"""playbooks/migrate.yml and verify.yml on the local inventory: the emulated cluster's PostgreSQL, through the
RDS Data API (the default) and a direct TLS connection."""
from __future__ import annotations

import json
import socket
from pathlib import Path

import psycopg
import pytest

from harness import reset_emulator

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = sorted(p.name for p in (ROOT / "example-app/prisma/migrations").iterdir() if p.is_dir())
TAGS = ("--tags", "kms,network,secrets,aurora")
# verify.yml also checks the application (tag app), which these tests do not deploy.
DATABASE_ONLY = ("--tags", "database")


def creds(aws):
    value = aws("secretsmanager").get_secret_value(SecretId="stream-sales/local/database/credentials")["SecretString"]
    return json.loads(value)


def connect(aws):
    c = creds(aws)
    return psycopg.connect(host=c["host"], port=c["port"], user=c["username"], password=c["password"], dbname=c["dbname"],
                           sslmode="require")


def history(aws) -> list:
    with connect(aws) as conn:
        if not conn.execute("SELECT to_regclass('public._prisma_migrations')").fetchone()[0]:
            return []
        return [r[0] for r in conn.execute(
            "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY started_at")]


def recreate_database(aws):
    """An empty `streams` owned by dbadmin, as a fresh cluster has it (as the engine's administrator)."""
    c = creds(aws)
    with psycopg.connect(host=c["host"], port=c["port"], user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS streams WITH (FORCE)")
        conn.execute("CREATE DATABASE streams OWNER dbadmin")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def local(endpoint, playbook):
    reset_emulator(endpoint)
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
    assert "database: reachable, PostgreSQL" in run.out and "via data_api" in run.out and "none pending" in run.out


def test_verify_fails_when_the_database_is_unreachable(local, playbook):
    run = playbook("verify", "local", *DATABASE_ONLY, "-e", "migrate_transport=direct",
                   "-e", f"migrate_port={closed_port()}", check=False)
    assert run.rc != 0 and "connect to the database" in run.out


def test_resolve_options(local, playbook, aws):
    run = playbook("migrate", "local", "-e", f"migrate_resolve_applied={MIGRATIONS[-1]}")
    assert run.changed == 0  # already applied: nothing to resolve
    failed = playbook("migrate", "local", "-e", f"migrate_resolve_rolled_back={MIGRATIONS[-1]}", check=False)
    assert failed.rc != 0 and "P3012" in failed.out  # Prisma refuses: it did not fail


def test_direct_transport_over_tls(local, playbook, aws):
    """The same migrations through a direct connection (TLS required, as Aurora's rds.force_ssl=1 wants)."""
    recreate_database(aws)
    via = ("-e", "migrate_transport=direct")
    check = playbook("migrate", "local", *via, "--check")
    assert check.changed == 1 and history(aws) == []
    run = playbook("migrate", "local", *via)
    assert run.changed == 1 and history(aws) == MIGRATIONS
    assert playbook("migrate", "local", *via).changed == 0
    assert playbook("migrate", "local").changed == 0  # the Data API finds them applied
    report = playbook("verify", "local", *DATABASE_ONLY, *via)
    assert "via direct" in report.out and "none pending" in report.out
    assert creds(aws)["password"] not in run.out + report.out


def test_migrate_and_verify_never_show_the_password_at_vvv(local, playbook, aws):
    run = playbook("migrate", "local", "-vvv", "--diff")
    report = playbook("verify", "local", *DATABASE_ONLY, "-vvv", "-e", "migrate_transport=direct")
    assert creds(aws)["password"] not in run.out + report.out
