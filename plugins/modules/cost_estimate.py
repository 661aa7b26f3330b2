#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cost_estimate
short_description: Estimate an environment's monthly AWS cost, idle and active, from its configuration
version_added: 0.1.0
description:
  - Prices the environment as configured - Aurora Serverless v2 ACU-hours (minimum and the busy hours at
    a share of the maximum, a reader in production, auto-pause), Aurora I/O, storage and backups, NAT
    gateway hours, data and their public IPv4 addresses, flow logs, Lambda, Lambda@Edge, CloudFront,
    S3, CloudWatch logs, alarms and dashboard, Secrets Manager, KMS, DynamoDB and SQS - for an idle and
    an active month (the usage profiles), and compares the totals with the seed's figures.
  - Prices come from the AWS Price List API (C(pricing:GetProducts), endpoint in us-east-1, filtered by
    the environment's region). When it does not answer, or a price is missing or implausible (more than
    ten times off the table), the dated table shipped in the collection is used; C(price_source) and each
    price's C(source) say which. Nothing else is called; nothing is changed.
  - Upstream has no module for the Price List API or for cost estimates.
options:
  config:
    description: The environment as configured (see the cost role's C(cost_config)).
    type: dict
    required: true
  usage:
    description: The two usage profiles, C(idle) and C(active) (see the cost role's C(cost_usage)).
    type: dict
    required: true
  environment:
    description: The environment's name (dev, staging, production), for the seed comparison.
    type: str
    required: true
  use_price_list:
    description: Ask the Price List API first; false uses the table alone.
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    description: Only reads.
    support: full
  diff_mode:
    description: Not supported.
    support: none
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Estimate production's monthly cost
  stream_sales.platform.cost_estimate:
    environment: production
    config: "{{ cost_config }}"
    usage: "{{ cost_usage[stream_sales_env] }}"
"""

RETURN = r"""
rows:
  description: One row per resource - C(resource), C(idle) and C(active) in USD per month, and the quantities priced.
  returned: always
  type: list
  elements: dict
totals:
  description: USD per month, C(idle) and C(active).
  returned: always
  type: dict
price_source:
  description: Where the prices came from (the Price List API, the dated table, or both).
  returned: always
  type: str
prices:
  description: Each price used - C(usd), C(unit), C(source).
  returned: always
  type: dict
seed_comparison:
  description: Per profile, whether the total is within the seed's range, and if not the largest items.
  returned: always
  type: list
  elements: str
"""

import json

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.stream_sales.platform.plugins.module_utils.cost_model import compare_with_seed, estimate
from ansible_collections.stream_sales.platform.plugins.module_utils.price_table import (
    PRICES, TABLE_DATE, TABLE_REGION, USAGE_PREFIX)

# The Price List API is advisory: a few retries of throttling and transient errors, then the table.
RETRY = AWSRetry.jittered_backoff(retries=2, delay=1, max_delay=4)
PRICING_REGION = "us-east-1"  # where the Price List API answers
GLOBAL_SERVICES = ("AmazonCloudFront",)
MONTHLY_UNITS = ("GB-Mo", "Alarms", "Dashboards", "Secrets", "Keys")
PLAUSIBLE = 10.0  # an answer this many times off the table is a wrong product, not a price


def first_tier_usd(product):
    """USD per unit of a Price List product's first paid on-demand tier, and its unit."""
    best = None
    for term in (product.get("terms", {}).get("OnDemand") or {}).values():
        for dim in (term.get("priceDimensions") or {}).values():
            usd = float((dim.get("pricePerUnit") or {}).get("USD") or 0)
            begin = float(dim.get("beginRange") or 0)
            if usd > 0 and (best is None or begin < best[0]):
                best = (begin, usd, dim.get("unit", ""))
    return (best[1], best[2]) if best else (None, None)


def pick_price(price_list, usage_contains, region):
    """From GetProducts' PriceList (JSON strings): the price of the product whose usage type is this
    region's (its prefix, then the name, nothing after), else None."""
    wanted = USAGE_PREFIX.get(region, "") + usage_contains
    for raw in price_list:
        product = json.loads(raw) if isinstance(raw, str) else raw
        usage = product.get("product", {}).get("attributes", {}).get("usagetype", "")
        if usage == wanted or (region not in USAGE_PREFIX and usage.endswith(usage_contains)):
            usd, unit = first_tier_usd(product)
            if usd is not None:
                return usd, unit
    return None, None


def to_table_unit(usd, unit, table_unit):
    """The Price List prices some monthly items by the hour."""
    hourly = "hour" in str(unit).lower() or str(unit).lower() == "hrs"
    return usd * 730 if table_unit in MONTHLY_UNITS and hourly else usd


def price_list(module, region):
    """{key: {usd, unit, source}} and an error message when the API did not answer at all."""
    prices = {}
    try:
        client = module.client("pricing", retry_decorator=RETRY, region=PRICING_REGION,
                               aws_config={"retries": {"mode": "standard", "total_max_attempts": 3},
                                           "connect_timeout": 5, "read_timeout": 20})
    except Exception as exc:  # pylint: disable=broad-except
        return prices, "no Price List client: %s" % exc
    for key, (service, attributes, usage_contains, unit, table_usd) in PRICES.items():
        filters = [{"Type": "CONTAINS", "Field": "usagetype", "Value": usage_contains}]
        if service not in GLOBAL_SERVICES:
            filters.append({"Type": "TERM_MATCH", "Field": "regionCode", "Value": region})
        filters += [{"Type": "TERM_MATCH", "Field": f, "Value": v} for f, v in attributes.items()]
        try:
            answer = client.get_products(aws_retry=True, ServiceCode=service, Filters=filters, MaxResults=100)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            if not prices:  # the first call failed: the API is not answering here
                return prices, "the Price List API did not answer (%s)" % str(exc).splitlines()[0][:160]
            continue
        usd, api_unit = pick_price(answer.get("PriceList") or [], usage_contains, region)
        if usd is None:
            continue
        usd = to_table_unit(usd, api_unit, unit)
        if not table_usd / PLAUSIBLE <= usd <= table_usd * PLAUSIBLE:
            continue
        prices[key] = {"usd": usd, "unit": unit, "source": "Price List API"}
    return prices, ""


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            config=dict(type="dict", required=True),
            usage=dict(type="dict", required=True),
            environment=dict(type="str", required=True),
            use_price_list=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    region = module.region or TABLE_REGION
    fetched, problem = price_list(module, region) if p["use_price_list"] else ({}, "the Price List API was not asked")
    table_note = "the table of %s (%s prices)" % (TABLE_DATE, TABLE_REGION)
    prices = {}
    for key, (_service, _attrs, _usage, unit, table_usd) in PRICES.items():
        prices[key] = fetched.get(key) or {"usd": table_usd, "unit": unit, "source": table_note}
    from_api = sum(1 for v in prices.values() if v["source"] == "Price List API")
    if from_api == len(prices):
        source = "AWS Price List API (%s, %s)" % (PRICING_REGION, region)
    elif from_api:
        source = "AWS Price List API for %d of %d prices, %s for the rest" % (from_api, len(prices), table_note)
    else:
        source = "%s: %s" % (table_note, problem or "the Price List API had none of them")
        if region != TABLE_REGION:
            source += "; %s prices may differ" % region
    try:
        rows, totals = estimate(p["config"], p["usage"], {k: v["usd"] for k, v in prices.items()})
    except (KeyError, TypeError, ValueError) as exc:
        module.fail_json(msg="cost_estimate: config or usage lacks %s" % exc)
    module.exit_json(changed=False, rows=rows, totals=totals, price_source=source, prices=prices,
                     seed_comparison=compare_with_seed(p["environment"], rows, totals))


if __name__ == "__main__":
    main()
