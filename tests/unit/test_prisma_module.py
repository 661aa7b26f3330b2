"""The stream_sales.platform.prisma_migrate module, run as Ansible runs it, against the emulator.

The database is in an Aurora cluster of the emulator (a PostgreSQL server of its own); its secret
lives in the emulator's Secrets Manager and the module reads it itself. The Data API case goes
through the emulator's rds-data, which logs in with that same secret.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import test_pg_transport as shared

# Fixtures shared with test_pg_transport.py (pytest finds fixtures among module attributes).
aurora_engine, scratch_db, db = shared.aurora_engine, shared.scratch_db, shared.db

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "plugins" / "modules" / "prisma_migrate.py"
EXAMPLE = ROOT / "example-app" / "prisma" / "migrations"
EXAMPLE_NAMES = sorted(p.parent.name for p in EXAMPLE.glob("*/migration.sql"))
UNREACHABLE = "http://127.0.0.1:9"  # any AWS call would fail to connect here
AWS = {"access_key": "testing", "secret_key": "testing", "region": "us-east-1"}


def run_module(args: dict, check: bool = False, diff: bool = False) -> dict:
    """Run the module file the way Ansible's module runner does: ANSIBLE_MODULE_ARGS on argv."""
    payload = {"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check, _ansible_diff=diff)}
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".collections"))
    proc = subprocess.run([sys.executable, str(MODULE)], input=json.dumps(payload), capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    result = json.loads(proc.stdout)
    result["_stdout"], result["_stderr"] = proc.stdout, proc.stderr
    return result


@pytest.fixture
def secret(db):
    """The test database's credentials as a Secrets Manager secret in the emulator."""
    return db.secret_arn


@pytest.mark.parametrize("args,needle", [
    ({"transport": "carrier_pigeon"}, "transport"),
    ({"migrations_dir": "/nonexistent/migrations"}, "migrations_dir"),
    ({"transport": "data_api"}, "cluster_arn"),
    ({"operation": "resolve_applied"}, "migration"),
    ({"operation": "resolve_rolled_back"}, "migration"),
    ({"transport": "data_api", "cluster_arn": "arn:aws:rds:us-east-1:1:cluster:c", "schema": "app"}, "schema"),
])
def test_bad_input_fails_before_any_aws_call(args, needle):
    base = {"migrations_dir": str(EXAMPLE), "secret_arn": "arn:aws:secretsmanager:us-east-1:1:secret:x",
            "endpoint_url": UNREACHABLE, **AWS}
    result = run_module(dict(base, **args))
    assert result["failed"]
    assert needle in result["msg"]
    assert "connect" not in result["msg"].lower()  # it never got as far as calling AWS


def test_wrong_provider_fails_before_any_aws_call(tmp_path):
    (tmp_path / "migration_lock.toml").write_text('provider = "sqlite"\n')
    result = run_module({"migrations_dir": str(tmp_path), "secret_arn": "x" * 20, "endpoint_url": UNREACHABLE, **AWS})
    assert result["failed"] and result["code"] == "P3019"


def test_playbook_check_deploy_rerun_and_no_password(emulator, db, secret, tmp_path):
    """Through ansible-playbook: check mode, a real deploy, an idempotent rerun."""
    task_args = {"migrations_dir": str(EXAMPLE), "secret_arn": secret,
                 "endpoint_url": emulator["aws_endpoint_url"], **AWS}
    playbook = tmp_path / "migrate.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "vars": {"ansible_python_interpreter": sys.executable},
        "tasks": [
            {"name": "plan", "stream_sales.platform.prisma_migrate": task_args, "check_mode": True, "diff": True},
            {"name": "deploy", "stream_sales.platform.prisma_migrate": task_args, "diff": True},
            {"name": "rerun", "stream_sales.platform.prisma_migrate": task_args},
        ],
    }]))
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")  # not the repo's: this test sets its own
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"),
               ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-v", str(playbook)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    tasks = {t["task"]["name"]: t["hosts"]["localhost"] for t in json.loads(proc.stdout[proc.stdout.index("{"):])["plays"][0]["tasks"]}

    plan = tasks["plan"]
    assert plan["changed"] and plan["pending"] == EXAMPLE_NAMES and plan["applied"] == []
    assert plan["diff"]["before"]["applied_migrations"] == [] and plan["diff"]["after"]["applied_migrations"] == EXAMPLE_NAMES
    assert plan["server_version"].startswith("15")

    deploy = tasks["deploy"]
    assert deploy["changed"] and deploy["applied"] == EXAMPLE_NAMES and deploy["pending"] == []
    assert tasks["rerun"]["changed"] is False and tasks["rerun"]["applied"] == []
    assert [r[0] for r in db.fetch("SELECT migration_name FROM _prisma_migrations ORDER BY started_at")] == EXAMPLE_NAMES
    assert db.password not in proc.stdout and db.password not in proc.stderr


def test_module_failure_reports_code_without_password(emulator, db, secret, tmp_path):
    (tmp_path / "001_bad").mkdir()
    (tmp_path / "001_bad" / "migration.sql").write_text("CREATE TABLE t (v int); SELECT * FROM missing;")
    args = {"migrations_dir": str(tmp_path), "secret_arn": secret, "endpoint_url": emulator["aws_endpoint_url"], **AWS}
    failed = run_module(args)
    assert failed["failed"] and failed["code"] == "P3018" and failed["failed_migrations"][0]["name"] == "001_bad"
    blocked = run_module(args, check=True)
    assert blocked["failed"] and blocked["code"] == "P3009"
    status = run_module(dict(args, operation="status"))
    assert not status.get("failed") and status["failed_migrations"][0]["name"] == "001_bad"
    resolved = run_module(dict(args, operation="resolve_rolled_back", migration="001_bad"))
    assert resolved["changed"] and resolved["failed_migrations"] == []
    # a wrong port: the connection error is reported, the password is not
    unreachable = run_module(dict(args, port=1))
    assert unreachable["failed"] and "database error" in unreachable["msg"]
    for result in (failed, blocked, status, resolved, unreachable):
        assert db.password not in result["_stdout"] + result["_stderr"]


def test_module_data_api_transport(emulator, db):
    args = {"migrations_dir": str(EXAMPLE), "secret_arn": db.secret_arn, "transport": "data_api",
            "cluster_arn": db.cluster_arn, "endpoint_url": emulator["aws_endpoint_url"], **AWS}
    plan = run_module(args, check=True)
    assert plan["changed"] and plan["pending"] == EXAMPLE_NAMES, plan
    deploy = run_module(args, diff=True)  # the database: the secret's dbname
    assert deploy["changed"] and deploy["applied"] == EXAMPLE_NAMES, deploy
    assert deploy["diff"]["after"]["applied_migrations"] == EXAMPLE_NAMES
    assert [r[0] for r in db.fetch("SELECT migration_name FROM _prisma_migrations ORDER BY started_at")] == EXAMPLE_NAMES
    rerun = run_module(dict(args, database=db.name))
    assert not rerun["changed"] and rerun["applied_migrations"] == EXAMPLE_NAMES
    applied = run_module(dict(args, operation="resolve_applied", migration=EXAMPLE_NAMES[0]))
    assert not applied["changed"]  # already applied: P3008 becomes "nothing to do"
    for result in (plan, deploy, rerun, applied):
        assert db.password not in result["_stdout"] + result["_stderr"]
