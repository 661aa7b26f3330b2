"""The network role's filters: the subnet layout turned into the list-taking modules' input."""
from __future__ import annotations

from ansible_collections.stream_sales.platform.plugins.filter.network import (
    nat_gateway_specs, route_table_specs, subnet_ids, subnet_specs)
from ansible_collections.stream_sales.platform.plugins.filter.stream_sales import subnet_layout

AZS = ["us-east-1a", "us-east-1b", "us-east-1c"]
NAMES = {"public_route_table": "p-public", "isolated_route_table": "p-isolated", "private_route_table_prefix": "p-private-"}
LAYOUT = subnet_layout("10.0.0.0/16", AZS, "p")


def test_subnet_specs_and_ids_follow_the_layout():
    specs = subnet_specs(LAYOUT)
    assert [s["cidr"] for s in specs] == [s["cidr"] for s in LAYOUT]
    assert [s["map_public"] for s in specs] == [True] * 3 + [False] * 6
    assert specs[4] == {"name": "p-private-us-east-1b", "cidr": "10.0.65.0/24", "az": "us-east-1b",
                        "map_public": False, "tags": {"Tier": "private"}}
    ids = subnet_ids(LAYOUT, [{"id": f"subnet-{i}"} for i in range(9)])
    assert ids == {"public": ["subnet-0", "subnet-1", "subnet-2"], "private": ["subnet-3", "subnet-4", "subnet-5"],
                   "isolated": ["subnet-6", "subnet-7", "subnet-8"]}
    # Check mode: subnets still to be created have no ID.
    assert subnet_ids(LAYOUT, [{"name": "x"}] * 9)["public"] == ["", "", ""]


def test_nat_gateways_in_the_first_azs_and_private_tables_take_them_in_turn():
    ids = subnet_ids(LAYOUT, [{"id": f"subnet-{i}"} for i in range(9)])
    assert nat_gateway_specs(LAYOUT, ids, 2, "p-nat-") == [
        {"name": "p-nat-us-east-1a", "subnet_id": "subnet-0"},
        {"name": "p-nat-us-east-1b", "subnet_id": "subnet-1"},
    ]
    tables = route_table_specs(LAYOUT, ids, NAMES, "igw-1", ["nat-a", "nat-b"])
    assert [t["name"] for t in tables] == ["p-public", "p-isolated", "p-private-us-east-1a", "p-private-us-east-1b",
                                           "p-private-us-east-1c"]
    assert tables[0] == {"name": "p-public", "subnets": ["subnet-0", "subnet-1", "subnet-2"],
                         "routes": [{"dest": "0.0.0.0/0", "gateway_id": "igw-1"}]}
    assert tables[1] == {"name": "p-isolated", "subnets": ["subnet-6", "subnet-7", "subnet-8"], "routes": []}
    assert [t["routes"][0]["nat_gateway_id"] for t in tables[2:]] == ["nat-a", "nat-b", "nat-a"]
    assert [t["subnets"] for t in tables[2:]] == [["subnet-3"], ["subnet-4"], ["subnet-5"]]


def test_gateways_check_mode_would_create_leave_their_routes_alone():
    ids = subnet_ids(LAYOUT, [{"id": f"subnet-{i}"} for i in range(9)])
    tables = route_table_specs(LAYOUT, ids, NAMES, "", ["", ""])
    assert "routes" not in tables[0] and tables[1]["routes"] == []
    assert all("routes" not in t for t in tables[2:])
    empty = subnet_ids(LAYOUT, [{}] * 9)
    assert nat_gateway_specs(LAYOUT, empty, 2, "p-nat-") == []
    assert route_table_specs(LAYOUT, empty, NAMES, "", [])[0]["subnets"] == []
