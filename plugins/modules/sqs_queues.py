#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sqs_queues
short_description: SQS queues with their attributes, dead-letter redrive, KMS key and tags, found in one list call
version_added: 0.2.0
description:
  - Creates the queues of O(queues), in their order (a dead-letter queue before the queue that
    redrives to it), or brings their attributes and tags to what is asked; with O(state=absent),
    deletes them. A queue whose name ends in C(.fifo) is a FIFO queue.
  - Finds them with one C(ListQueues) (the longest prefix their names share; C(GetQueueUrl) for a
    queue it does not list, as its list is eventually consistent), then reads each one's
    attributes, and their tags with one Resource Groups Tagging API call (C(tag:GetResources)); a
    queue whose tags differ there, or that it does not list, is read on its own before anything is
    written (that API is eventually consistent). Upstream lacks this (measured with community.aws 10.0 C(sqs_queue)) -
    one queue per task, 4 calls per queue on a no-change run with C(GetQueueAttributes) twice, and
    no queue URL returned when it creates one, which took the role a second task to read.
  - C(CreateQueue) is idempotent for the same attributes, so a create resent after its answer was
    lost returns the same queue.
options:
  queues:
    description: The queues. An attribute left out is left as it is.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Queue name (C(.fifo) at the end for a FIFO queue).
        type: str
        required: true
      visibility_timeout:
        description: Seconds a received message stays invisible to other consumers.
        type: int
      message_retention_period:
        description: Seconds a message is kept.
        type: int
      receive_message_wait_time_seconds:
        description: Long polling, in seconds.
        type: int
      redrive_policy:
        description: C(deadLetterTargetArn) and C(maxReceiveCount).
        type: dict
  kms_master_key_id:
    description: The KMS key (ARN) that encrypts every queue of O(queues); empty leaves their encryption alone.
    type: str
    default: ""
  state:
    description: Whether the queues exist.
    type: str
    default: present
    choices: [present, absent]
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
- name: A FIFO queue and its dead-letter queue
  stream_sales.platform.sqs_queues:
    queues:
      - {name: stream-sales-production-revalidation-dlq.fifo, message_retention_period: 1209600}
      - name: stream-sales-production-revalidation.fifo
        visibility_timeout: 30
        redrive_policy: {deadLetterTargetArn: "arn:aws:sqs:us-east-1:123456789012:stream-sales-production-revalidation-dlq.fifo",
                         maxReceiveCount: 5}
    tags: {Project: StreamSales}
"""

RETURN = r"""
queues:
  description: Every queue of O(queues) that exists after the run (or would, in check mode, without url), by name (url, arn).
  returned: always
  type: dict
