#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rds_cluster_parameter_group
short_description: A DB cluster parameter group and the parameters it sets
version_added: 0.1.0
description:
  - Ensures the cluster parameter group O(name) of family O(family), with O(parameters) set.
    Parameters not listed keep the family's defaults.
  - Unlike M(amazon.aws.rds_cluster_parameter_group), check mode reports parameter changes of a
    group that does not exist yet, the diff shows the parameters, and a parameter the backend
    does not list yet (a fresh group on some backends) is set rather than refused.
options:
  name:
    description: Name of the group.
    type: str
    required: true
  family:
    description: Parameter group family, e.g. C(aurora-postgresql16). Required to create; fixed afterwards.
    type: str
  description:
    description: Description (fixed at creation).
    type: str
    default: ""
  parameters:
    description: Parameter name to value, e.g. C(rds.force_ssl) to C("1").
    type: dict
    default: {}
  apply_method:
    description: When AWS applies changed parameters.
    type: str
    choices: [immediate, pending-reboot]
    default: pending-reboot
  state:
    description: Whether the group should exist.
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
- name: Force SSL on every connection
  stream_sales.platform.rds_cluster_parameter_group:
    name: stream-sales-dev-cluster-params
    family: aurora-postgresql16
    description: Stream Sales dev cluster parameters
    parameters:
      rds.force_ssl: "1"
"""

RETURN = r"""
parameter_group:
  description: The group (empty when absent).
  returned: always
  type: dict
  contains:
    name:
      description: Its name.
      type: str
    arn:
      description: Its ARN.
      type: str
    family:
      description: Its family.
      type: str
    parameters:
      description: The managed parameters and their values.
      type: dict
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tag_diff
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after


def get_group(rds, name):
    try:
        return rds.describe_db_cluster_parameter_groups(
            aws_retry=True, DBClusterParameterGroupName=name)["DBClusterParameterGroups"][0]
    except is_boto3_error_code(["DBParameterGroupNotFound", "DBClusterParameterGroupNotFound"]):
        return None


def current_values(rds, name, wanted):
    params = paginate(rds, "describe_db_cluster_parameters", "Parameters", DBClusterParameterGroupName=name)
    return {p["ParameterName"]: p.get("ParameterValue") for p in params if p["ParameterName"] in wanted}


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
        supports_check_mode=True,
    )
    p = module.params
    wanted = {k: str(v) for k, v in p["parameters"].items()}
    rds = client(module, "rds")
    try:
        group = get_group(rds, p["name"])
        if p["state"] == "absent":
            before = {"name": group["DBClusterParameterGroupName"]} if group else {}
            if group and not module.check_mode:
                rds.delete_db_cluster_parameter_group(aws_retry=True, DBClusterParameterGroupName=p["name"])
            result = dict(changed=bool(group), parameter_group={})
            if module._diff:
                result["diff"] = dict(before=before, after={})
            module.exit_json(**result)

        if group is None:
            if not p["family"]:
                module.fail_json(msg=f"family is required to create cluster parameter group {p['name']}.")
            before, current, tags = {}, {}, {}
            after = {"name": p["name"], "family": p["family"], "description": p["description"],
                     "parameters": wanted, "tags": p["tags"] or {}}
            if not module.check_mode:
                kwargs = dict(DBClusterParameterGroupName=p["name"], DBParameterGroupFamily=p["family"],
                              Description=p["description"] or p["name"])
                if p["tags"]:
                    kwargs["Tags"] = ansible_dict_to_boto3_tag_list(p["tags"])
                group = rds.create_db_cluster_parameter_group(aws_retry=True, **kwargs)["DBClusterParameterGroup"]
            to_set = to_remove = None
        else:
            if p["family"] and p["family"] != group["DBParameterGroupFamily"]:
                module.fail_json(msg=f"Cluster parameter group {p['name']} is of family {group['DBParameterGroupFamily']}, "
                                     f"not {p['family']}; a family cannot change: use a new group name.")
            current = current_values(rds, p["name"], wanted)
            tags = boto3_tag_list_to_ansible_dict(
                rds.list_tags_for_resource(aws_retry=True, ResourceName=group["DBClusterParameterGroupArn"])["TagList"])
            before = {"name": p["name"], "family": group["DBParameterGroupFamily"],
                      "description": group.get("Description", ""), "parameters": current, "tags": tags}
            to_set, to_remove = tag_diff(tags, p["tags"], p["purge_tags"])
            after = dict(before, parameters=dict(current, **wanted), tags=tags_after(tags, p["tags"], p["purge_tags"]))
        changes = {k: v for k, v in wanted.items() if current.get(k) != v}
        changed = not before or bool(changes or to_set or to_remove)
        if not module.check_mode:
            if changes:
                items = [{"ParameterName": k, "ParameterValue": v, "ApplyMethod": p["apply_method"]}
                         for k, v in sorted(changes.items())]
                for i in range(0, len(items), 20):  # at most 20 parameters per call
                    rds.modify_db_cluster_parameter_group(
                        aws_retry=True, DBClusterParameterGroupName=p["name"], Parameters=items[i:i + 20])
            arn = group["DBClusterParameterGroupArn"]
            if to_remove:
                rds.remove_tags_from_resource(aws_retry=True, ResourceName=arn, TagKeys=to_remove)
            if to_set:
                rds.add_tags_to_resource(aws_retry=True, ResourceName=arn, Tags=ansible_dict_to_boto3_tag_list(to_set))
            after["arn"] = arn
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage cluster parameter group {p['name']}")
    result = dict(changed=changed, parameter_group=after)
    if module._diff:
        result["diff"] = dict(before=before, after={k: v for k, v in after.items() if k != "arn"})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
