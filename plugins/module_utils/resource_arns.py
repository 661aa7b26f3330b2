# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ARNs read the way the Resource Groups Tagging API names resource types (tagged_resources_info,
tagged_resource_sweep)."""

from __future__ import annotations


def normalize(arn):
    """A log group's ARN without the ':*' that DescribeLogGroups appends."""
    return arn[:-2] if arn.endswith(":*") else arn


def parse_arn(arn):
    """(service, type, id): type as the Tagging API names it (ec2:network-interface, s3, ...)."""
    parts = normalize(arn).split(":", 5)
    service, resource = parts[2], parts[5]
    if service in ("s3", "sqs", "sns"):
        return service, service, resource
    if service == "logs" and resource.startswith("log-group:"):
        return service, "logs:log-group", resource[len("log-group:"):]
    cut = min((i for i in (resource.find("/"), resource.find(":")) if i >= 0), default=-1)
    if cut >= 0:  # type/id or type:id, whichever separator comes first
        return service, f"{service}:{resource[:cut]}", resource[cut + 1:]
    return service, service, resource
