"""The cost model and the Price List parsing of cost_estimate."""
from __future__ import annotations

import json

import pytest

from ansible_collections.stream_sales.platform.plugins.module_utils.cost_model import compare_with_seed, estimate
from ansible_collections.stream_sales.platform.plugins.module_utils.price_table import PRICES, table_prices
from ansible_collections.stream_sales.platform.plugins.modules.cost_estimate import pick_price, to_table_unit


def product(usagetype, dims):
    """A GetProducts PriceList entry, shaped as the API returns it (a JSON string)."""
    return json.dumps({"product": {"productFamily": "x", "attributes": {"usagetype": usagetype}},
                       "terms": {"OnDemand": {"T1": {"priceDimensions": {
                           f"D{i}": {"unit": unit, "beginRange": begin, "pricePerUnit": {"USD": usd}}
                           for i, (begin, usd, unit) in enumerate(dims)}}}}})


def test_the_regions_usage_type_and_its_first_paid_tier():
    answer = [product("USE2-Aurora:ServerlessV2Usage", [("0", "0.1200000000", "ACU-Hr")]),
              product("Aurora:ServerlessV2Usage", [("0", "0.1100000000", "ACU-Hr")]),
              product("Lambda-GB-Second", [("6000000000", "0.0000150000", "Lambda-GB-Second"),
                                           ("0", "0.0000166667", "Lambda-GB-Second")])]
    assert pick_price(answer, "Aurora:ServerlessV2Usage", "us-east-1") == (0.11, "ACU-Hr")
    assert pick_price(answer, "Aurora:ServerlessV2Usage", "us-east-2") == (0.12, "ACU-Hr")
    assert pick_price(answer, "Lambda-GB-Second", "us-east-1") == (0.0000166667, "Lambda-GB-Second")
    assert pick_price(answer, "NatGateway-Hours", "us-east-1") == (None, None)
    free_only = [product("Request", [("0", "0.0000000000", "Requests")])]
    assert pick_price(free_only, "Request", "us-east-1") == (None, None)


def test_monthly_items_priced_by_the_hour_are_converted():
    assert to_table_unit(0.0041096, "Hours", "Dashboards") == pytest.approx(3.0, rel=0.01)
    assert to_table_unit(0.045, "Hrs", "Hrs") == 0.045


DEV = {"network_nat_gateway_count": 1, "aurora_min_capacity": 0, "aurora_max_capacity": 4, "aurora_auto_pause_seconds": 600,
       "aurora_reader": False, "aurora_backup_retention_days": 7, "app_lambda_server_memory_mb": 1024,
       "app_lambda_image_memory_mb": 1536, "secrets_count": 3}
USAGE = {"busy_hours": 0, "busy_acu_fraction": 0.5, "io_millions": 0, "storage_gb": 0, "nat_gb_idle": 0, "nat_gb": 0,
         "flow_logs_gb": 0, "requests": 0, "gb_out": 0, "image_share": 0.1, "post_share": 0.05, "origin_share": 0.1,
         "lambda_avg_ms": 200, "log_kb_per_request": 1, "images_gb": 0, "site_gb": 0, "s3_puts": 0, "secret_calls": 0,
         "tag_cache_writes_share": 0.01}


def test_fixed_costs_of_an_idle_paused_dev():
    rows, totals = estimate(DEV, {"idle": USAGE, "active": USAGE}, table_prices())
    by = {r["resource"]: r["idle"] for r in rows}
    assert by["Aurora Serverless v2 capacity"] == 0  # paused
    assert by["NAT gateways"] == round(730 * 0.045, 2)
    assert by["Public IPv4 addresses (NAT Elastic IPs)"] == round(730 * 0.005, 2)
    assert by["Secrets Manager"] == 1.2 and by["CloudWatch (logs, 0 alarms, 1 dashboard)"] == 3.0
    assert totals["idle"] == pytest.approx(32.85 + 3.65 + 1.2 + 3.0, abs=0.02)


def test_acu_hours_follow_minimum_reader_and_busy_hours():
    prod = dict(DEV, aurora_min_capacity=4, aurora_max_capacity=16, aurora_auto_pause_seconds=0, aurora_reader=True)
    busy = dict(USAGE, busy_hours=365)
    rows, totals = estimate(prod, {"idle": USAGE, "active": busy}, table_prices())
    acu = rows[0]
    assert acu["idle"] == round(2 * 730 * 4 * 0.12, 2)
    assert acu["active"] == round(2 * (365 * 8 + 365 * 4) * 0.12, 2)


def test_seed_comparison_names_the_largest_items():
    rows, totals = estimate(DEV, {"idle": USAGE, "active": USAGE}, table_prices())
    lines = compare_with_seed("dev", rows, totals)
    assert lines[0].startswith("idle: $40.70 is above the seed's $15-30; the largest items: NAT gateways $32.85")
    assert lines[1].startswith("active: $40.70 is below the seed's $50-100")


def test_every_price_has_a_table_value_and_a_query():
    for key, price in PRICES.items():
        service, usage, unit, usd = price[0], price[2], price[3], price[4]
        assert service and usage and unit and usd > 0, key