"""

import functools
import json
import os

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client, paginate, tag_diff, tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_by_arn, tags_to_compare
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors, exit_with

OPTIONS = {"visibility_timeout": "VisibilityTimeout", "message_retention_period": "MessageRetentionPeriod",
           "receive_message_wait_time_seconds": "ReceiveMessageWaitTimeSeconds", "redrive_policy": "RedrivePolicy"}


def _value(attribute, value):
    """An attribute as compared: the redrive policy as a mapping (its count a number), others as text."""
    if attribute == "RedrivePolicy":
        policy = json.loads(value) if isinstance(value, str) else dict(value or {})
        if "maxReceiveCount" in policy:
            policy["maxReceiveCount"] = int(policy["maxReceiveCount"])
        return policy
    return str(value)


def wanted_attributes(spec, key):
    found = {attr: _value(attr, spec[option]) for option, attr in OPTIONS.items() if spec.get(option) is not None}
    if key:
        found["KmsMasterKeyId"] = key
    return found


def _api(attributes):
    return {k: json.dumps(v) if k == "RedrivePolicy" else str(v) for k, v in attributes.items()}


def queue_tags(sqs, url):
    return sqs.list_queue_tags(aws_retry=True, QueueUrl=url).get("Tags", {})


def queue_url(sqs, name):
    """GetQueueUrl for a queue ListQueues did not list: its list is eventually consistent, a queue
    created seconds ago may be missing from it."""
    try:
        return sqs.get_queue_url(aws_retry=True, QueueName=name)["QueueUrl"]
    except is_boto3_error_code(["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"]):
        return None


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            queues=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                visibility_timeout=dict(type="int"),
                message_retention_period=dict(type="int"),
                receive_message_wait_time_seconds=dict(type="int"),
                redrive_policy=dict(type="dict"),
            )),
            kms_master_key_id=dict(type="str", default="", no_log=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    sqs = client(module, "sqs")
    names = [q["name"] for q in p["queues"]]
    before, after, found, changed = [], [], {}, False
    with aws_errors(module, "queues %s" % ", ".join(names)):
        prefix = os.path.commonprefix(names)
        urls = {u.rsplit("/", 1)[-1]: u for u in paginate(sqs, "list_queues", "QueueUrls", QueueNamePrefix=prefix)}
        seen = {}
        for spec in p["queues"]:
            url = urls.get(spec["name"]) or queue_url(sqs, spec["name"])
            if url:
                seen[spec["name"]] = (url, sqs.get_queue_attributes(aws_retry=True, QueueUrl=url, AttributeNames=["All"])["Attributes"])
        # GetQueueAttributes shows no tags: one tagging API read for the queues found, a queue's
        # own read only where that differs.
        listed = tags_by_arn(module, [seen[n][1]["QueueArn"] for n in seen], p["tags"])
        for spec in p["queues"]:
            name = spec["name"]
            url, attrs = seen.get(name, (None, None))
            have = None
            if url:
                tags = tags_to_compare(listed, attrs["QueueArn"], p["tags"], p["purge_tags"], functools.partial(queue_tags, sqs, url))
                have = {"name": name, "attributes": {k: _value(k, v) for k, v in attrs.items()}, "tags": tags}
                before.append({"name": name, "attributes": {k: v for k, v in have["attributes"].items()
                                                            if k in OPTIONS.values() or k == "KmsMasterKeyId"}, "tags": tags})
            if p["state"] == "absent":
                if url:
                    changed = True
                    if not module.check_mode:
                        try:
                            sqs.delete_queue(aws_retry=True, QueueUrl=url)
                        except is_boto3_error_code("AWS.SimpleQueueService.NonExistentQueue"):
                            pass  # a delete resent after its answer was lost
                continue
            want_attrs = wanted_attributes(spec, p["kms_master_key_id"])
            tags = tags_after((have or {}).get("tags", {}), p["tags"], p["purge_tags"])
            view = {"name": name, "attributes": dict((before[-1]["attributes"] if have else {}), **want_attrs), "tags": tags}
            arn = have["attributes"].get("QueueArn") if have else None
            if have and view == before[-1]:
                after.append(view)
                found[name] = {"url": url, "arn": arn}
                continue
            changed = True
            after.append(view)
            if module.check_mode:
                found[name] = {"url": url, "arn": arn}
                continue
            if not have:
                create_attrs = dict(_api(want_attrs), **({"FifoQueue": "true"} if name.endswith(".fifo") else {}))
                url = sqs.create_queue(aws_retry=True, QueueName=name, Attributes=create_attrs, tags=p["tags"] or {})["QueueUrl"]
                arn = sqs.get_queue_attributes(aws_retry=True, QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            else:
                differing = {k: v for k, v in want_attrs.items() if have["attributes"].get(k) != v}
                if differing:
                    sqs.set_queue_attributes(aws_retry=True, QueueUrl=url, Attributes=_api(differing))
                to_set, to_remove = tag_diff(have["tags"], p["tags"], p["purge_tags"])
                if to_set:
                    sqs.tag_queue(aws_retry=True, QueueUrl=url, Tags=to_set)
                if to_remove:
                    sqs.untag_queue(aws_retry=True, QueueUrl=url, TagKeys=to_remove)
            found[name] = {"url": url, "arn": arn}
    exit_with(module, changed, before, after, kind="queues", queues=found)


if __name__ == "__main__":
    main()
