"""cloudwatch_log_group against the emulator: check mode changes nothing (amazon.aws's does), diffs tell create from change."""
from __future__ import annotations

import uuid

import boto3
import pytest

from modules_helper import run_module


@pytest.fixture
def group(emulator):
    endpoint = emulator["aws_endpoint_url"]
    name = f"/unit/log-group-{uuid.uuid4().hex[:8]}"
    logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")

    def call(check=False, **args):
        return run_module(endpoint, "cloudwatch_log_group", dict({"log_group_name": name}, **args), check=check, diff=True)

    yield call, logs, name
    if logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]:
        logs.delete_log_group(logGroupName=name)


def test_create_change_and_check_mode(group):
    call, logs, name = group
    planned = call(check=True, retention=7, tags={"Project": "StreamSales"})
    assert planned["changed"] and planned["diff"]["before"] == {}
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []
    created = call(retention=7, tags={"Project": "StreamSales"})
    assert created["changed"] and logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["retentionInDays"] == 7
    assert not call(retention=7, tags={"Project": "StreamSales"})["changed"]
    logs.put_retention_policy(logGroupName=name, retentionInDays=1)  # out of band
    check = call(check=True, retention=7, tags={"Project": "StreamSales"})
    assert check["changed"] and check["diff"]["before"]["retention"] == 1 and check["diff"]["after"]["retention"] == 7
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["retentionInDays"] == 1  # untouched
    assert call(retention=7, tags={"Project": "StreamSales", "Extra": "x"})["changed"]
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"Project": "StreamSales", "Extra": "x"}
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["retentionInDays"] == 7
    assert "retention is 8; allowed" in call(retention=8)["msg"]
