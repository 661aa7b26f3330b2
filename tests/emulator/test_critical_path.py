"""scripts/critical_path.py: the deploy's critical path from the clock's table of typical times."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import critical_path as cp  # noqa: E402


def test_production_waits_for_its_instances():
    res = cp.resources("production")
    assert res["instances"] == 2 and res["nat_gateways"] == 2
    result = cp.critical_path(res, factor=1.0)
    # The instance (480 s) is created once the cluster call returned, and outlasts the cluster.
    assert result["seconds"] == cp.TABLE["rds_instance_create"]["seconds"]
    assert result["path"][-2:] == ["cluster", "instances"]
    # The site can be live before the database instances are.
    assert result["distribution_deployed"] < result["instances_ready"]


def test_scaled_and_with_latency():
    res = cp.resources("dev")
    plain = cp.critical_path(res, factor=1 / 60)
    slow = cp.critical_path(res, factor=1 / 60, latency=0.05)
    assert plain["seconds"] == round(cp.TABLE["rds_instance_create"]["seconds"] / 60, 3)
    assert slow["seconds"] > plain["seconds"]


def test_a_certificate_comes_before_the_distribution():
    res = cp.resources("dev", certificate=True)
    result = cp.critical_path(res, factor=1.0)
    expected = cp.TABLE["acm_dns_validation"]["seconds"] + cp.TABLE["cloudfront_deploy"]["seconds"]
    assert result["distribution_deployed"] == expected
