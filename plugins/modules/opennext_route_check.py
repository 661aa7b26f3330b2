#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: opennext_route_check
short_description: Follow a distribution's behaviors for a path to its Lambda origin and fetch the deployed code
version_added: 0.1.0
description:
  - Finds the distribution whose comment is O(distribution), picks the first cache behavior whose
    pattern matches O(path) (else the default behavior), as CloudFront does, and resolves its origin's
    domain to the function whose URL (at O(qualifier)) it is.
  - Downloads that version's deployed code (GetFunction, C(Code.Location)) and unpacks it into O(dest),
    so that it can be run, e.g. with Node on an API Gateway v2 event.
  - Read-only; exists for C(verify.yml) against the emulator, which stores Lambda code but cannot run it.
options:
  distribution:
    description: The distribution's comment (its name).
    type: str
    required: true
  path:
    description: Request path, e.g. C(/api/health).
    type: str
    required: true
  function_prefix:
    description: Only functions whose name starts with this are considered.
    type: str
    required: true
  qualifier:
    description: Alias behind the function URLs.
    type: str
    default: live
  code_bucket:
    description: Bucket the bundles were staged in (the emulator serves the code from there).
    type: str
  code_prefix:
    description: Key prefix of the staged bundles in O(code_bucket) (M(stream_sales.platform.lambda_bundle)'s C(s3_prefix)).
    type: str
    default: _lambda
  dest:
    description: Folder to unpack the code into (emptied first).
    type: path
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
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
- name: Which code answers /api/health?
  stream_sales.platform.opennext_route_check:
    distribution: stream-sales-local
    path: /api/health
    function_prefix: stream-sales-local-
    dest: /tmp/health-code
"""

RETURN = r"""
behavior:
  description: The matching behavior's path pattern (C(*) for the default).
  returned: success
  type: str
origin:
  description: The origin ID.
  returned: success
  type: str
function:
  description: The function name.
  returned: success
  type: str
version:
  description: The version the qualifier points to.
  returned: success
  type: str
handler:
  description: The function's handler, e.g. C(index.handler).
  returned: success
  type: str
dest:
  description: Where the code was unpacked.
  returned: success
  type: str
environment:
  description: The version's environment variables (names and ARNs; our functions carry no secret values).
  returned: success
  type: dict
"""

import fnmatch
import io
import os
import re
import shutil
import zipfile
from urllib.parse import urlparse

from ansible.module_utils.urls import open_url

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils import emulator
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate


def pattern_matches(pattern, path):
    """CloudFront path patterns: case-sensitive, * and ? wildcards, leading slash optional."""
    regex = fnmatch.translate(pattern.lstrip("/"))
    return re.match(regex, path.lstrip("/")) is not None


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            distribution=dict(type="str", required=True),
            path=dict(type="str", required=True),
            function_prefix=dict(type="str", required=True),
            qualifier=dict(type="str", default="live"),
            code_bucket=dict(type="str"),
            code_prefix=dict(type="str", default="_lambda"),
            dest=dict(type="path", required=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    cf = client(module, "cloudfront")
    lam = client(module, "lambda")
    s3 = client(module, "s3")
    try:
        found, marker = [], None
        while True:
            page = cf.list_distributions(aws_retry=True, **({"Marker": marker} if marker else {}))["DistributionList"]
            found += [d for d in page.get("Items") or [] if d.get("Comment") == p["distribution"]]
            marker = page.get("NextMarker")
            if not marker:
                break
        if not found:
            module.fail_json(msg=f"No CloudFront distribution named {p['distribution']}")
        config = cf.get_distribution_config(aws_retry=True, Id=found[0]["Id"])["DistributionConfig"]
        behavior = next((b for b in (config.get("CacheBehaviors") or {}).get("Items") or []
                         if pattern_matches(b["PathPattern"], p["path"])), None)
        pattern = behavior["PathPattern"] if behavior else "*"
        origin_id = (behavior or config["DefaultCacheBehavior"])["TargetOriginId"]
        origin = next(o for o in config["Origins"]["Items"] if o["Id"] == origin_id)
        if not origin["DomainName"].endswith(".on.aws"):
            module.fail_json(msg=f"{p['path']} is served by behavior {pattern!r} from origin {origin_id} "
                                 f"({origin['DomainName']}), which is not a Lambda function URL")
        names = [f["FunctionName"] for f in paginate(lam, "list_functions", "Functions")
                 if f["FunctionName"].startswith(p["function_prefix"])]
        function = None
        for name in sorted(names):
            try:
                url = lam.get_function_url_config(aws_retry=True, FunctionName=name, Qualifier=p["qualifier"])["FunctionUrl"]
            except is_boto3_error_code("ResourceNotFoundException"):
                continue
            if urlparse(url).hostname == origin["DomainName"]:
                function = name
                break
        if function is None:
            module.fail_json(msg=f"Origin {origin_id} ({origin['DomainName']}) is no function URL of {p['function_prefix']}*:{p['qualifier']}")
        got = lam.get_function(aws_retry=True, FunctionName=function, Qualifier=p["qualifier"])
        location = got["Code"]["Location"]
        key = emulator.lambda_code_staged_key(module, function, got["Configuration"].get("Description"), p["code_prefix"])
        if key:
            data = s3.get_object(aws_retry=True, Bucket=p["code_bucket"], Key=key)["Body"].read()
        else:
            data = open_url(location, timeout=120).read()  # presigned HTTPS URL from Lambda
        if os.path.isdir(p["dest"]):
            shutil.rmtree(p["dest"])
        os.makedirs(p["dest"])
        zipfile.ZipFile(io.BytesIO(data)).extractall(p["dest"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to follow {p['path']} through {p['distribution']}")
    module.exit_json(changed=False, behavior=pattern, origin=origin_id, function=function,
                     version=got["Configuration"].get("Version", ""), handler=got["Configuration"].get("Handler", "index.handler"),
                     dest=p["dest"], environment=(got["Configuration"].get("Environment") or {}).get("Variables") or {})


if __name__ == "__main__":
    main()
