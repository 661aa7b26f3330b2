"""Filters: the subnet layout and the outputs table."""
from __future__ import annotations

import ipaddress

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.stream_sales.platform.plugins.filter.stream_sales import outputs_table, subnet_layout

AZS3 = ["us-east-1a", "us-east-1b", "us-east-1c"]


def test_layout_of_a_16_uses_fixed_blocks_per_tier():
    layout = subnet_layout("10.0.0.0/16", AZS3, "stream-sales-production")
    assert [(s["tier"], s["cidr"]) for s in layout] == [
        ("public", "10.0.0.0/24"), ("public", "10.0.1.0/24"), ("public", "10.0.2.0/24"),
        ("private", "10.0.64.0/24"), ("private", "10.0.65.0/24"), ("private", "10.0.66.0/24"),
        ("isolated", "10.0.128.0/24"), ("isolated", "10.0.129.0/24"), ("isolated", "10.0.130.0/24"),
    ]
    assert layout[4]["name"] == "stream-sales-production-private-us-east-1b"
    assert layout[4]["az_index"] == 1


def test_adding_an_az_never_renumbers():
    two = {(s["tier"], s["az"]): s["cidr"] for s in subnet_layout("10.0.0.0/16", AZS3[:2], "p")}
    three = {(s["tier"], s["az"]): s["cidr"] for s in subnet_layout("10.0.0.0/16", AZS3, "p")}
    assert all(three[k] == v for k, v in two.items())


@pytest.mark.parametrize("cidr,azs", [("10.1.0.0/20", 3), ("10.1.0.0/21", 2), ("172.16.0.0/16", 6), ("10.0.0.0/20", 5)])
def test_layout_subnets_are_disjoint_and_inside_the_vpc(cidr, azs):
    names = [f"az{i}" for i in range(azs)]
    layout = subnet_layout(cidr, names, "p")
    nets = [ipaddress.ip_network(s["cidr"]) for s in layout]
    assert len(nets) == 3 * azs
    assert all(n.subnet_of(ipaddress.ip_network(cidr)) for n in nets)
    assert len(set(nets)) == len(nets)


def test_layout_refuses_a_vpc_too_small():
    with pytest.raises(AnsibleFilterError, match="no room"):
        subnet_layout("10.0.0.0/22", AZS3[:2], "p")


def test_outputs_table_orders_seed_keys_first():
    table = outputs_table({"Extra": "x", "VPCId": "vpc-1", "CloudFrontURL": "https://d.example"}, "Outputs")
    lines = table.splitlines()
    assert lines[0] == "Outputs"
    assert [line.split("|")[0].strip() for line in lines[2:-1]] == ["CloudFrontURL", "VPCId", "Extra"]
    assert outputs_table({}, "Kept") == "Kept: none recorded"


def test_a_history_row_names_the_failed_task_without_its_role_prefix():
    from ansible_collections.stream_sales.platform.plugins.filter.tables import history_row
    row = history_row({"operation": "deploy", "result": "failed", "counts": {},
                       "failed_task": {"role": "lock", "task": "stream_sales.platform.lock : Lock | Take the environment's lock",
                                       "msg": "stream-sales-local is locked by alice@laptop (deploy)"}})
    assert row["failure"] == "Lock | Take the environment's lock: stream-sales-local is locked by alice@laptop (deploy)"
    assert history_row({"result": "succeeded", "failed_task": {"task": "Outputs | Print them", "msg": "x"}})["failure"] == (
        "Outputs | Print them: x")
