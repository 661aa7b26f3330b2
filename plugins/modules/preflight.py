#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: preflight
short_description: Check the deployment's variables against each other before any AWS call
version_added: 0.1.0
description:
  - Runs on the controller (an action plugin); it makes no AWS call and changes nothing.
  - Checks the cross-field rules that role argument specs cannot express, and fails with one
    line per violation, each naming the variable and what is allowed.
  - Refuses every variable of the run that carries one of the collection's prefixes (a role's name,
    or a playbook's - migrate_, rotate_, app_, stream_sales_, aws_, ...) but is declared nowhere (no
    argument spec, role default or role variable), naming the closest declared one
    (C(did you mean aurora_max_capacity?)); an C(-e) variable without such a prefix only when it is a
    near miss of a declared name.
  - "Rules: known environment and region; VPC CIDR between /16 and /24 with room for three /24
    tiers in every AZ; AZ count within what the region offers; NAT count between 1 and the AZ
    count; Aurora ACU bounds (0-256 in 0.5 steps, min <= max, auto-pause only with min 0);
    e-mail syntax; production without deletion protection only with an explicit override;
    teardown of staging or production only with its confirmation; C(stream_sales_prefix) fit to start
    S3 bucket and RDS names; C(outputs_path) an SSM parameter path; C(aws_account_id) 12 digits,
    required for staging and production; C(aws_assume_role_arn) a role of that account;
    C(lock_ttl_seconds) at least 60; for a deploy, the OpenNext build (C(app_build_dir)) read and checked."
options:
  values:
    description: 'Variable name to value, e.g. C({"network_az_count": 3, "aws_region": "us-east-1"}).'
    type: dict
    required: true
  durations:
    description: Durations (variables named C(*_seconds), C(*_timeout), C(*_days)) to refuse when negative.
    type: dict
    default: {}
  check_names:
    description: Refuse variables with the collection's prefixes that nothing declares.
    type: bool
    default: true
attributes:
  check_mode:
    description: Can run in check mode and report what would change without changing it.
    support: full
  diff_mode:
    description: Returns before and after states in diff mode.
    support: none
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Check variables before the first AWS call
  stream_sales.platform.preflight:
    values:
      operation: deploy
      stream_sales_env: "{{ stream_sales_env }}"
      aws_region: "{{ aws_region }}"
      network_az_count: "{{ network_az_count }}"
"""

RETURN = r"""
errors:
  description: The rule violations found, one message each.
  returned: always
  type: list
  elements: str
"""
