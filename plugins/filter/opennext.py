# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the app_lambda and cdn roles: IAM policy and execution roles, environment, CloudFront origins and behaviors, bundle hash, routes."""

from __future__ import annotations

from ansible_collections.stream_sales.platform.plugins.module_utils.opennext import cdn_behaviors
from ansible_collections.stream_sales.platform.plugins.module_utils.opennext import cdn_origins
from ansible_collections.stream_sales.platform.plugins.module_utils.opennext import content_hash
from ansible_collections.stream_sales.platform.plugins.module_utils.opennext import execution_roles
from ansible_collections.stream_sales.platform.plugins.module_utils.opennext import function_environment
from ansible_collections.stream_sales.platform.plugins.module_utils.opennext import function_policy
from ansible_collections.stream_sales.platform.plugins.module_utils.opennext import route


class FilterModule:
    def filters(self):
        return {
            "opennext_policy": function_policy,
            "opennext_execution_roles": execution_roles,
            "opennext_environment": function_environment,
            "opennext_cdn_behaviors": cdn_behaviors,
            "opennext_cdn_origins": cdn_origins,
            # A folder's bundle hash, as lambda_bundle records it on the function (tag BundleSha256).
            "bundle_hash": content_hash,
            # How a distribution serves a path: behavior, origin, its domain, the function behind it.
            "opennext_route": route,
        }
