#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudwatch_logs_delivery
short_description: A CloudWatch Logs vended-log delivery (source, destination, delivery)
version_added: 0.1.0
description:
  - Ensures the delivery source O(name) for O(resource_arn) (e.g. a CloudFront distribution's
    standard logs v2, C(ACCESS_LOGS), made in us-east-1), the delivery destination
    C(<name>-destination) writing to O(destination_arn) (an S3 bucket ARN with an optional prefix,
    a log group or a Firehose stream) in O(output_format), and the delivery between them, with tags.
  - O(state=absent) deletes the delivery, the source, then the destination.
  - A no-change run makes 3 reads (C(GetDeliverySource), C(GetDeliveryDestination),
    C(DescribeDeliveries)); C(PutDeliverySource) and C(PutDeliveryDestination) are safe to resend
    (resent with tags after a lost answer, they conflict - tags are taken only at creation - and go
    again without them; the tags are converged with C(TagResource)), and a resent C(CreateDelivery) (C(ConflictException)) goes on with the delivery found.
  - amazon.aws and community.aws have no module for log deliveries.
options:
  name:
    description: The delivery source's name; the destination is C(<name>-destination).
    type: str
    required: true
  resource_arn:
    description: The resource whose logs are delivered. Required with O(state=present).
    type: str
  log_type:
    description: The log type the resource emits (C(ACCESS_LOGS) for CloudFront).
    type: str
    default: ACCESS_LOGS
  destination_arn:
    description: Where the logs go (C(arn:aws:s3:::bucket/prefix), a log group or Firehose ARN). Required with O(state=present).
    type: str
  output_format:
    description: Format of the delivered records (fixed once the destination exists).
    type: str
    choices: [w3c, json, plain, raw, parquet]
    default: w3c
  state:
    description: Whether the delivery should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - stream_sales.platform.attributes
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: CloudFront's standard logs (v2) into the logs bucket
  stream_sales.platform.cloudwatch_logs_delivery:
    region: us-east-1
    name: stream-sales-production-cloudfront
    resource_arn: arn:aws:cloudfront::123456789012:distribution/E1ABCDEF
    destination_arn: arn:aws:s3:::stream-sales-production-logs-123456789012/cloudfront
"""

RETURN = r"""
delivery:
  description: The delivery after the run (empty when absent).
  returned: always
  type: dict
  contains:
    id:
      description: The delivery's ID.
      type: str
    source:
      description: The delivery source's name.
      type: str
    destination_arn:
      description: The delivery destination's ARN.
      type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tag_diff
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import converge
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import exit_with
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import with_state

MISSING = "ResourceNotFoundException"


def get(call, key, **kwargs):
    try:
        return call(aws_retry=True, **kwargs)[key]
    except is_boto3_error_code(MISSING):
        return None


def put_tagged(call, tags, **kwargs):
    """PutDeliverySource/PutDeliveryDestination with tags. Tags are taken only when the put creates:
    resent after a lost answer (the first attempt created it), the put conflicts on them - it goes
    again without them, and the tags are converged afterwards (TagResource)."""
    if not tags:
        return call(aws_retry=True, **kwargs)
    try:
        return call(aws_retry=True, tags=tags, **kwargs)
    except is_boto3_error_code("ConflictException"):
        return call(aws_retry=True, **kwargs)


def read(logs, name):
    source = get(logs.get_delivery_source, "deliverySource", name=name)
    destination = get(logs.get_delivery_destination, "deliveryDestination", name=f"{name}-destination")
    if source is None and destination is None:
        return None
    delivery = next((d for d in paginate(logs, "describe_deliveries", "deliveries")
                     if d.get("deliverySourceName") == name
                     and destination and d.get("deliveryDestinationArn") == destination["arn"]), None)
    return {
        "source": source, "destination": destination, "delivery": delivery,
        "view": {
            "resource_arns": sorted((source or {}).get("resourceArns") or []),
            "log_type": (source or {}).get("logType"),
            "destination_arn": ((destination or {}).get("deliveryDestinationConfiguration") or {}).get("destinationResourceArn"),
            "output_format": (destination or {}).get("outputFormat"),
            "delivered": delivery is not None,
            "tags": {"source": (source or {}).get("tags") or {}, "destination": (destination or {}).get("tags") or {},
                     "delivery": (delivery or {}).get("tags") or {}},
        },
    }


