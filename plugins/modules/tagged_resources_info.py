#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tagged_resources_info
short_description: Find every resource of an environment, tagged or left behind untagged
version_added: 0.1.0
description:
  - Lists what carries all the tags O(tags) through the Resource Groups Tagging API
    (C(GetResources)), and adds what that API misses through per-service listings.
  - Elastic IPs carrying the tags (C(DescribeAddresses)).
  - Network interfaces that Lambda left in the VPCs carrying the tags (description
    C(AWS Lambda VPC ENI*)); Lambda does not tag them.
  - DB cluster snapshots, manual and automated, carrying the tags (C(DescribeDBClusterSnapshots)).
  - Log groups whose names start with one of O(log_group_prefixes); Lambda creates
    C(/aws/lambda/<function>) by itself, untagged, when a function first logs.
  - Read-only. The teardown hands the result to M(stream_sales.platform.tagged_resource_sweep).
options:
  tags:
    description: Tags a resource must carry, all of them (e.g. C(Project) and C(Environment)).
    type: dict
    required: true
  resource_types:
    description:
      - Only these types, as the Tagging API names them, C(service) or C(service:type),
        e.g. C(ec2:network-interface), C(rds:cluster-snapshot), C(logs).
      - Empty means every type.
    type: list
    elements: str
    default: []
  log_group_prefixes:
    description: Log group name prefixes to list, tagged or not.
    type: list
    elements: str
    default: []
  exclude:
    description: Regular expressions; a resource whose ARN matches one is left out (handled elsewhere).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    description: Read-only; runs the same in check mode.
    support: full
  diff_mode:
    description: Nothing to compare.
    support: none
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Everything still tagged for dev, and what Lambda left untagged
  stream_sales.platform.tagged_resources_info:
    tags:
      Project: StreamSales
      Environment: dev
    log_group_prefixes: [/aws/lambda/stream-sales-dev-]
    exclude: ['^arn:aws:dynamodb:[^:]*:[0-9]*:table/stream-sales-dev-locks$']
  register: found

- name: Only the network interfaces Lambda left in the VPC
  stream_sales.platform.tagged_resources_info:
    tags: {Project: StreamSales, Environment: dev}
    resource_types: [ec2:network-interface]
  register: enis
"""

RETURN = r"""
arns:
  description: The ARNs found, sorted.
  returned: always
  type: list
  elements: str
resources:
  description: What was found, sorted by ARN.
  returned: always
  type: list
  elements: dict
  contains:
    arn:
      description: The resource's ARN.
      type: str
    service:
      description: The service part of the ARN (C(ec2), C(rds), ...).
      type: str
    type:
      description: The type, as the Tagging API names it (C(ec2:network-interface), C(s3), ...).
      type: str
    id:
      description: The resource part of the ARN after its type (an ID or a name).
      type: str
    found_by:
      description: Which listings found it (C(tagging_api), C(addresses), C(lambda_enis), C(cluster_snapshots), C(log_groups)).
      type: list
      elements: str
"""

import re

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client, paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.resource_arns import normalize, parse_arn

LAMBDA_ENI_DESCRIPTION = "AWS Lambda VPC ENI*"


def wanted(kind, filters):
    if not filters:
        return True
    return any(kind == f or kind.startswith(f + ":") or kind.split(":", 1)[0] == f for f in filters)


def tag_match(tag_list, tags, key="Key", value="Value"):
    have = {t[key]: t[value] for t in tag_list or []}
    return all(have.get(k) == v for k, v in tags.items())


class Finder:
    def __init__(self, module):
        self.module = module
        self.tags = {k: str(v) for k, v in module.params["tags"].items()}
        self.types = module.params["resource_types"]
        self.found = {}
        self._identity = None

    def add(self, arn, source):
        arn = normalize(arn)
        service, kind, ident = parse_arn(arn)
        if not wanted(kind, self.types):
            return
        entry = self.found.setdefault(arn, dict(arn=arn, service=service, type=kind, id=ident, found_by=[]))
        if source not in entry["found_by"]:
            entry["found_by"].append(source)

    def arn_prefix(self, service):
        if self._identity is None:
            self._identity = client(self.module, "sts").get_caller_identity(aws_retry=True)
        partition = self._identity["Arn"].split(":")[1]
        return f"arn:{partition}:{service}:{self.module.region}:{self._identity['Account']}"

    def ec2_filters(self):
        return [{"Name": f"tag:{k}", "Values": [v]} for k, v in self.tags.items()]

    def tagging_api(self):
        kwargs = dict(TagFilters=[{"Key": k, "Values": [v]} for k, v in self.tags.items()])
        if self.types:
            kwargs["ResourceTypeFilters"] = self.types
        tagging = client(self.module, "resourcegroupstaggingapi")
        for item in paginate(tagging, "get_resources", "ResourceTagMappingList", **kwargs):
            self.add(item["ResourceARN"], "tagging_api")

    def addresses(self):
        if not wanted("ec2:elastic-ip", self.types):
            return
        ec2 = client(self.module, "ec2")
        for address in ec2.describe_addresses(aws_retry=True, Filters=self.ec2_filters()).get("Addresses", []):
            if address.get("AllocationId"):
                self.add(f"{self.arn_prefix('ec2')}:elastic-ip/{address['AllocationId']}", "addresses")

    def lambda_enis(self):
        if not wanted("ec2:network-interface", self.types):
            return
        ec2 = client(self.module, "ec2")
        vpcs = paginate(ec2, "describe_vpcs", "Vpcs", Filters=self.ec2_filters())
        if not vpcs:
            return
        enis = paginate(ec2, "describe_network_interfaces", "NetworkInterfaces", Filters=[
            {"Name": "vpc-id", "Values": [v["VpcId"] for v in vpcs]},
            {"Name": "description", "Values": [LAMBDA_ENI_DESCRIPTION]},
        ])
        for eni in enis:
            self.add(f"{self.arn_prefix('ec2')}:network-interface/{eni['NetworkInterfaceId']}", "lambda_enis")

    def cluster_snapshots(self):
        if not wanted("rds:cluster-snapshot", self.types):
            return
        rds = client(self.module, "rds")
        for kind in ("manual", "automated"):
            for snap in paginate(rds, "describe_db_cluster_snapshots", "DBClusterSnapshots", SnapshotType=kind):
                if tag_match(snap.get("TagList"), self.tags):
                    self.add(snap["DBClusterSnapshotArn"], "cluster_snapshots")

    def log_groups(self):
        if not wanted("logs:log-group", self.types):
            return
        logs = client(self.module, "logs")
        for prefix in self.module.params["log_group_prefixes"]:
            for group in paginate(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=prefix):
                self.add(group["arn"], "log_groups")


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            tags=dict(type="dict", required=True),
            resource_types=dict(type="list", elements="str", default=[]),
            log_group_prefixes=dict(type="list", elements="str", default=[]),
            exclude=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    if not module.params["tags"]:
        module.fail_json(msg="tags is empty; name at least one tag, or every resource of the account would be listed.")
    try:
        excludes = [re.compile(p) for p in module.params["exclude"]]
    except re.error as e:
        module.fail_json(msg=f"exclude holds an invalid regular expression: {e}")
    finder = Finder(module)
    try:
        finder.tagging_api()
        finder.addresses()
        finder.lambda_enis()
        finder.cluster_snapshots()
        finder.log_groups()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Cannot list the resources of the environment")
    resources = [r for arn, r in sorted(finder.found.items()) if not any(p.search(arn) for p in excludes)]
    module.exit_json(changed=False, resources=resources, arns=[r["arn"] for r in resources])


if __name__ == "__main__":
    main()
