#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rds_db_subnet_group
short_description: An RDS DB subnet group with its subnets and tags, read once, a resent create adopted
version_added: 0.2.0
description:
  - Creates the DB subnet group O(name) on O(subnets), or brings its description, subnets and
    tags to what is asked; with O(state=absent), deletes it.
  - Upstream lacks this (measured with amazon.aws 10.1 C(rds_subnet_group)) - a no-change run
    reads C(DescribeDBSubnetGroups) twice and C(ListTagsForResource) twice (here once each), and
    a C(CreateDBSubnetGroup) resent after its answer was lost fails with
    C(DBSubnetGroupAlreadyExists); here the group is adopted and converged.
options:
  name:
    description: The group's name.
    type: str
    required: true
  description:
    description: Its description.
    type: str
    default: ""
  subnets:
    description: Its subnet IDs (in at least two availability zones). Required with O(state=present).
    type: list
    elements: str
    default: []
  state:
    description: Whether it exists.
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
- name: The database's subnet group on the isolated subnets
  stream_sales.platform.rds_db_subnet_group:
    name: stream-sales-production-db-subnets
    description: Stream Sales production database (isolated subnets)
    subnets: [subnet-0a, subnet-0b]
    tags: {Project: StreamSales}
"""

RETURN = r"""
subnet_group:
  description: The group after the run (name, arn, vpc_id, subnets); empty when absent.
  returned: always
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client, retag_rds, tag_diff, tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors, converge, exit_with


def find(rds, name):
    """(view, group) of the group, or (None, None)."""
    try:
        group = rds.describe_db_subnet_groups(aws_retry=True, DBSubnetGroupName=name)["DBSubnetGroups"][0]
    except is_boto3_error_code("DBSubnetGroupNotFoundFault"):
        return None, None
    tags = rds.list_tags_for_resource(aws_retry=True, ResourceName=group["DBSubnetGroupArn"])["TagList"]
    return {"name": name, "description": group.get("DBSubnetGroupDescription", ""),
            "subnets": sorted(s["SubnetIdentifier"] for s in group.get("Subnets", [])),
            "tags": boto3_tag_list_to_ansible_dict(tags)}, group


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            description=dict(type="str", default=""),
            subnets=dict(type="list", elements="str", default=[]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["subnets"])],
        supports_check_mode=True,
    )
    p = module.params
    rds = client(module, "rds")
    found = {}

    def update(current):
        group = found["group"]
        if (current["description"], current["subnets"]) != (wanted["description"], wanted["subnets"]):
            rds.modify_db_subnet_group(aws_retry=True, DBSubnetGroupName=p["name"], DBSubnetGroupDescription=p["description"],
                                       SubnetIds=p["subnets"])
        retag_rds(rds, group["DBSubnetGroupArn"], *tag_diff(current["tags"], p["tags"], p["purge_tags"]))
        view, found["group"] = find(rds, p["name"])
        return view

    def create():
        try:
            found["group"] = rds.create_db_subnet_group(
                aws_retry=True, DBSubnetGroupName=p["name"], DBSubnetGroupDescription=p["description"], SubnetIds=p["subnets"],
                Tags=ansible_dict_to_boto3_tag_list(p["tags"] or {}))["DBSubnetGroup"]
        except is_boto3_error_code("DBSubnetGroupAlreadyExists"):
            # A create resent after its answer was lost: the group is ours, converged as a rerun would.
            current, found["group"] = find(rds, p["name"])
            return update(current)
        return wanted

    def delete(_current):
        try:
            rds.delete_db_subnet_group(aws_retry=True, DBSubnetGroupName=p["name"])
        except is_boto3_error_code("DBSubnetGroupNotFoundFault"):
            pass  # a delete resent after its answer was lost

    with aws_errors(module, f"DB subnet group {p['name']}"):
        current, found["group"] = find(rds, p["name"])
        wanted = None if p["state"] == "absent" else {
            "name": p["name"], "description": p["description"], "subnets": sorted(p["subnets"]),
            "tags": tags_after((current or {}).get("tags", {}), p["tags"], p["purge_tags"])}
        changed, after = converge(module, current, wanted, create=create, update=update, delete=delete)
    group = found.get("group") if after else None
    exit_with(module, changed, current, after, subnet_group={} if not after else {
        "name": p["name"], "arn": (group or {}).get("DBSubnetGroupArn"), "vpc_id": (group or {}).get("VpcId"),
        "subnets": after["subnets"]})


if __name__ == "__main__":
    main()
