#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rds_cluster_instance
short_description: An instance (writer or reader) of an Aurora cluster
version_added: 0.1.0
description:
  - Ensures the DB instance O(identifier) in the Aurora cluster O(cluster_identifier), e.g. a
    C(db.serverless) writer or reader, with enhanced monitoring and Performance Insights.
  - Its settings are modified in place (C(ModifyDBInstance), C(ApplyImmediately)); the
    availability zone cannot change and is only set at creation.
  - Unlike M(amazon.aws.rds_instance), it manages only what a cluster member has of its own
    (class, AZ, promotion tier, monitoring, Performance Insights, tags); storage, network and
    backups belong to the cluster.
  - O(wait=false) returns as soon as AWS accepted the creation.
options:
  identifier:
    description: The instance identifier.
    type: str
    required: true
  cluster_identifier:
    description: Its cluster. Required with O(state=present).
    type: str
  engine:
    description: The cluster's engine.
    type: str
    default: aurora-postgresql
  instance_class:
    description: Instance class.
    type: str
    default: db.serverless
  availability_zone:
    description: AZ to create it in (fixed afterwards).
    type: str
  promotion_tier:
    description: Failover priority (0 highest to 15).
    type: int
    default: 1
  monitoring_interval:
    description: Enhanced monitoring interval in seconds (0 = off).
    type: int
    choices: [0, 1, 5, 10, 15, 30, 60]
    default: 0
  monitoring_role_arn:
    description: Role that lets RDS publish enhanced monitoring. Required when O(monitoring_interval) > 0.
    type: str
  performance_insights:
    description: Enable Performance Insights.
    type: bool
    default: false
  performance_insights_retention_period:
    description: Days Performance Insights data is kept (7 is the free tier).
    type: int
    default: 7
  auto_minor_version_upgrade:
    description: Apply minor engine upgrades in the maintenance window.
    type: bool
    default: true
  state:
    description: Whether the instance should exist.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - With O(state=present), wait until the instance is C(available).
      - With O(state=absent), wait until it is gone (its cluster can only be deleted then).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 1800
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
- name: Serverless v2 writer with enhanced monitoring and Performance Insights
  stream_sales.platform.rds_cluster_instance:
    identifier: stream-sales-production-writer
    cluster_identifier: stream-sales-production-cluster
    availability_zone: us-east-1a
    promotion_tier: 0
    monitoring_interval: 60
    monitoring_role_arn: arn:aws:iam::123456789012:role/stream-sales-production-rds-monitoring
    performance_insights: true
"""

RETURN = r"""
instance:
  description: The instance (empty when absent).
  returned: always
  type: dict
  contains:
    identifier:
      description: Its identifier.
      type: str
    status:
      description: creating, available, modifying, deleting, ...
      type: str
    availability_zone:
      description: Its AZ (once AWS has placed it).
      type: str
    instance_class:
      description: Its class.
      type: str