def main():
    module = AnsibleAWSModule(
        argument_spec=with_state(
            name=dict(type="str", required=True),
            resource_arn=dict(type="str"),
            log_type=dict(type="str", default="ACCESS_LOGS"),
            destination_arn=dict(type="str"),
            output_format=dict(type="str", default="w3c", choices=["w3c", "json", "plain", "raw", "parquet"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["resource_arn", "destination_arn"])],
        supports_check_mode=True,
    )
    p = module.params
    logs = client(module, "logs")
    dest_name = f"{p['name']}-destination"

    def wanted(current):
        have = (current or {}).get("view", {}).get("tags") or {}
        return {
            "resource_arns": [p["resource_arn"]], "log_type": p["log_type"], "destination_arn": p["destination_arn"],
            "output_format": p["output_format"], "delivered": True,
            "tags": {part: tags_after(have.get(part), p["tags"], p["purge_tags"]) for part in ("source", "destination", "delivery")},
        }

    def put(current):
        view = (current or {}).get("view") or {}
        new_tags = p["tags"] or {}
        if view.get("resource_arns") != [p["resource_arn"]]:
            if current and current["source"]:
                if current["delivery"]:
                    logs.delete_delivery(aws_retry=True, id=current["delivery"]["id"])
                    current["delivery"] = None
                logs.delete_delivery_source(aws_retry=True, name=p["name"])  # its resource cannot change
            put_tagged(logs.put_delivery_source, new_tags, name=p["name"], resourceArn=p["resource_arn"], logType=p["log_type"])
        if (view.get("destination_arn"), view.get("output_format")) != (p["destination_arn"], p["output_format"]):
            if current and current["destination"]:
                if current["delivery"]:
                    logs.delete_delivery(aws_retry=True, id=current["delivery"]["id"])
                    current["delivery"] = None
                logs.delete_delivery_destination(aws_retry=True, name=dest_name)  # its format cannot change
            put_tagged(logs.put_delivery_destination, new_tags, name=dest_name, outputFormat=p["output_format"],
                       deliveryDestinationConfiguration={"destinationResourceArn": p["destination_arn"]})
        fresh = read(logs, p["name"])
        if fresh["delivery"] is None:
            try:
                logs.create_delivery(aws_retry=True, deliverySourceName=p["name"],
                                     deliveryDestinationArn=fresh["destination"]["arn"],
                                     **({"tags": new_tags} if new_tags else {}))
            except is_boto3_error_code("ConflictException"):
                pass  # our own create, resent after its answer was lost
            fresh = read(logs, p["name"])
        for part, arn in (("source", fresh["source"]["arn"]), ("destination", fresh["destination"]["arn"]),
                          ("delivery", fresh["delivery"]["arn"])):
            to_set, to_remove = tag_diff(fresh["view"]["tags"][part], p["tags"], p["purge_tags"])
            if to_remove:
                logs.untag_resource(aws_retry=True, resourceArn=arn, tagKeys=to_remove)
            if to_set:
                logs.tag_resource(aws_retry=True, resourceArn=arn, tags=to_set)
        return dict(wanted(fresh), id=fresh["delivery"]["id"])

    def delete(current):
        if current["delivery"]:
            logs.delete_delivery(aws_retry=True, id=current["delivery"]["id"])
        if current["source"]:
            logs.delete_delivery_source(aws_retry=True, name=p["name"])
        if current["destination"]:
            logs.delete_delivery_destination(aws_retry=True, name=dest_name)

    with aws_errors(module, f"log delivery {p['name']}"):
        current = read(logs, p["name"])
        changed, after = converge(module, current, wanted(current) if p["state"] == "present" else None,
                                  create=lambda: put(None), update=put, delete=delete,
                                  differs=lambda have, want: have["view"] != want)
    before = (current or {}).get("view") or {}
    if after is not None and "view" in after:
        after = after["view"]
    delivery = (current or {}).get("delivery") or {}
    exit_with(module, changed, before, after, delivery=({} if after is None else {
        "id": (after or {}).get("id") or delivery.get("id", ""), "source": p["name"],
        "destination_arn": ((current or {}).get("destination") or {}).get("arn", "")}))


if __name__ == "__main__":
    main()
