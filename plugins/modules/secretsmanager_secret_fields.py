#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: secretsmanager_secret_fields
short_description: Set non-secret fields of a JSON secret, leaving the rest of its value alone
version_added: 0.1.0
description:
  - Sets O(fields) (e.g. C(host), C(port), C(engine), C(dbname) of database credentials) in the
    JSON value of the secret O(secret_id), as CDK's secret attachment does, without touching its
    other keys (the password).
  - Reads the current value (C(GetSecretValue)), merges, and writes a new version
    (C(PutSecretValue)) only when a field differs, so a rerun changes nothing.
  - The secret's value never appears in the result, diff or errors; only the fields set do.
  - Why not upstream - M(amazon.aws.secretsmanager_secret) (10.1) replaces the whole value, given as
    a parameter, so the password would pass through Ansible.
options:
  secret_id:
    description: ARN or name of the secret; its value must be a JSON object.
    type: str
    required: true
  fields:
    description:
      - Keys and values to set. They are not secret (they are shown in the diff).
      - Values are stored as given; give strings where consumers expect strings (CDK stores C(port) as a string).
    type: dict
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - stream_sales.platform.attributes
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Point the database secret at the cluster
  stream_sales.platform.secretsmanager_secret_fields:
    secret_id: stream-sales/dev/database/credentials
    fields:
      host: stream-sales-dev-cluster.cluster-abc.us-east-1.rds.amazonaws.com
      port: "5432"
      engine: postgres
      dbname: streams
"""

RETURN = r"""
secret:
  description: The secret's ARN and the fields this module manages (never the other keys).
  returned: always
  type: dict
  contains:
    arn:
      description: Its ARN.
      type: str
    fields:
      description: The managed fields after the run.
      type: dict
    changed_fields:
      description: Names of the fields this run changed.
      type: list
      elements: str
"""

import json
import re

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client

ABSENT = "(not set)"
SECRET_KEY = re.compile("password|secret|token|key", re.I)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            secret_id=dict(type="str", required=True),
            fields=dict(type="dict", required=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    sm = client(module, "secretsmanager")
    try:
        current = sm.get_secret_value(aws_retry=True, SecretId=p["secret_id"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Cannot read secret {p['secret_id']}")
    try:
        value = json.loads(current.get("SecretString") or "")
        if not isinstance(value, dict):
            raise ValueError
    except ValueError:
        # Say nothing about the value itself: it is secret.
        module.fail_json(msg=f"Secret {p['secret_id']} does not hold a JSON object; its fields cannot be set.")
    for key, val in value.items():
        if key not in p["fields"] and isinstance(val, str) and val and SECRET_KEY.search(key):
            module.no_log_values.add(val)  # masked even if a later change ever echoed it
    before = {k: value.get(k, ABSENT) for k in p["fields"]}
    changed_fields = sorted(k for k, v in p["fields"].items() if k not in value or value[k] != v)
    if changed_fields and not module.check_mode:
        value.update(p["fields"])
        try:
            sm.put_secret_value(aws_retry=True, SecretId=current["ARN"], SecretString=json.dumps(value))
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Cannot write the fields {', '.join(changed_fields)} of secret {p['secret_id']}")
    after = dict(p["fields"])
    result = dict(changed=bool(changed_fields),
                  secret=dict(arn=current["ARN"], fields=after, changed_fields=changed_fields))
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