"""

import time

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tag_diff
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.emulator import instance_performance_insights_state


def get_instance(rds, identifier):
    try:
        return rds.describe_db_instances(aws_retry=True, DBInstanceIdentifier=identifier)["DBInstances"][0]
    except is_boto3_error_code("DBInstanceNotFound"):
        return None


def describe(module, instance):
    if not instance:
        return {}
    return {
        "identifier": instance["DBInstanceIdentifier"],
        "cluster_identifier": instance.get("DBClusterIdentifier"),
        "arn": instance.get("DBInstanceArn"),
        "status": instance.get("DBInstanceStatus"),
        "engine": instance.get("Engine"),
        "instance_class": instance.get("DBInstanceClass"),
        "availability_zone": instance.get("AvailabilityZone"),
        "promotion_tier": instance.get("PromotionTier"),
        "monitoring_interval": instance.get("MonitoringInterval", 0),
        "monitoring_role_arn": instance.get("MonitoringRoleArn"),
        "performance_insights": instance_performance_insights_state(module, instance.get("PerformanceInsightsEnabled")),
        "auto_minor_version_upgrade": instance.get("AutoMinorVersionUpgrade"),
        "tags": boto3_tag_list_to_ansible_dict(instance.get("TagList", [])),
    }


def wait_for(module, rds, identifier, until):
    deadline = time.monotonic() + module.params["wait_timeout"]
    while True:
        instance = get_instance(rds, identifier)
        if until(instance):
            return instance
        if time.monotonic() > deadline:
            module.fail_json(msg=f"Timed out after {module.params['wait_timeout']}s waiting for instance {identifier} "
                                 f"(status {instance.get('DBInstanceStatus') if instance else 'gone'})")
        time.sleep(10)


def is_available(instance):
    return instance is not None and instance.get("DBInstanceStatus") == "available"


def ensure_present(module, rds):
    p = module.params
    instance = get_instance(rds, p["identifier"])
    want = {
        "identifier": p["identifier"], "cluster_identifier": p["cluster_identifier"], "engine": p["engine"],
        "instance_class": p["instance_class"], "promotion_tier": p["promotion_tier"],
        "monitoring_interval": p["monitoring_interval"],
        "monitoring_role_arn": p["monitoring_role_arn"] if p["monitoring_interval"] else None,
        "performance_insights": p["performance_insights"],
        "auto_minor_version_upgrade": p["auto_minor_version_upgrade"],
    }
    if instance is None:
        planned = dict(want, availability_zone=p["availability_zone"], tags=p["tags"] or {}, status="creating")
        if module.check_mode:
            return True, {}, planned
        kwargs = dict(
            DBInstanceIdentifier=p["identifier"], DBClusterIdentifier=p["cluster_identifier"], Engine=p["engine"],
            DBInstanceClass=p["instance_class"], PromotionTier=p["promotion_tier"],
            MonitoringInterval=p["monitoring_interval"], EnablePerformanceInsights=p["performance_insights"],
            AutoMinorVersionUpgrade=p["auto_minor_version_upgrade"], PubliclyAccessible=False,
        )
        if p["availability_zone"]:
            kwargs["AvailabilityZone"] = p["availability_zone"]
        if p["monitoring_interval"]:
            kwargs["MonitoringRoleArn"] = p["monitoring_role_arn"]
        if p["performance_insights"]:
            kwargs["PerformanceInsightsRetentionPeriod"] = p["performance_insights_retention_period"]
        if p["tags"]:
            kwargs["Tags"] = ansible_dict_to_boto3_tag_list(p["tags"])
        instance = rds.create_db_instance(aws_retry=True, **kwargs)["DBInstance"]
        if p["wait"]:
            instance = wait_for(module, rds, p["identifier"], is_available)
        return True, {}, describe(module, instance)

    before = describe(module, instance)
    if before["cluster_identifier"] != p["cluster_identifier"]:
        module.fail_json(msg=f"Instance {p['identifier']} belongs to cluster {before['cluster_identifier']}, "
                             f"not {p['cluster_identifier']}; delete it first.")
    modify = {}
    if want["instance_class"] != before["instance_class"]:
        modify["DBInstanceClass"] = want["instance_class"]
    if want["promotion_tier"] != before["promotion_tier"]:
        modify["PromotionTier"] = want["promotion_tier"]
    monitoring_before = (before["monitoring_interval"] or 0,
                         before["monitoring_role_arn"] if before["monitoring_interval"] else None)
    if (want["monitoring_interval"], want["monitoring_role_arn"]) != monitoring_before:
        modify["MonitoringInterval"] = want["monitoring_interval"]
        if want["monitoring_interval"]:
            modify["MonitoringRoleArn"] = want["monitoring_role_arn"]
    if want["performance_insights"] != bool(before["performance_insights"]):
        modify["EnablePerformanceInsights"] = want["performance_insights"]
        if want["performance_insights"]:
            modify["PerformanceInsightsRetentionPeriod"] = p["performance_insights_retention_period"]
    if want["auto_minor_version_upgrade"] != before["auto_minor_version_upgrade"]:
        modify["AutoMinorVersionUpgrade"] = want["auto_minor_version_upgrade"]
    to_set, to_remove = tag_diff(before["tags"], p["tags"], p["purge_tags"])
    after = dict(before, **{k: v for k, v in want.items() if k in before},
                 tags=tags_after(before["tags"], p["tags"], p["purge_tags"]))
    changed = bool(modify or to_set or to_remove)
    if module.check_mode:
        return changed, before, after
    if modify:
        if not is_available(instance):
            instance = wait_for(module, rds, p["identifier"], is_available)
        rds.modify_db_instance(aws_retry=True, DBInstanceIdentifier=p["identifier"], ApplyImmediately=True, **modify)
    if to_remove:
        rds.remove_tags_from_resource(aws_retry=True, ResourceName=instance["DBInstanceArn"], TagKeys=to_remove)
    if to_set:
        rds.add_tags_to_resource(aws_retry=True, ResourceName=instance["DBInstanceArn"],
                                 Tags=ansible_dict_to_boto3_tag_list(to_set))
    if p["wait"] and (modify or not is_available(instance)):
        after["status"] = wait_for(module, rds, p["identifier"], is_available)["DBInstanceStatus"]
    return changed, before, after


def ensure_absent(module, rds):
    p = module.params
    instance = get_instance(rds, p["identifier"])
    if instance is None:
        return False, {}, {}
    before = describe(module, instance)
    changed = instance.get("DBInstanceStatus") != "deleting"
    if changed and not module.check_mode:
        if instance.get("DeletionProtection"):
            rds.modify_db_instance(aws_retry=True, DBInstanceIdentifier=p["identifier"], DeletionProtection=False,
                                   ApplyImmediately=True)
        # Aurora members have no snapshot of their own: the cluster's storage outlives them.
        rds.delete_db_instance(aws_retry=True, DBInstanceIdentifier=p["identifier"], SkipFinalSnapshot=True)
    if p["wait"] and not module.check_mode:
        wait_for(module, rds, p["identifier"], lambda i: i is None)
    return changed, before, {}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            identifier=dict(type="str", required=True),
            cluster_identifier=dict(type="str"),
            engine=dict(type="str", default="aurora-postgresql"),
            instance_class=dict(type="str", default="db.serverless"),
            availability_zone=dict(type="str"),
            promotion_tier=dict(type="int", default=1),
            monitoring_interval=dict(type="int", default=0, choices=[0, 1, 5, 10, 15, 30, 60]),
            monitoring_role_arn=dict(type="str"),
            performance_insights=dict(type="bool", default=False),
            performance_insights_retention_period=dict(type="int", default=7),
            auto_minor_version_upgrade=dict(type="bool", default=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=1800),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["cluster_identifier"])],
        supports_check_mode=True,
    )
    p = module.params
    if p["state"] == "present" and p["monitoring_interval"] and not p["monitoring_role_arn"]:
        module.fail_json(msg="monitoring_role_arn is required when monitoring_interval is above 0.")
    rds = client(module, "rds")
    try:
        if p["state"] == "present":
            changed, before, after = ensure_present(module, rds)
        else:
            changed, before, after = ensure_absent(module, rds)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage DB instance {p['identifier']}")
    result = dict(changed=changed, instance=after)
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
