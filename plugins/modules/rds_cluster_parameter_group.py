#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rds_cluster_parameter_group
short_description: An Aurora cluster parameter group with the values of the parameters it names, read once
version_added: 0.2.0
description:
  - Creates the cluster parameter group O(name) of O(family), or brings the values of the
    parameters O(parameters) names and its tags to what is asked (parameters it does not name
    are left alone); with O(state=absent), deletes it. Its family and description cannot change
    in place; asking for others is refused, never replaced.
  - Compares values only. AWS reports every parameter's C(ApplyMethod) as C(pending-reboot)
    whatever was sent, so comparing it never converges.
  - Upstream lacks this (measured with amazon.aws 10.1 C(rds_cluster_param_group)) - a no-change
    run reads C(DescribeDBClusterParameterGroups) twice and C(ListTagsForResource) twice (here
    once each, and the group's user-set parameters once), it compares the apply method (an
    C(immediate) parameter never converges), and a C(CreateDBClusterParameterGroup) resent after
    its answer was lost fails with C(DBParameterGroupAlreadyExists); here the group is adopted.
options:
  name:
    description: The group's name.
    type: str
    required: true
  family:
    description: Its parameter group family, e.g. C(aurora-postgresql16). Required with O(state=present).
    type: str
  description:
    description: Its description.
    type: str
    default: ""
  parameters:
    description: Parameter names and the values they must have.
    type: dict
    default: {}
  apply_method:
    description: How changed parameters are applied (a dynamic parameter applies at once either way).
    type: str
    default: pending-reboot
    choices: [immediate, pending-reboot]
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
- name: SSL only
  stream_sales.platform.rds_cluster_parameter_group:
    name: stream-sales-production-db-params
    family: aurora-postgresql16
    description: Stream Sales production cluster parameters
    parameters: {rds.force_ssl: "1"}
    tags: {Project: StreamSales}
"""

RETURN = r"""
parameter_group:
  description: The group after the run (name, arn, family); empty when absent.
  returned: always
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client, paginate, retag_rds, tag_diff, tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors, converge, exit_with

NOT_FOUND = "DBParameterGroupNotFound"


def find(rds, name, names):
    """(view, arn) of the group with the values of the parameters named, or (None, None)."""
    try:
        group = rds.describe_db_cluster_parameter_groups(aws_retry=True, DBClusterParameterGroupName=name)["DBClusterParameterGroups"][0]
    except is_boto3_error_code(NOT_FOUND):
        return None, None
    values = {q["ParameterName"]: q.get("ParameterValue") for q in paginate(
        rds, "describe_db_cluster_parameters", "Parameters", DBClusterParameterGroupName=name, Source="user")}
    tags = rds.list_tags_for_resource(aws_retry=True, ResourceName=group["DBClusterParameterGroupArn"])["TagList"]
    return {"name": name, "family": group["DBParameterGroupFamily"], "description": group.get("Description", ""),
            "parameters": {k: values.get(k) for k in names}, "tags": boto3_tag_list_to_ansible_dict(tags)}, group["DBClusterParameterGroupArn"]


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            family=dict(type="str"),
            description=dict(type="str", default=""),
            parameters=dict(type="dict", default={}),
            apply_method=dict(type="str", default="pending-reboot", choices=["immediate", "pending-reboot"]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["family"])],
        supports_check_mode=True,
    )
    p = module.params
    rds = client(module, "rds")
    names = sorted(p["parameters"])
    arn = {}

    def update(current):
        for key in ("family", "description"):
            if current[key] != wanted[key]:
                module.fail_json(msg=f"cluster parameter group {p['name']}: its {key} is {current[key]!r} and cannot change in place "
                                     f"(asked: {wanted[key]!r})")
        changes = [{"ParameterName": k, "ParameterValue": wanted["parameters"][k], "ApplyMethod": p["apply_method"]}
                   for k in names if current["parameters"].get(k) != wanted["parameters"][k]]
        for start in range(0, len(changes), 20):  # at most 20 parameters per call
            rds.modify_db_cluster_parameter_group(aws_retry=True, DBClusterParameterGroupName=p["name"], Parameters=changes[start:start + 20])
        retag_rds(rds, arn["arn"], *tag_diff(current["tags"], p["tags"], p["purge_tags"]))
        return wanted

    def create():
        try:
            arn["arn"] = rds.create_db_cluster_parameter_group(
                aws_retry=True, DBClusterParameterGroupName=p["name"], DBParameterGroupFamily=p["family"],
                Description=p["description"], Tags=ansible_dict_to_boto3_tag_list(p["tags"] or {}))["DBClusterParameterGroup"]["DBClusterParameterGroupArn"]
        except is_boto3_error_code("DBParameterGroupAlreadyExists"):
            pass  # a create resent after its answer was lost: the group is ours, converged as a rerun would
        current, arn["arn"] = find(rds, p["name"], names)
        return update(current)

    def delete(_current):
        try:
            rds.delete_db_cluster_parameter_group(aws_retry=True, DBClusterParameterGroupName=p["name"])
        except is_boto3_error_code(NOT_FOUND):
            pass  # a delete resent after its answer was lost

    with aws_errors(module, f"cluster parameter group {p['name']}"):
        current, arn["arn"] = find(rds, p["name"], names)
        wanted = None if p["state"] == "absent" else {
            "name": p["name"], "family": p["family"], "description": p["description"],
            "parameters": {k: str(p["parameters"][k]) for k in names},
            "tags": tags_after((current or {}).get("tags", {}), p["tags"], p["purge_tags"])}
        changed, after = converge(module, current, wanted, create=create, update=update, delete=delete)
    exit_with(module, changed, current, after, parameter_group={} if not after else {
        "name": p["name"], "arn": arn.get("arn"), "family": p["family"]})


if __name__ == "__main__":
    main()
