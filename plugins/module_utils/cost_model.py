# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Monthly cost of one environment as configured, idle and active (docs/cost.md).

``estimate(config, usage, prices)`` returns one row per resource (what it is, the quantity
priced, USD per month idle and active) and the totals. ``config`` is the environment as the
inventory configures it (AZs, NAT gateways, Aurora ACU bounds and reader, alarms, ...);
``usage`` holds the two traffic profiles; ``prices`` maps the keys of price_table.PRICES to USD.

Account-wide free tiers (CloudFront's 1 TB and 10 million requests, Lambda's 1 million requests
and 400,000 GB-seconds, CloudWatch's 10 alarms and 3 dashboards) are not subtracted: they belong
to the account, not to one environment, and are shared by everything in it.
"""

from __future__ import annotations

HOURS = 730  # hours in AWS's billing month

# The seed's README (CDK stack), USD per month: dev idle / dev active / staging / production.
SEED_RANGES = {
    ("dev", "idle"): (15, 30), ("dev", "active"): (50, 100),
    ("staging", "idle"): (100, 200), ("staging", "active"): (100, 200),
    ("production", "idle"): (300, 500), ("production", "active"): (300, 500),
}


def _aurora(c, u, p, profile):
    instances = 2 if c["aurora_reader"] else 1
    lo, hi = float(c["aurora_min_capacity"]), float(c["aurora_max_capacity"])
    paused = lo == 0 and int(c.get("aurora_auto_pause_seconds") or 0) > 0
    busy = u["busy_hours"] if profile == "active" else 0
    busy_acu = max(lo, hi * u["busy_acu_fraction"])
    # At rest the cluster sits at its minimum, or pauses (0 ACU) when auto-pause is on; a paused
    # cluster wakes at 0.5 ACU at least.
    rest_acu = 0.0 if paused else lo
    acu_hours = instances * (busy * max(busy_acu, 0.5) + (HOURS - busy) * rest_acu)
    how = "%d instance%s, %s-%s ACU%s; %s" % (
        instances, "s (writer and reader)" if instances > 1 else "", _n(lo), _n(hi), ", auto-pause" if paused else "",
        ("%d busy h at %s ACU, %s ACU otherwise" % (busy, _n(busy_acu), _n(rest_acu))) if busy else
        ("paused" if paused else "%s ACU all month" % _n(lo)))
    rows = [("Aurora Serverless v2 capacity", how, acu_hours * p["aurora_acu_hour"])]
    io = u["io_millions"] * 1e6
    rows.append(("Aurora I/O (Standard storage)", "%s million requests" % _n(u["io_millions"]), io * p["aurora_io_request"]))
    storage = u["storage_gb"]
    backup = storage * max(0.0, int(c["aurora_backup_retention_days"]) / 7.0 - 1.0) * 0.2  # daily changes beyond the free copy
    rows.append(("Aurora storage and backups", "%s GB, %s GB of backups beyond the free copy (%s d retention)" % (
        _n(storage), _n(round(backup, 1)), c["aurora_backup_retention_days"]),
        storage * p["aurora_storage_gb_month"] + backup * p["aurora_backup_gb_month"]))
    if c.get("aurora_enhanced_monitoring"):
        gb = instances * 0.2
        rows.append(("Enhanced monitoring (RDSOSMetrics logs)", "%s GB of logs, %d instance(s); Performance Insights 7 d: free" % (
            _n(gb), instances), gb * p["cloudwatch_logs_ingest_gb"]))
    return rows


def _network(c, u, p, profile):
    nats = int(c["network_nat_gateway_count"])
    gb = u["nat_gb"] if profile == "active" else u["nat_gb_idle"]
    rows = [
        ("NAT gateways", "%d x %d h, %s GB processed" % (nats, HOURS, _n(gb)),
         nats * HOURS * p["nat_gateway_hour"] + gb * p["nat_gateway_gb"]),
        ("Public IPv4 addresses (NAT Elastic IPs)", "%d x %d h" % (nats, HOURS), nats * HOURS * p["public_ipv4_hour"]),
    ]
    if c.get("network_flow_logs"):
        gb = u["flow_logs_gb"] if profile == "active" else u["flow_logs_gb"] / 5
        kept = gb * min(int(c.get("network_flow_logs_retention_days") or 30), 30) / 30.0
        rows.append(("VPC flow logs (CloudWatch Logs)", "%s GB delivered, %s GB kept" % (_n(gb), _n(round(kept, 1))),
                     gb * p["cloudwatch_vended_logs_gb"] + kept * p["cloudwatch_logs_storage_gb_month"]))
    return rows


def _application(c, u, p, profile):
    requests = u["requests"] if profile == "active" else 0
    warm = 0
    if c.get("app_lambda_warmer_enabled"):
        warm = int(HOURS * 60 / max(1, int(c.get("warmer_every_minutes") or 5))) * int(c.get("app_lambda_warmer_concurrency") or 1)
    server_gb = float(c["app_lambda_server_memory_mb"]) / 1024
    image_gb = float(c["app_lambda_image_memory_mb"]) / 1024
    image_requests = requests * u["image_share"]
    seconds = u["lambda_avg_ms"] / 1000.0
    gb_s_x86 = (requests + warm) * seconds * server_gb
    gb_s_arm = image_requests * seconds * 2 * image_gb
    invocations = requests + warm + image_requests
    rows = [("Lambda (OpenNext functions)", "%s invocations (%s warmer), %s GB-s x86, %s GB-s arm64" % (
        _n(invocations), _n(warm), _n(round(gb_s_x86)), _n(round(gb_s_arm))),
        invocations * p["lambda_request"] + gb_s_x86 * p["lambda_gb_second_x86"] + gb_s_arm * p["lambda_gb_second_arm"])]
    signed = requests * u["post_share"] if c.get("app_lambda_url_auth_type", "AWS_IAM") == "AWS_IAM" else 0
    if c.get("app_lambda_url_auth_type", "AWS_IAM") == "AWS_IAM":
        rows.append(("Lambda@Edge body signer (POST/PUT)", "%s requests x 50 ms x 128 MB" % _n(signed),
                     signed * p["lambda_edge_request"] + signed * 0.05 * 0.125 * p["lambda_edge_gb_second"]))
    gb_out = u["gb_out"] if profile == "active" else 0
    if c.get("cdn_waf_enabled"):
        rules = 4  # AWS's common, known bad inputs and IP reputation rule groups, and the rate limit
        waf_logs_gb = requests * u["log_kb_per_request"] / 1e6
        rows.append(("AWS WAF (web ACL, %d rules, logs)" % rules, "%s requests inspected, %s GB of logs" % (
            _n(requests), _n(round(waf_logs_gb, 2))),
            p["waf_web_acl_month"] + rules * p["waf_rule_month"] + requests * p["waf_request"]
            + waf_logs_gb * p["cloudwatch_vended_logs_gb"]))
    rows.append(("CloudFront", "%s HTTPS requests, %s GB out, %s function runs" % (_n(requests), _n(gb_out), _n(requests)),
                 requests * p["cloudfront_https_request"] + gb_out * p["cloudfront_gb_out"]
                 + requests * p["cloudfront_function_invocation"]))
    images = u["images_gb"] * (1.3 if c.get("storage_images_versioning") else 1.0)
    stored = images + u["site_gb"]
    gets = requests * u["origin_share"]
    rows.append(("S3 (images, site and logs buckets)", "%s GB stored%s, %s origin reads" % (
        _n(round(stored, 1)), " (with noncurrent versions)" if c.get("storage_images_versioning") else "", _n(round(gets))),
        stored * p["s3_storage_gb_month"] + gets * p["s3_get_request"] + u["s3_puts"] * p["s3_put_request"]))
    logs_gb = (requests + warm) * u["log_kb_per_request"] / 1e6
    kept = logs_gb * min(int(c.get("app_lambda_log_retention_days") or 30), 30) / 30.0
    alarms = int(c.get("alarms_count") or 0)
    rows.append(("CloudWatch (logs, %d alarms, 1 dashboard)" % alarms, "%s GB of Lambda logs, %s GB kept" % (
        _n(round(logs_gb, 2)), _n(round(kept, 2))),
        logs_gb * p["cloudwatch_logs_ingest_gb"] + kept * p["cloudwatch_logs_storage_gb_month"]
        + alarms * p["cloudwatch_alarm_month"] + p["cloudwatch_dashboard_month"]))
    calls = u["secret_calls"] if profile == "active" else u["secret_calls"] / 20
    rows.append(("Secrets Manager", "%d secrets, %s API calls" % (int(c["secrets_count"]), _n(calls)),
                 int(c["secrets_count"]) * p["secret_month"] + calls * p["secret_api_request"]))
    keys = int(c.get("kms_keys") or 0)
    rows.append(("KMS", "%d customer managed key(s) (AWS managed keys are free), %s requests" % (keys, _n(calls)),
                 keys * p["kms_key_month"] + calls * p["kms_request"]))
    writes = requests * u["tag_cache_writes_share"] + 200
    rows.append(("DynamoDB and SQS (tag cache, lock, history, revalidation)", "%s writes, %s reads, %s messages" % (
        _n(round(writes)), _n(round(requests * 0.1)), _n(round(writes))),
        writes * p["dynamodb_write_request"] + requests * 0.1 * p["dynamodb_read_request"] + writes * 3 * p["sqs_fifo_request"]))
    return rows


def _n(value):
    """A quantity for the basis column: 1,234,567 / 12 / 0.5."""
    value = float(value)
    if value >= 1000:
        return f"{value:,.0f}"
    if value.is_integer():
        return str(int(value))
    return ("%.2f" % value).rstrip("0").rstrip(".")


def estimate(config, usage, prices):
    """Rows [{resource, basis_idle, basis_active, idle, active}] and totals {idle, active}."""
    rows = {}
    order = []
    for profile in ("idle", "active"):
        u = usage[profile]
        for part in (_aurora, _network, _application):
            for resource, basis, usd in part(config, u, prices, profile):
                if resource not in rows:
                    rows[resource] = {"resource": resource}
                    order.append(resource)
                rows[resource][profile] = round(usd, 2)
                rows[resource]["basis_" + profile] = basis
    table = [rows[r] for r in order]
    totals = {p: round(sum(r.get(p, 0.0) for r in table), 2) for p in ("idle", "active")}
    return table, totals


def compare_with_seed(env, rows, totals):
    """One line per profile: within the seed's range, or not, and why (the largest items)."""
    lines = []
    for profile in ("idle", "active"):
        seed = SEED_RANGES.get((env, profile))
        if not seed:
            continue
        total = totals[profile]
        lo, hi = seed
        if lo <= total <= hi:
            lines.append("%s: $%s is within the seed's $%d-%d." % (profile, f"{total:,.2f}", lo, hi))
            continue
        largest = sorted(rows, key=lambda r: r.get(profile, 0), reverse=True)[:2]
        why = " and ".join("%s $%s (%s)" % (r["resource"], f"{r[profile]:,.2f}", r["basis_" + profile]) for r in largest)
        lines.append("%s: $%s is %s the seed's $%d-%d; the largest items: %s." % (
            profile, f"{total:,.2f}", "above" if total > hi else "below", lo, hi, why))
    return lines
