#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rds_cluster_instances
short_description: The instances of an Aurora cluster, read in one call, launched without waiting
version_added: 0.2.0
description:
  - Creates the instances of O(instances) in the cluster O(cluster_identifier), brings their class,
    promotion tier, monitoring, Performance Insights and tags to what is asked (applied
    immediately), or deletes those whose O(instances[].state) is C(absent). Instances of the
    cluster it is not told about are left alone.
  - Reads every instance of the cluster with one C(DescribeDBInstances) filtered on the cluster
    (its answer carries their tags). Does not wait for them - a wait is a separate step, where
    something needs them (the aurora role's C(wait.yml)).
  - Upstream lacks this (measured with amazon.aws 10.1 C(rds_instance)) - one instance per task,
    a no-change run reads C(DescribeDBInstances) twice and C(ListTagsForResource) twice per
    instance (8 calls for a writer and a reader, 4 of them repeats), its waiter polls every
    60 s, and a C(CreateDBInstance) resent after its answer was lost fails with
    C(DBInstanceAlreadyExists); here the instance is adopted and converged.
  - The availability zone and the cluster of an instance cannot change in place; asking for
    another is refused, never replaced.
options:
  cluster_identifier:
    description: The cluster the instances belong to.
    type: str
    required: true
  instances:
    description: The instances, by identifier.
    type: list
    elements: dict
    required: true
    suboptions:
      identifier:
        description: Instance identifier.
        type: str
        required: true
      availability_zone:
        description: Its availability zone (at creation).
        type: str
      promotion_tier:
        description: Failover priority, 0 (first) to 15.
        type: int
        default: 1
      tags:
        description: Its own tags, over O(tags) (e.g. its C(Name)).
        type: dict
        default: {}
      state:
        description: Whether it exists.
        type: str
        default: present
        choices: [present, absent]
  engine:
    description: The cluster's engine.
    type: str
    default: aurora-postgresql
  instance_class:
    description: Instance class.
    type: str
    default: db.serverless
  monitoring_interval:
    description: Enhanced monitoring interval in seconds, 0 for none.
    type: int
    default: 0
    choices: [0, 1, 5, 10, 15, 30, 60]
  monitoring_role_arn:
    description: The role enhanced monitoring writes with (needed when O(monitoring_interval) is not 0).
    type: str
    default: ""
  performance_insights:
    description: Whether Performance Insights is on.
    type: bool
    default: false
  performance_insights_kms_key_id:
    description: The KMS key (ARN) of Performance Insights' data; empty leaves AWS's default key.
    type: str
    default: ""
  performance_insights_retention_period:
    description: Days Performance Insights keeps its data (7 is free).
    type: int
    default: 7
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
- name: Writer and reader of the cluster, launched, not awaited
  stream_sales.platform.rds_cluster_instances:
    cluster_identifier: stream-sales-production-db
    instances:
      - {identifier: stream-sales-production-db-writer, availability_zone: us-east-1a, promotion_tier: 0,
         tags: {Name: stream-sales-production-db-writer}}
      - {identifier: stream-sales-production-db-reader, availability_zone: us-east-1b, promotion_tier: 1,
         tags: {Name: stream-sales-production-db-reader}}
    performance_insights: true
    tags: {Project: StreamSales}

- name: Delete them (the cluster refuses to go while it has instances)
  stream_sales.platform.rds_cluster_instances:
    cluster_identifier: stream-sales-production-db
    instances:
      - {identifier: stream-sales-production-db-reader, state: absent}
      - {identifier: stream-sales-production-db-writer, state: absent}
"""

RETURN = r"""
instances:
  description: >-
    Every instance of O(instances) that exists after the run, by identifier (arn, status,
    endpoint, availability_zone); in check mode, one it would create has status C(creating).
  returned: always
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client, paginate, retag_rds, tag_diff, tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors, exit_with

GONE = ("deleting",)


def view(instance):
    """What is compared and shown of an instance."""
    return {
        "identifier": instance["DBInstanceIdentifier"],
        "availability_zone": instance.get("AvailabilityZone"),
        "instance_class": instance.get("DBInstanceClass"),
        "promotion_tier": instance.get("PromotionTier"),
        "monitoring_interval": instance.get("MonitoringInterval", 0),
        "monitoring_role_arn": instance.get("MonitoringRoleArn", "") if instance.get("MonitoringInterval") else "",
        "performance_insights": bool(instance.get("PerformanceInsightsEnabled")),
        "performance_insights_kms_key_id": instance.get("PerformanceInsightsKMSKeyId", "") if instance.get("PerformanceInsightsEnabled") else "",
        "performance_insights_retention_period": instance.get("PerformanceInsightsRetentionPeriod") if instance.get("PerformanceInsightsEnabled") else None,
        "tags": boto3_tag_list_to_ansible_dict(instance.get("TagList", [])),
    }


def wanted(p, spec, current):
    insights = p["performance_insights"]
    return {
        "identifier": spec["identifier"],
        "availability_zone": spec["availability_zone"] or (current or {}).get("availability_zone"),
        "instance_class": p["instance_class"],
        "promotion_tier": spec["promotion_tier"],
        "monitoring_interval": p["monitoring_interval"],
        "monitoring_role_arn": p["monitoring_role_arn"] if p["monitoring_interval"] else "",
        "performance_insights": insights,
        # Left empty, AWS picks its default key: whatever it picked is kept.
        "performance_insights_kms_key_id": (p["performance_insights_kms_key_id"] or (current or {}).get("performance_insights_kms_key_id", ""))
        if insights else "",
        "performance_insights_retention_period": p["performance_insights_retention_period"] if insights else None,
        "tags": tags_after((current or {}).get("tags", {}), instance_tags(p, spec), p["purge_tags"]),
    }


def instance_tags(p, spec):
    """O(tags) with the instance's own over them; None (tags left alone) when neither is given."""
    if p["tags"] is None and not spec["tags"]:
        return None
    return dict(p["tags"] or {}, **spec["tags"])


def returned(instance):
    return {"arn": instance.get("DBInstanceArn"), "status": instance.get("DBInstanceStatus"),
            "endpoint": (instance.get("Endpoint") or {}).get("Address"), "availability_zone": instance.get("AvailabilityZone")}


def monitoring_args(want):
    args = {"MonitoringInterval": want["monitoring_interval"]}
    if want["monitoring_interval"]:
        args["MonitoringRoleArn"] = want["monitoring_role_arn"]
    return args


def insights_args(want):
    args = {"EnablePerformanceInsights": want["performance_insights"]}
    if want["performance_insights"]:
        args["PerformanceInsightsRetentionPeriod"] = want["performance_insights_retention_period"]
        if want["performance_insights_kms_key_id"]:
            args["PerformanceInsightsKMSKeyId"] = want["performance_insights_kms_key_id"]
    return args


def describe_one(rds, identifier):
    try:
        return rds.describe_db_instances(aws_retry=True, DBInstanceIdentifier=identifier)["DBInstances"][0]
    except is_boto3_error_code("DBInstanceNotFound"):
        return None


def create(module, rds, spec, want):
    p = module.params
    args = dict(DBInstanceIdentifier=want["identifier"], DBClusterIdentifier=p["cluster_identifier"], Engine=p["engine"],
                DBInstanceClass=want["instance_class"], PromotionTier=want["promotion_tier"],
                Tags=ansible_dict_to_boto3_tag_list(instance_tags(p, spec) or {}), **monitoring_args(want), **insights_args(want))
    if want["availability_zone"]:
        args["AvailabilityZone"] = want["availability_zone"]
    try:
        return rds.create_db_instance(aws_retry=True, **args)["DBInstance"]
    except is_boto3_error_code("DBInstanceAlreadyExists"):
        # A create resent after its answer was lost: that instance is ours, converge it.
        instance = describe_one(rds, want["identifier"])
        update(module, rds, spec, instance, want)
        return describe_one(rds, want["identifier"])


def update(module, rds, spec, instance, want):
    have = view(instance)
    if want["availability_zone"] and have["availability_zone"] and want["availability_zone"] != have["availability_zone"]:
        module.fail_json(msg=f"{want['identifier']} is in {have['availability_zone']}; its availability zone cannot change in place "
                             f"(asked: {want['availability_zone']}). Delete it first (state: absent) to move it.")
    changes = {}
    if want["instance_class"] != have["instance_class"]:
        changes["DBInstanceClass"] = want["instance_class"]
    if want["promotion_tier"] != have["promotion_tier"]:
        changes["PromotionTier"] = want["promotion_tier"]
    if (want["monitoring_interval"], want["monitoring_role_arn"]) != (have["monitoring_interval"], have["monitoring_role_arn"]):
        changes.update(monitoring_args(want))
    if any(want[k] != have[k] for k in ("performance_insights", "performance_insights_kms_key_id", "performance_insights_retention_period")):
        changes.update(insights_args(want))
    if changes:
        rds.modify_db_instance(aws_retry=True, DBInstanceIdentifier=want["identifier"], ApplyImmediately=True, **changes)
    retag_rds(rds, instance["DBInstanceArn"], *tag_diff(have["tags"], instance_tags(module.params, spec), module.params["purge_tags"]))


def delete(rds, identifier):
    try:
        rds.delete_db_instance(aws_retry=True, DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
    except is_boto3_error_code(["DBInstanceNotFound", "InvalidDBInstanceState"]):
        pass  # a delete resent after its answer was lost, or one already deleting


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster_identifier=dict(type="str", required=True),
            instances=dict(type="list", elements="dict", required=True, options=dict(
                identifier=dict(type="str", required=True),
                availability_zone=dict(type="str"),
                promotion_tier=dict(type="int", default=1),
                tags=dict(type="dict", default={}),
                state=dict(type="str", default="present", choices=["present", "absent"]),
            )),
            engine=dict(type="str", default="aurora-postgresql"),
            instance_class=dict(type="str", default="db.serverless"),
            monitoring_interval=dict(type="int", default=0, choices=[0, 1, 5, 10, 15, 30, 60]),
            monitoring_role_arn=dict(type="str", default=""),
            performance_insights=dict(type="bool", default=False),
            performance_insights_kms_key_id=dict(type="str", default="", no_log=False),
            performance_insights_retention_period=dict(type="int", default=7),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["monitoring_interval"] and not p["monitoring_role_arn"]:
        module.fail_json(msg=f"monitoring_interval is {p['monitoring_interval']}: monitoring_role_arn is needed (or monitoring_interval 0)")
    rds = client(module, "rds")
    before, after, found, changed = [], [], {}, False
    with aws_errors(module, f"the instances of {p['cluster_identifier']}"):
        listed = {i["DBInstanceIdentifier"]: i for i in paginate(
            rds, "describe_db_instances", "DBInstances", Filters=[{"Name": "db-cluster-id", "Values": [p["cluster_identifier"]]}])}
        for spec in p["instances"]:
            instance = listed.get(spec["identifier"])
            if instance and instance.get("DBInstanceStatus") in GONE and spec["state"] == "present":
                module.fail_json(msg=f"{spec['identifier']} is being deleted: rerun once it is gone, to create it again")
            current = view(instance) if instance and instance.get("DBInstanceStatus") not in GONE else None
            if current:
                before.append(current)
            if spec["state"] == "absent":
                if current:
                    changed = True
                    if not module.check_mode:
                        delete(rds, spec["identifier"])
                continue
            want = wanted(p, spec, current)
            after.append(want)
            if current == want:
                found[spec["identifier"]] = returned(instance)
                continue
            changed = True
            if module.check_mode:
                found[spec["identifier"]] = returned(instance) if current else {"arn": None, "status": "creating"}
            elif current:
                update(module, rds, spec, instance, want)
                found[spec["identifier"]] = returned(describe_one(rds, spec["identifier"]))
            else:
                found[spec["identifier"]] = returned(create(module, rds, spec, want))
    exit_with(module, changed, before, after, kind="instances", instances=found)


if __name__ == "__main__":
    main()
