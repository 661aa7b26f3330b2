"""Fix logs.delivery_tags_are_the_resources_tags: a log delivery's source, destination and delivery
report their tags as they are now - added by TagResource, kept through a put without tags."""
from __future__ import annotations

import uuid

TAGS = {"Environment": "emulator"}


def test_delivery_tags_follow_tag_resource_and_survive_a_put(aws):
    logs, name = aws("logs"), f"emu-cf-{uuid.uuid4().hex[:8]}"
    resource = f"arn:aws:cloudfront::123456789012:distribution/E{name[-8:].upper()}"
    config = {"destinationResourceArn": f"arn:aws:s3:::emu-logs-{name}"}
    source = logs.put_delivery_source(name=name, resourceArn=resource, logType="ACCESS_LOGS")["deliverySource"]
    dest = logs.put_delivery_destination(name=f"{name}-d", outputFormat="w3c", deliveryDestinationConfiguration=config,
                                         tags=TAGS)["deliveryDestination"]
    delivery = logs.create_delivery(deliverySourceName=name, deliveryDestinationArn=dest["arn"])["delivery"]
    assert "tags" not in source and "tags" not in delivery and dest["tags"] == TAGS
    for arn in (source["arn"], delivery["arn"]):
        logs.tag_resource(resourceArn=arn, tags=TAGS)
    # A put of an existing destination (it takes no tags then) keeps the tags it has.
    logs.put_delivery_destination(name=f"{name}-d", outputFormat="w3c", deliveryDestinationConfiguration=config)
    assert logs.get_delivery_source(name=name)["deliverySource"]["tags"] == TAGS
    assert logs.get_delivery_destination(name=f"{name}-d")["deliveryDestination"]["tags"] == TAGS
    assert logs.get_delivery(id=delivery["id"])["delivery"]["tags"] == TAGS
    described = [d for d in logs.describe_deliveries()["deliveries"] if d["id"] == delivery["id"]]
    assert described[0]["tags"] == TAGS
    logs.untag_resource(resourceArn=source["arn"], tagKeys=["Environment"])
    assert "tags" not in logs.get_delivery_source(name=name)["deliverySource"]
    logs.delete_delivery(id=delivery["id"])
    logs.delete_delivery_source(name=name)
    logs.delete_delivery_destination(name=f"{name}-d")
