"""Every create the roles make through an amazon.aws module that does not adopt "already exists"
is safe to resend: the task retries on stream_sales_already_exists (its next attempt finds the
resource and converges it), and log groups are made by our cloudwatch_log_group, which adopts a
resent CreateLogGroup. Found by the chaos suite's lost answers (make chaos)."""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# amazon.aws/community.aws modules whose create fails when resent after a lost answer (measured: amazon.aws 10.1)
NOT_ADOPTING = ("amazon.aws.iam_role", "amazon.aws.rds_subnet_group", "amazon.aws.rds_cluster_param_group",
                "amazon.aws.rds_instance", "community.aws.dynamodb_table", "amazon.aws.lambda_event")


def tasks(items):
    for task in items or []:
        if not isinstance(task, dict):
            continue
        yield task
        for key in ("block", "rescue", "always"):
            yield from tasks(task.get(key))


def role_tasks():
    for path in sorted(ROOT.glob("roles/*/tasks/*.yml")):
        if path.name == "absent.yml":
            continue
        for task in tasks(yaml.safe_load(path.read_text())):
            yield path.relative_to(ROOT), task


def test_creates_of_non_adopting_modules_retry_on_already_exists():
    found = 0
    for path, task in role_tasks():
        module = next((m for m in NOT_ADOPTING if m in task), None)
        if module is None or str(task[module].get("state", "present")) == "absent":
            continue
        found += 1
        register = task.get("register")
        assert register, f"{path}: {task['name']} registers nothing to retry on"
        assert "stream_sales_already_exists" in str(task.get("until", "")) and int(task.get("retries", 0)) >= 1, \
            f"{path}: {task['name']} ({module}) fails when its create is resent after a lost answer"
    assert found >= 1  # amazon.aws.lambda_event: the test is not vacuous


def test_log_groups_made_by_the_module_that_adopts_a_resent_create():
    for path, task in role_tasks():
        upstream = task.get("amazon.aws.cloudwatchlogs_log_group")
        if upstream is not None:
            assert upstream.get("state") == "absent", f"{path}: {task['name']} creates a log group through amazon.aws"
