"""cloudwatch_log_group against the emulator: check mode changes nothing (amazon.aws's does), diffs tell create from change."""
from __future__ import annotations

import uuid

import boto3
import pytest

from modules_helper import calls_of, faults, run_module


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


def test_kms_key_at_creation_then_associated_and_a_bare_group_adopted(group, emulator):
    call, logs, name = group
    kms = boto3.client("kms", endpoint_url=emulator["aws_endpoint_url"], region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    key, other = (kms.create_key()["KeyMetadata"]["Arn"] for _i in range(2))

    def key_of():
        return logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0].get("kmsKeyId")

    assert call(retention=7, kms_key_id=key)["changed"] and key_of() == key
    assert not call(retention=7, kms_key_id=key)["changed"]
    assert not call(retention=7)["changed"]  # no key asked: its encryption is left alone
    planned = call(check=True, retention=7, kms_key_id=other)
    assert planned["changed"] and planned["diff"]["before"]["kms_key_id"] == key and key_of() == key
    assert call(retention=7, kms_key_id=other)["changed"] and key_of() == other
    # A group made without key or tags (by a create whose answer was lost, then the run killed) is
    # adopted: its key is associated and its tags set.
    logs.delete_log_group(logGroupName=name)
    logs.create_log_group(logGroupName=name)
    result = run_module(emulator["aws_endpoint_url"], "cloudwatch_log_group",
                        {"log_group_name": name, "retention": 7, "kms_key_id": key, "tags": {"Project": "StreamSales"}})
    assert result["changed"] and key_of() == key and logs.list_tags_log_group(logGroupName=name)["tags"] == {"Project": "StreamSales"}


def test_a_list_of_groups_found_in_one_call(emulator):
    endpoint = emulator["aws_endpoint_url"]
    prefix = f"/unit/groups-{uuid.uuid4().hex[:8]}/"
    names = [prefix + n for n in ("server", "warmer", "revalidation")]
    logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")

    def call(groups, check=False):
        return run_module(endpoint, "cloudwatch_log_group", {"log_groups": groups, "retention": 7, "tags": {"Project": "StreamSales"}},
                          check=check, diff=True)

    planned = call(names, check=True)
    assert planned["changed"] and [v["name"] for v in planned["diff"]["after"]["log_groups"]] == names
    assert logs.describe_log_groups(logGroupNamePrefix=prefix)["logGroups"] == []
    logs.create_log_group(logGroupName=names[1])  # one there already, bare: adopted
    made = call(names)
    assert made["changed"] and set(made["log_groups"]) == set(names) and all(v["arn"] for v in made["log_groups"].values())
    listed = {g["logGroupName"]: g for g in logs.describe_log_groups(logGroupNamePrefix=prefix)["logGroups"]}
    assert set(listed) == set(names) and {g["retentionInDays"] for g in listed.values()} == {7}
    assert logs.list_tags_log_group(logGroupName=names[1])["tags"] == {"Project": "StreamSales"}
    faults(endpoint)  # counters from zero
    again = call(names)
    assert not again["changed"] and again["diff"]["before"] == again["diff"]["after"]
    assert calls_of(endpoint, "") == {"logs.DescribeLogGroups": 1, "resourcegroupstaggingapi.GetResources": 1}
    # A tag changed meanwhile: that group alone is read with its own call (the tagging API only
    # confirms), then retagged.
    logs.tag_log_group(logGroupName=names[2], tags={"Stray": "x"})
    faults(endpoint)
    retagged = call(names)
    assert retagged["changed"] and calls_of(endpoint, "logs.ListTagsLogGroup") == {"logs.ListTagsLogGroup": 1}
    assert logs.list_tags_log_group(logGroupName=names[2])["tags"] == {"Project": "StreamSales"}
    for name in names:
        logs.delete_log_group(logGroupName=name)
