# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: the subnet layout of a VPC and the outputs table."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError

TIERS = ("public", "private", "isolated")


def subnet_layout(vpc_cidr, az_names, prefix):
    """One /24 per tier per AZ; each tier owns a fixed block so adding an AZ never renumbers.

    The VPC's /24s are cut into three equal blocks (the block size rounded down to a power
    of two when that still fits every AZ): 10.0.0.0/16 gives public 10.0.0-2.0/24, private
    10.0.64-66.0/24, isolated 10.0.128-130.0/24.
    """
    try:
        net = ipaddress.IPv4Network(str(vpc_cidr), strict=True)
    except ValueError as exc:
        raise AnsibleFilterError(f"subnet_layout: {vpc_cidr!r} is not an IPv4 network: {exc}")
    slots = list(net.subnets(new_prefix=24)) if net.prefixlen <= 24 else []
    azs = list(az_names)
    stride = len(slots) // len(TIERS)
    if stride < len(azs) or not azs:
        raise AnsibleFilterError(f"subnet_layout: {vpc_cidr} has no room for {len(TIERS)} x {len(azs)} /24 subnets")
    power = 1 << (stride.bit_length() - 1)
    if power >= len(azs):
        stride = power
    layout = []
    for t, tier in enumerate(TIERS):
        for i, az in enumerate(azs):
            layout.append({
                "tier": tier,
                "az": az,
                "az_index": i,
                "cidr": str(slots[t * stride + i]),
                "name": f"{prefix}-{tier}-{az}",
            })
    return layout


def outputs_table(outputs, title="Outputs"):
    """A two-column text table of the outputs, keys in the seed's order first."""
    order = ["CloudFrontURL", "DatabaseEndpoint", "DatabaseSecretArn", "JWTSecretArn",
             "ImagesBucketName", "ImagesBucketURL", "VPCId", "DatabaseConnectCommand"]
    keys = [k for k in order if k in outputs] + sorted(k for k in outputs if k not in order)
    if not keys:
        return f"{title}: none recorded"
    width = max(len(k) for k in keys)
    rule = "-" * (width + 2) + "+" + "-" * 40
    lines = [title, rule] + [f" {k.ljust(width)} | {outputs[k]}" for k in keys] + [rule]
    return "\n".join(lines)


class FilterModule:
    def filters(self):
        return {"subnet_layout": subnet_layout, "outputs_table": outputs_table}
