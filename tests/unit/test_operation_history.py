"""The operation history modules, run for real against the emulator's DynamoDB."""
from __future__ import annotations

import uuid

import boto3
import pytest

from modules_helper import calls_of, faults, run_module


@pytest.fixture
def history(emulator):
    endpoint = emulator["aws_endpoint_url"]
    table = f"unit-history-{uuid.uuid4().hex[:8]}"
    base = {"table": table, "environment": "stream-sales-unit"}

    def call(name="operation_history", check=False, **args):
        return run_module(endpoint, name, dict(base, **args), check=check)

    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    yield call, ddb, table
    if table in ddb.list_tables()["TableNames"]:
        assert ddb.describe_table(TableName=table)["Table"]["DeletionProtectionEnabled"]
        ddb.update_table(TableName=table, DeletionProtectionEnabled=False)
        ddb.delete_table(TableName=table)


def test_no_table_is_no_history_and_check_mode_writes_nothing(history):
    call, ddb, table = history
    assert call("operation_history_info")["records"] == []
    planned = call(check=True, operation="deploy")
    assert not planned["changed"] and planned["record"]["result"] == "running"
    assert table not in ddb.list_tables()["TableNames"]


def test_start_then_finish_newest_first(history):
    call, ddb, table = history
    first = call(operation="deploy", caller="arn:aws:iam::123456789012:user/alice", details={"git_commit": "abc", "empty": ""})
    assert first["changed"] and first["record_id"]
    done = call(state="finished", record_id=first["record_id"], result="succeeded",
                changes=[{"role": "network", "task": "Network | VPC", "item": "", "action": "create"}] * 3)
    assert done["record"]["counts"] == {"create": 3}
    second = call(operation="teardown")
    call(state="finished", record_id=second["record_id"], result="failed",
         failed_task={"role": "aurora", "task": "Aurora | Delete", "msg": "x" * 5000})
    records = call("operation_history_info", limit=5)["records"]
    assert [r["operation"] for r in records] == ["teardown", "deploy"]
    assert records[0]["result"] == "failed" and len(records[0]["failed_task"]["msg"]) == 1000
    assert records[1]["caller"].endswith("user/alice") and records[1]["git_commit"] == "abc" and "empty" not in records[1]
    assert records[1]["duration_seconds"] >= 0 and records[1]["user"] and records[1]["host"]
    # One query, newest first, limited
    assert [r["operation"] for r in call("operation_history_info", limit=1)["records"]] == ["teardown"]


def test_a_run_that_never_finished_shows_as_unfinished(history):
    call, ddb, table = history
    call(operation="migrate")
    assert call("operation_history_info")["records"][0]["result"] == "running"
    assert call("operation_history_info", stale_after_seconds=0)["records"][0]["result"] == "unfinished"


def test_a_start_is_one_write_once_the_table_exists(history, emulator):
    """The first record makes the table; later starts are one PutItem (no DescribeTable first)."""
    call, ddb, table = history
    endpoint = emulator["aws_endpoint_url"]
    assert call(operation="deploy")["changed"] and table in ddb.list_tables()["TableNames"]
    faults(endpoint)
    again = call(operation="deploy")
    assert again["changed"] and calls_of(endpoint, "dynamodb.") == {"dynamodb.PutItem": 1}
    stored = ddb.get_item(TableName=table, Key={"environment": {"S": "stream-sales-unit"}, "started": {"S": again["record_id"]}})
    assert "Item" in stored
