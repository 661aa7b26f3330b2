"""Fix awslambda.event_source_mappings_keep_the_alias: a mapping created on an alias is reported on it."""
from __future__ import annotations

import uuid

from lambda_helpers import make_function


def queue_arn(aws, name):
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=f"{name}-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def test_mapping_on_an_alias_keeps_the_alias_arn(aws):
    lam = aws("lambda")
    name = make_function(aws, "export const handler = async () => ({batchItemFailures: []});")
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    created = lam.create_event_source_mapping(FunctionName=f"{name}:live", EventSourceArn=queue_arn(aws, "emu-esm-alias"))
    assert created["FunctionArn"] == f"{arn}:live"
    assert lam.get_event_source_mapping(UUID=created["UUID"])["FunctionArn"] == f"{arn}:live"
    for filt in (f"{name}:live", f"{arn}:live"):
        listed = lam.list_event_source_mappings(FunctionName=filt)["EventSourceMappings"]
        assert [m["UUID"] for m in listed] == [created["UUID"]]
    assert lam.list_event_source_mappings(FunctionName=f"{name}:1")["EventSourceMappings"] == []


def test_reading_an_alias_reports_the_alias_arn(aws):
    """GetFunction(Configuration) of an alias: FunctionArn carries the alias, Version the version it serves."""
    lam = aws("lambda")
    name = make_function(aws, "export const handler = async () => 1;")
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    for config in (lam.get_function(FunctionName=name, Qualifier="live")["Configuration"],
                   lam.get_function(FunctionName=f"{name}:live")["Configuration"],
                   lam.get_function_configuration(FunctionName=name, Qualifier="live"),
                   lam.get_function_configuration(FunctionName=f"{arn}:live")):
        assert config["FunctionArn"] == f"{arn}:live" and config["Version"] == "1"
    assert lam.get_function(FunctionName=name, Qualifier="1")["Configuration"]["FunctionArn"] == f"{arn}:1"
    assert lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"] == arn
    # What amazon.aws.lambda_event sends: the alias ARN it read back.
    created = lam.create_event_source_mapping(FunctionName=lam.get_function(FunctionName=name, Qualifier="live")["Configuration"]["FunctionArn"],
                                              EventSourceArn=queue_arn(aws, "emu-esm-read"))
    assert created["FunctionArn"] == f"{arn}:live"


def test_unqualified_and_version_mappings_unchanged(aws):
    lam = aws("lambda")
    name = make_function(aws, "export const handler = async () => ({});")
    lam.publish_version(FunctionName=name)
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    plain = lam.create_event_source_mapping(FunctionName=name, EventSourceArn=queue_arn(aws, "emu-esm-plain"))
    version = lam.create_event_source_mapping(FunctionName=f"{name}:1", EventSourceArn=queue_arn(aws, "emu-esm-version"))
    assert plain["FunctionArn"] == arn and version["FunctionArn"] == f"{arn}:1"
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    moved = lam.update_event_source_mapping(UUID=plain["UUID"], FunctionName=f"{name}:live")
    assert moved["FunctionArn"] == f"{arn}:live"
