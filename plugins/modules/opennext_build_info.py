#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: opennext_build_info
short_description: Describe an OpenNext v3 build from its open-next.output.json
version_added: 0.1.0
description:
  - Reads O(build_dir)C(/open-next.output.json) and returns its functions (server and split
    functions, image optimizer, revalidation, warmer, tag-cache initialiser), the folders to
    copy to S3 and the CloudFront behaviors in OpenNext's order plus C(images/*).
  - Refuses, with a message naming the file and field, a build whose output.json is missing or
    malformed, whose image optimizer lacks C(node_modules/sharp), or that needs more than 25
    cache behaviors. Makes no AWS call.
options:
  build_dir:
    description: The C(.open-next) folder.
    type: path
    required: true
  prefix:
    description: Prefix of the function names, e.g. C(stream-sales-dev).
    type: str
    required: true
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
- name: Read the build
  stream_sales.platform.opennext_build_info:
    build_dir: example-app/.open-next
    prefix: stream-sales-dev
  register: build
"""

RETURN = r"""
build:
  description: The build's description.
  returned: success
  type: dict
  contains:
    functions:
      description: Per OpenNext key, C(name), C(role) (server, image, revalidation, warmer, tag_cache_init),
        C(bundle), C(handler), C(streaming), C(architecture), C(hash), C(origin).
      type: dict
    s3:
      description: The s3 origin's C(copy) list (C(src), C(prefix), C(cached)).
      type: dict
    default_behavior:
      description: The C(*) behavior.
      type: dict
    behaviors:
      description: The other behaviors in order, C(images/*) last.
      type: list
    build_hash:
      description: Hash over every function's and folder's content and the routing.
      type: str
    routing_hash:
      description: Hash of the behaviors.
      type: str
"""

import hashlib

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stream_sales.platform.plugins.module_utils.opennext import OpenNextError
from ansible_collections.stream_sales.platform.plugins.module_utils.opennext import content_hash
from ansible_collections.stream_sales.platform.plugins.module_utils.opennext import parse_build


def main():
    module = AnsibleModule(
        argument_spec=dict(build_dir=dict(type="path", required=True), prefix=dict(type="str", required=True)),
        supports_check_mode=True,
    )
    try:
        build = parse_build(module.params["build_dir"], module.params["prefix"])
    except OpenNextError as exc:
        module.fail_json(msg=f"OpenNext build refused: {exc}")
    digest = hashlib.sha256(build["routing_hash"].encode())
    for key in sorted(build["functions"]):
        digest.update(build["functions"][key]["hash"].encode())
    for copy in build["s3"]["copy"]:
        copy["hash"] = content_hash(copy["src"])
        digest.update(copy["hash"].encode())
    build["build_hash"] = digest.hexdigest()
    module.exit_json(changed=False, build=build)


if __name__ == "__main__":
    main()
