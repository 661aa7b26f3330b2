"""Fix awslambda.one_event_source_mapping_per_queue_and_function: a second mapping of the same queue
to the same function (alias) is refused with ResourceConflictException; one mapping stays."""
from __future__ import annotations

import uuid

import botocore.exceptions
import pytest

from lambda_helpers import make_function


def test_a_queue_maps_to_a_function_alias_once(aws):
    lam, sqs = aws("lambda"), aws("sqs")
    name = make_function(aws, "export const handler = async () => 1;")
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    url = sqs.create_queue(QueueName=f"emu-esm-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    first = lam.create_event_source_mapping(FunctionName=f"{name}:live", EventSourceArn=queue, BatchSize=5)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        lam.create_event_source_mapping(FunctionName=f"{name}:live", EventSourceArn=queue, BatchSize=5)
    assert caught.value.response["Error"]["Code"] == "ResourceConflictException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    mappings = lam.list_event_source_mappings(EventSourceArn=queue)["EventSourceMappings"]
    assert [m["UUID"] for m in mappings] == [first["UUID"]]
    # Another function may read the same queue.
    other = make_function(aws, "export const handler = async () => 2;")
    lam.create_event_source_mapping(FunctionName=other, EventSourceArn=queue, BatchSize=5)
    assert len(lam.list_event_source_mappings(EventSourceArn=queue)["EventSourceMappings"]) == 2
