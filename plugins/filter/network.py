# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the network role: the subnet layout (filter subnet_layout) turned into what the
list-taking network modules want, so that one task converges every subnet, NAT gateway or
route table. Each takes that layout: [{tier, az, az_index, cidr, name}] in tier, then AZ order."""

from __future__ import annotations


def subnet_specs(layout):
    """The subnets for ec2_vpc_subnets: public ones map public addresses, each tagged with its tier."""
    return [{"name": s["name"], "cidr": s["cidr"], "az": s["az"], "map_public": s["tier"] == "public",
             "tags": {"Tier": s["tier"]}} for s in layout]


def subnet_ids(layout, subnets):
    """{tier: [subnet IDs in AZ order]} from ec2_vpc_subnets' result, which follows the layout's order.
    A subnet check mode would create has the ID ''."""
    out = {"public": [], "private": [], "isolated": []}
    for spec, subnet in zip(layout, subnets or []):
        out[spec["tier"]].append((subnet or {}).get("id") or "")
    return out


def _azs(layout):
    return [s["az"] for s in layout if s["tier"] == "public"]


def nat_gateway_specs(layout, ids, count, name_prefix):
    """The NAT gateways for ec2_nat_gateway: one in each of the first `count` AZs' public subnets,
    named name_prefix + AZ."""
    return [{"name": f"{name_prefix}{az}", "subnet_id": ids["public"][i]}
            for i, az in enumerate(_azs(layout)[: int(count)]) if ids["public"][i]]


def route_table_specs(layout, ids, names, internet_gateway_id, nat_gateway_ids):
    """The route tables for ec2_route_table: public (default route to the internet gateway),
    isolated (no route out) and one private table per AZ (default route through the NAT gateways
    in turn), named by `names` (stream_sales_names). A route whose gateway check mode would
    create is left alone (routes omitted)."""
    def default_route(**target):
        return [{"dest": "0.0.0.0/0", **target}] if all(target.values()) else None

    nats = [n for n in nat_gateway_ids or [] if n]
    tables = [
        {"name": names["public_route_table"], "subnets": [s for s in ids["public"] if s],
         "routes": default_route(gateway_id=internet_gateway_id)},
        {"name": names["isolated_route_table"], "subnets": [s for s in ids["isolated"] if s], "routes": []},
    ]
    for i, az in enumerate(_azs(layout)):
        tables.append({"name": f"{names['private_route_table_prefix']}{az}", "subnets": [s for s in ids["private"][i:i + 1] if s],
                       "routes": default_route(nat_gateway_id=nats[i % len(nats)] if nats else None)})
    return [{k: v for k, v in t.items() if v is not None} for t in tables]


class FilterModule:
    def filters(self):
        return {"subnet_specs": subnet_specs, "subnet_ids": subnet_ids, "nat_gateway_specs": nat_gateway_specs,
                "route_table_specs": route_table_specs}
