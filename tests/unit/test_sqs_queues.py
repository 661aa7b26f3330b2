"""sqs_queues against the emulator: found with one list call, converged, a resent create adopted, deleted."""
from __future__ import annotations

import json
import uuid

import boto3
import pytest

from modules_helper import calls_of, counters, faults, run_module

TAGS = {"Project": "StreamSales", "Environment": "unit"}


@pytest.fixture
def queues(emulator):
    endpoint = emulator["aws_endpoint_url"]
    prefix = f"unit-{uuid.uuid4().hex[:8]}-"
    sqs = boto3.client("sqs", endpoint_url=emulator.get("aws_direct_url", endpoint), region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")

    def call(specs, check=False, **args):
        return run_module(endpoint, "sqs_queues", dict({"queues": specs, "tags": TAGS}, **args), check=check, diff=True)

    yield call, sqs, prefix, endpoint
    faults(endpoint)
    for url in sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)


def specs(prefix, dlq_arn, visibility=30):
    return [{"name": f"{prefix}dlq.fifo", "message_retention_period": 1209600},
            {"name": f"{prefix}work.fifo", "visibility_timeout": visibility, "receive_message_wait_time_seconds": 20,
             "redrive_policy": {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}}]


def attributes(sqs, name):
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"], url


def test_queues_created_rerun_changed_and_deleted(queues):
    call, sqs, prefix, endpoint = queues
    dlq_arn = f"arn:aws:sqs:us-east-1:123456789012:{prefix}dlq.fifo"
    wanted = specs(prefix, dlq_arn)
    planned = call(wanted, check=True)
    assert planned["changed"] and [q["name"] for q in planned["diff"]["after"]["queues"]] == [s["name"] for s in wanted]
    assert sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", []) == []  # check mode made nothing

    created = call(wanted)
    assert created["changed"] and created["queues"][f"{prefix}dlq.fifo"]["arn"] == dlq_arn
    work, url = attributes(sqs, f"{prefix}work.fifo")
    assert created["queues"][f"{prefix}work.fifo"]["url"].endswith(f"/123456789012/{prefix}work.fifo")
    assert work["FifoQueue"] == "true" and work["VisibilityTimeout"] == "30" and work["ReceiveMessageWaitTimeSeconds"] == "20"
    assert json.loads(work["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == TAGS

    faults(endpoint)  # counters from zero
    again = call(wanted)
    assert not again["changed"] and again["diff"]["before"] == again["diff"]["after"]
    assert calls_of(endpoint, "") == {
        "sqs.ListQueues": 1, "sqs.GetQueueAttributes": 2, "resourcegroupstaggingapi.GetResources": 1}

    # Out of band: the visibility timeout and a tag changed; shown in check mode, then put back.
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "99"})
    sqs.tag_queue(QueueUrl=url, Tags={"Environment": "other"})
    faults(endpoint)
    check = call(wanted, check=True)
    assert calls_of(endpoint, "sqs.ListQueueTags") == {"sqs.ListQueueTags": 1}  # the changed queue's own read
    before = {q["name"]: q for q in check["diff"]["before"]["queues"]}[f"{prefix}work.fifo"]
    assert before["tags"]["Environment"] == "other"
    assert check["changed"] and before["attributes"]["VisibilityTimeout"] == "99" and attributes(sqs, f"{prefix}work.fifo")[0]["VisibilityTimeout"] == "99"
    assert call(wanted)["changed"]
    assert attributes(sqs, f"{prefix}work.fifo")[0]["VisibilityTimeout"] == "30" and sqs.list_queue_tags(QueueUrl=url)["Tags"] == TAGS
    assert not call(wanted)["changed"]

    names = [{"name": s["name"]} for s in reversed(wanted)]
    assert call(names, state="absent")["changed"]
    assert sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", []) == []
    assert not call(names, state="absent")["changed"]


def test_a_resent_create_is_adopted(queues):
    call, sqs, prefix, endpoint = queues
    wanted = [{"name": f"{prefix}dlq", "message_retention_period": 1209600}]
    faults(endpoint, r"lost=1,count=1,match=sqs\.CreateQueue")  # CreateQueue took effect, its answer lost: botocore resends it
    created = call(wanted)
    lost = counters(endpoint)["faults"]
    faults(endpoint)
    assert not created.get("failed"), created.get("msg")
    assert lost == {"lost": 1} and len(sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"]) == 1
    assert not call(wanted)["changed"]
