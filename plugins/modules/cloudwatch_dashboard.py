#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudwatch_dashboard
short_description: A CloudWatch dashboard
version_added: 0.1.0
description:
  - Ensures the dashboard O(name) has the body O(body); written only when it differs.
  - amazon.aws 10.1 and community.aws 10.0 have no module for CloudWatch dashboards; hence this one.
options:
  name:
    description: Dashboard name.
    type: str
    required: true
  body:
    description: The dashboard body (C(widgets), ...), as a mapping.
    type: dict
  state:
    description: Whether the dashboard should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - stream_sales.platform.attributes
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Dashboard
  stream_sales.platform.cloudwatch_dashboard:
    name: stream-sales-production
    body:
      widgets:
        - type: metric
          x: 0
          y: 0
          width: 12
          height: 6
          properties:
            title: Server errors
            region: us-east-1
            metrics: [[AWS/Lambda, Errors, FunctionName, stream-sales-production-server]]
"""

RETURN = r"""
dashboard_arn:
  description: The dashboard's ARN (empty when absent).
  returned: always
  type: str
"""

import json

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import aws_errors
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import converge
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import exit_with
from ansible_collections.stream_sales.platform.plugins.module_utils.resource import with_state


def main():
    module = AnsibleAWSModule(
        argument_spec=with_state(name=dict(type="str", required=True), body=dict(type="dict")),
        required_if=[("state", "present", ["body"])],
        supports_check_mode=True,
    )
    p = module.params
    cw = client(module, "cloudwatch")
    arn = ""

    def create():
        res = cw.put_dashboard(aws_retry=True, DashboardName=p["name"], DashboardBody=json.dumps(p["body"]))
        if res.get("DashboardValidationMessages"):
            module.fail_json(msg="CloudWatch rejected the dashboard body", messages=res["DashboardValidationMessages"])
        return p["body"]

    with aws_errors(module, f"dashboard {p['name']}"):
        try:
            found = cw.get_dashboard(aws_retry=True, DashboardName=p["name"])
            current, arn = json.loads(found["DashboardBody"]), found["DashboardArn"]
        except is_boto3_error_code("ResourceNotFound"):
            current = None
        changed, after = converge(module, current, p["body"] if p["state"] == "present" else None, create=create,
                                  update=lambda current: create(),
                                  delete=lambda current: cw.delete_dashboards(aws_retry=True, DashboardNames=[p["name"]]))
        if after is None:
            arn = ""
        elif changed and not arn and not module.check_mode:
            arn = cw.get_dashboard(aws_retry=True, DashboardName=p["name"])["DashboardArn"]
    exit_with(module, changed, current, after, dashboard_arn=arn)


if __name__ == "__main__":
    main()
