"""The cross-field preflight rules, one case per rule, and valid inputs that pass."""
from __future__ import annotations

import pytest

from ansible_collections.stream_sales.platform.plugins.module_utils.preflight import preflight_errors

VALID = {
    "operation": "deploy", "stream_sales_env": "dev", "aws_region": "us-east-1", "aws_endpoint_url": "",
    "network_vpc_cidr": "10.0.0.0/16", "network_az_count": 2, "network_nat_gateway_count": 1,
    "aurora_min_capacity": 0, "aurora_max_capacity": 4, "aurora_auto_pause_seconds": 600,
    "alarm_email": "", "deletion_protection": False, "allow_unprotected_production": False, "confirm_teardown": "",
}


def errors(**changes):
    return preflight_errors(dict(VALID, **changes))


@pytest.mark.parametrize("env", ["dev", "staging", "local"])
def test_valid_environments_pass(env):
    assert errors(stream_sales_env=env, aurora_min_capacity=2, aurora_max_capacity=8, aurora_auto_pause_seconds=0) == []


def test_production_table_passes():
    assert errors(stream_sales_env="production", network_az_count=3, network_nat_gateway_count=2,
                  aurora_min_capacity=4, aurora_max_capacity=16, aurora_auto_pause_seconds=0,
                  deletion_protection=True, alarm_email="ops@example.com") == []


def test_extra_vars_arrive_as_strings():
    assert errors(network_az_count="3", network_nat_gateway_count="2", aurora_min_capacity="0",
                  aurora_max_capacity="4.5", aurora_auto_pause_seconds="300") == []


@pytest.mark.parametrize("changes,message", [
    ({"stream_sales_env": "qa"}, "stream_sales_env is 'qa'; allowed: dev, staging, production, local."),
    ({"aws_region": "xx-1"}, "aws_region 'xx-1' is not a known AWS region"),
    ({"aws_endpoint_url": "localhost:4566"}, "aws_endpoint_url 'localhost:4566' is not a URL"),
    ({"network_vpc_cidr": "10.0.0.1/16"}, "network_vpc_cidr '10.0.0.1/16' is not a valid IPv4 network"),
    ({"network_vpc_cidr": "10.0.0.0/28"}, "has prefix /28; allowed: /16 to /24"),
    ({"network_vpc_cidr": "10.0.0.0/22", "network_az_count": 2}, "holds 4 /24 subnets; 3 tiers x 2 AZs need 6. Allowed: a prefix of /21 or larger."),
    ({"network_az_count": 1}, "network_az_count is 1; us-east-1 offers 6 availability zones, so allowed: 2 to 6."),
    ({"network_az_count": "two"}, "network_az_count must be a whole number, got 'two'."),
    ({"network_nat_gateway_count": 0}, "network_nat_gateway_count is 0; allowed: 1 to network_az_count."),
    ({"network_nat_gateway_count": 3}, "network_nat_gateway_count is 3; allowed: 1 to network_az_count (2)."),
    ({"aurora_min_capacity": -1}, "aurora_min_capacity is -1; allowed: 0 to 256 ACU in steps of 0.5."),
    ({"aurora_max_capacity": 256.5}, "aurora_max_capacity is 256.5; allowed: 0 to 256 ACU in steps of 0.5."),
    ({"aurora_max_capacity": 0.5, "aurora_auto_pause_seconds": 0}, "aurora_max_capacity is 0.5; allowed: at least 1 ACU."),
    ({"aurora_min_capacity": 8, "aurora_max_capacity": 4, "aurora_auto_pause_seconds": 0}, "aurora_min_capacity (8) is above aurora_max_capacity (4)"),
    ({"aurora_min_capacity": 1}, "auto-pause is allowed only with aurora_min_capacity 0."),
    ({"aurora_auto_pause_seconds": 100}, "aurora_auto_pause_seconds is 100; allowed: 0 (off) or 300 to 86400."),
    ({"alarm_email": "ops@localhost"}, "alarm_email 'ops@localhost' is not an e-mail address"),
    ({"stream_sales_env": "production", "network_az_count": 3, "deletion_protection": "false"},
     "deletion_protection is false for production; allowed only with the explicit override"),
    ({"operation": "teardown", "stream_sales_env": "staging", "aurora_min_capacity": 2, "aurora_max_capacity": 8,
      "aurora_auto_pause_seconds": 0}, "confirm_teardown must be 'stream-sales-staging' to tear down staging"),
    ({"operation": "explode"}, "operation is 'explode'; allowed: deploy, teardown"),
])
def test_each_rule_names_the_variable(changes, message):
    found = errors(**changes)
    assert any(message in e for e in found), found
    assert len(found) == 1, found


def test_production_override_and_confirmation():
    prod = {"stream_sales_env": "production", "network_az_count": 3, "deletion_protection": False}
    assert errors(**prod, allow_unprotected_production="true") == []
    assert errors(**prod, allow_unprotected_production=True, operation="teardown",
                  confirm_teardown="stream-sales-production") == []


def test_dev_teardown_needs_no_confirmation():
    assert errors(operation="teardown") == []


def test_undefined_variables_are_skipped():
    assert preflight_errors({"operation": "outputs", "stream_sales_env": "dev", "aws_region": "eu-west-1",
                             "network_az_count": None}) == []


@pytest.mark.parametrize("changes,message", [
    ({"cdn_aliases": ["shop.example.com"]}, "cdn_aliases needs a certificate: set cdn_acm_certificate_arn"),
    ({"cdn_aliases": "shop.example.com,www.example.com", "cdn_hosted_zone_id": "Z1",
      "cdn_certificate_domain_names": ["shop.example.com"]},
     "cdn_certificate_domain_names does not cover cdn_aliases www.example.com"),
])
def test_custom_domain_needs_a_certificate(changes, message):
    assert any(message in e for e in errors(**changes)), errors(**changes)


@pytest.mark.parametrize("changes", [
    {"cdn_aliases": ["shop.example.com"], "cdn_acm_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/x"},
    {"cdn_aliases": ["shop.example.com", "www.example.com"], "cdn_hosted_zone_id": "Z1"},
    {"cdn_aliases": ["shop.example.com"], "cdn_hosted_zone_id": "Z1", "cdn_certificate_domain_names": ["*.example.com"]},
    {"cdn_aliases": [], "cdn_certificate_domain_names": []},
])
def test_custom_domain_with_a_certificate_passes(changes):
    assert errors(**changes) == []
