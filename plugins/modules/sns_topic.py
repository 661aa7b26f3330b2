#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sns_topic
short_description: An SNS topic with its display name, KMS key, subscriptions and tags, planned in check mode
version_added: 0.2.0
description:
  - Creates the topic O(name) or brings its display name, encryption key, subscriptions and tags to
    what is asked; with O(state=absent), deletes it. Returns a diff.
  - Upstream lacks this (measured with community.aws 10.0 C(sns_topic)) - it fails in check mode on a
    topic it would create (it reads the subscriptions of an ARN it does not have), has no option for
    the topic's KMS key, returns no diff, and a no-change run made 11 calls for one topic, 6 of them
    repeats (C(ListTopics) four times). This module makes four - C(ListTopics), C(GetTopicAttributes),
    C(ListSubscriptionsByTopic), C(ListTagsForResource).
  - C(CreateTopic) is idempotent on AWS, so a create resent after its answer was lost returns the same topic.
  - A subscription waiting for its confirmation (an e-mail) counts as present; AWS lets nobody delete
    it, and deletes it itself after three days unconfirmed.
options:
  name:
    description: Name of the topic.
    type: str
    required: true
  display_name:
    description: Display name (the sender's name of e-mail notifications).
    type: str
    default: ""
  kms_key_id:
    description:
      - The customer managed key (ARN) that encrypts the topic at rest; empty for none.
      - CloudWatch alarms publish to an encrypted topic only when the key's policy lets
        C(cloudwatch.amazonaws.com) use it.
    type: str
    default: ""
  subscriptions:
    description: The topic's subscriptions; others are removed (O(purge_subscriptions)).
    type: list
    elements: dict
    default: []
    suboptions:
      protocol:
        description: The protocol, e.g. C(email).
        type: str
        required: true
      endpoint:
        description: The endpoint, e.g. an e-mail address.
        type: str
        required: true
  purge_subscriptions:
    description: Remove the confirmed subscriptions not in O(subscriptions).
    type: bool
    default: true
  state:
    description: Whether the topic exists.
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
- name: The alarm topic, encrypted, with the on-call address
  stream_sales.platform.sns_topic:
    name: stream-sales-production-alarms
    display_name: Stream Sales production alarms
    kms_key_id: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    subscriptions:
      - {protocol: email, endpoint: oncall@example.com}
    tags: {Project: StreamSales}
"""

RETURN = r"""
sns_arn:
  description: The topic's ARN (as community.aws C(sns_topic) returns it); empty when it does not exist (yet).
  returned: always
  type: str
topic:
  description: The topic after the run (name, display_name, kms_key_id, subscriptions, tags).
  returned: always
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client, paginate, tag_diff, tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors, converge, exit_with


def subscription_key(s):
    return "%s:%s" % (s["protocol"], s["endpoint"])


def find(sns, name):
    """(arn, view, {key: subscription ARN}) of the topic, or (None, None, {})."""
    arn = next((t["TopicArn"] for t in paginate(sns, "list_topics", "Topics") if t["TopicArn"].rsplit(":", 1)[-1] == name), None)
    if arn is None:
        return None, None, {}
    attrs = sns.get_topic_attributes(aws_retry=True, TopicArn=arn)["Attributes"]
    subs = {"%s:%s" % (s["Protocol"], s["Endpoint"]): s["SubscriptionArn"]
            for s in paginate(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=arn)}
    tags = boto3_tag_list_to_ansible_dict(sns.list_tags_for_resource(aws_retry=True, ResourceArn=arn).get("Tags", []))
    view = {"name": name, "display_name": attrs.get("DisplayName", ""), "kms_key_id": attrs.get("KmsMasterKeyId") or "",
            "subscriptions": sorted(subs), "tags": tags}
    return arn, view, subs


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            display_name=dict(type="str", default=""),
            kms_key_id=dict(type="str", default="", no_log=False),
            subscriptions=dict(type="list", elements="dict", default=[], options=dict(
                protocol=dict(type="str", required=True), endpoint=dict(type="str", required=True))),
            purge_subscriptions=dict(type="bool", default=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    sns = client(module, "sns")
    name = p["name"]
    with aws_errors(module, "topic %s" % name):
        arn, current, subs = find(sns, name)
        wanted_subs = sorted({subscription_key(s) for s in p["subscriptions"]})
        wanted = None
        if p["state"] == "present":
            kept = [k for k in (current or {}).get("subscriptions", []) if not p["purge_subscriptions"] or k in wanted_subs]
            wanted = {"name": name, "display_name": p["display_name"], "kms_key_id": p["kms_key_id"],
                      "subscriptions": sorted(set(wanted_subs) | set(kept)),
                      "tags": tags_after((current or {}).get("tags", {}), p["tags"], p["purge_tags"])}

        def create():
            attributes = {"DisplayName": p["display_name"]}
            if p["kms_key_id"]:
                attributes["KmsMasterKeyId"] = p["kms_key_id"]
            # Idempotent: a resend after a lost answer returns the same topic.
            new_arn = sns.create_topic(aws_retry=True, Name=name, Attributes=attributes,
                                       Tags=ansible_dict_to_boto3_tag_list(p["tags"] or {}))["TopicArn"]
            for s in p["subscriptions"]:
                sns.subscribe(aws_retry=True, TopicArn=new_arn, Protocol=s["protocol"], Endpoint=s["endpoint"])
            found[0] = new_arn
            return wanted

        def update(have):
            for attribute, key in (("DisplayName", "display_name"), ("KmsMasterKeyId", "kms_key_id")):
                if have[key] != wanted[key]:
                    sns.set_topic_attributes(aws_retry=True, TopicArn=arn, AttributeName=attribute, AttributeValue=wanted[key])
            for s in p["subscriptions"]:
                if subscription_key(s) not in have["subscriptions"]:
                    sns.subscribe(aws_retry=True, TopicArn=arn, Protocol=s["protocol"], Endpoint=s["endpoint"])
            for key in set(have["subscriptions"]) - set(wanted["subscriptions"]):
                if subs[key].startswith("arn:"):  # a pending confirmation cannot be deleted (AWS removes it)
                    sns.unsubscribe(aws_retry=True, SubscriptionArn=subs[key])
            to_set, to_remove = tag_diff(have["tags"], p["tags"], p["purge_tags"])
            if to_set:
                sns.tag_resource(aws_retry=True, ResourceArn=arn, Tags=ansible_dict_to_boto3_tag_list(to_set))
            if to_remove:
                sns.untag_resource(aws_retry=True, ResourceArn=arn, TagKeys=to_remove)
            return wanted

        def delete(_have):
            sns.delete_topic(aws_retry=True, TopicArn=arn)  # idempotent: a resend is a no-op

        found = [arn]
        changed, after = converge(module, current, wanted, create=create, update=update, delete=delete)
    exit_with(module, changed, current, after, sns_arn=(found[0] or "") if after else "", topic=after or {})


if __name__ == "__main__":
    main()
