"""The deploy's critical path on AWS's clock, from the emulator clock's table of typical times.

    .venv/bin/python scripts/critical_path.py [--env production] [--factor 1/60] [--latency 50ms]

The deploy is a graph: each resource can be created once what it needs exists (an API call has
returned, e.g. a cluster's endpoint is in CreateDBCluster's answer) or is ready (a state was
reached, e.g. a published Lambda@Edge version needs an Active function). Slow resources take
their time from scripts/emulator_fixes/clock_times.toml, the table the scaled clock plays. The
critical path is the longest chain of waits: no deploy can finish sooner, however parallel.
`--latency` adds the per-call round trip to each step's API calls (the latency fault).

critical_path(resources, factor) is what the benchmark uses; resources(env) reads an
environment's resource set from its group_vars.
"""
from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = tomllib.loads((ROOT / "scripts" / "emulator_fixes" / "clock_times.toml").read_text())

CREATED, READY = "created", "ready"


def resources(env: str = "production", **overrides) -> dict:
    """The resource set of an environment: what changes the deploy's graph."""
    import yaml

    # The environments table travels in the collection (roles/common/defaults/main.yml); the
    # example site's group_vars may override a row's values.
    common = yaml.safe_load((ROOT / "roles" / "common" / "defaults" / "main.yml").read_text())
    values: dict = dict(common["stream_sales_environments"].get(env, {}))
    for path in (ROOT / "group_vars" / "all.yml", ROOT / "group_vars" / f"{env}.yml"):
        if path.exists():
            values.update(yaml.safe_load(path.read_text()) or {})
    found = {
        "nat_gateways": int(values.get("network_nat_gateway_count", 1)),
        "instances": 2 if values.get("aurora_reader") else 1,
        "vpc_functions": 1,  # the OpenNext server function reaches the database
        "functions": 3,      # image optimisation, revalidation, warmer: outside the VPC
        "edge_function": True,
        "certificate": bool(values.get("cdn_aliases")) and not values.get("cdn_acm_certificate_arn"),
    }
    found.update(overrides)
    return found


def graph(res: dict) -> dict:
    """node -> {"after": [(node, created|ready)], "wait": table key or None, "calls": API calls}."""
    g = {
        "vpc": {"after": [], "calls": 3},
        "subnets": {"after": [("vpc", CREATED)], "calls": 4},
        "internet_gateway": {"after": [("vpc", CREATED)], "calls": 3},
        "security_groups": {"after": [("vpc", CREATED)], "calls": 6},
        "secrets": {"after": [], "calls": 9},
        "buckets": {"after": [], "calls": 12},
        "iam_roles": {"after": [], "calls": 12},
        "queue_and_table": {"after": [], "calls": 6},
        "nat_gateways": {"after": [("subnets", CREATED), ("internet_gateway", CREATED)], "calls": 4,
                         "wait": "nat_gateway_create"},
        "routes": {"after": [("nat_gateways", CREATED)], "calls": 6},
        "db_subnet_group": {"after": [("subnets", CREATED)], "calls": 2},
        "cluster": {"after": [("db_subnet_group", CREATED), ("security_groups", CREATED), ("secrets", CREATED)],
                    "calls": 3, "wait": "rds_cluster_create"},
        # Instances may be created while their cluster is still creating; never ready before it.
        "instances": {"after": [("cluster", CREATED)], "ready_after": ["cluster"], "calls": 2 * res["instances"],
                      "wait": "rds_instance_create"},
        "vpc_functions": {"after": [("iam_roles", CREATED), ("subnets", CREATED), ("security_groups", CREATED),
                                    ("cluster", CREATED), ("buckets", CREATED), ("queue_and_table", CREATED)],
                          "calls": 4 * res["vpc_functions"], "wait": "lambda_create_vpc"},
        "functions": {"after": [("iam_roles", CREATED), ("buckets", CREATED), ("queue_and_table", CREATED)],
                      "calls": 4 * res["functions"], "wait": "lambda_create"},
        "function_urls": {"after": [("vpc_functions", CREATED), ("functions", CREATED)], "calls": 4},
        "assets": {"after": [("buckets", CREATED)], "calls": 30},
        "cdn_policies": {"after": [], "calls": 6},
    }
    before_distribution = [("function_urls", CREATED), ("cdn_policies", CREATED), ("buckets", CREATED)]
    if res.get("edge_function"):
        g["edge_function"] = {"after": [("iam_roles", CREATED)], "calls": 2, "wait": "lambda_create"}
        g["edge_version"] = {"after": [("edge_function", READY)], "calls": 1}
        before_distribution.append(("edge_version", CREATED))
    if res.get("certificate"):
        g["certificate"] = {"after": [], "calls": 4, "wait": "acm_dns_validation"}
        before_distribution.append(("certificate", READY))
    g["distribution"] = {"after": before_distribution, "calls": 3, "wait": "cloudfront_deploy"}
    g["alarms_and_outputs"] = {"after": [("cluster", CREATED), ("vpc_functions", CREATED), ("distribution", CREATED)],
                               "calls": 12}
    return g


def critical_path(res: dict, factor: float = 1.0, latency: float = 0.0) -> dict:
    """Earliest times (seconds) at `factor` of AWS's clock: the critical path and when the site is up.

    Returns {"seconds": all ready, "path": [...], "distribution_deployed": s, "site_live": s,
    "nodes": {node: {"created": s, "ready": s}}}. The site is live when the distribution is
    deployed and the server function active behind a NAT gateway that is available.
    """
    g = graph(res)
    times: dict = {}
    via: dict = {}

    def solve(node: str) -> dict:
        if node in times:
            return times[node]
        spec = g[node]
        start, prev = 0.0, None
        for dep, kind in spec["after"]:
            t = solve(dep)[kind]
            if prev is None or t > start:
                start, prev = t, (dep, kind)
        created = start + spec.get("calls", 1) * latency
        ready = created + (TABLE[spec["wait"]]["seconds"] * factor if spec.get("wait") else 0.0)
        ready_prev = prev
        for dep in spec.get("ready_after", []):
            if solve(dep)[READY] > ready:
                ready, ready_prev = solve(dep)[READY], (dep, READY)
        times[node] = {CREATED: round(created, 3), READY: round(ready, 3)}
        via[node] = {CREATED: prev, READY: ready_prev if ready > created else (node, CREATED)}
        return times[node]

    for node in g:
        solve(node)
    last = max(g, key=lambda n: times[n][READY])
    path, cur = [], (last, READY)
    while cur is not None:
        node, kind = cur
        if not path or path[-1] != node:
            path.append(node)
        nxt = via[node][kind]
        cur = None if nxt == cur else nxt
    site = max(times["distribution"][READY], times["vpc_functions"][READY], times["nat_gateways"][READY])
    return {"seconds": times[last][READY], "path": list(reversed(path)), "factor": factor, "latency": latency,
            "distribution_deployed": times["distribution"][READY], "site_live": round(site, 3),
            "instances_ready": times["instances"][READY], "nodes": times}


def _factor(text: str) -> float:
    num, ignored, den = text.partition("/")
    return float(num) / float(den) if den else float(num)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="production")
    parser.add_argument("--factor", default="1", help="clock factor, e.g. 1/60 (default: AWS's real clock)")
    parser.add_argument("--latency", default="0ms", help="per-call latency, e.g. 50ms")
    opts = parser.parse_args(argv)
    latency = float(opts.latency.rstrip("ms")) / 1000 if opts.latency.endswith("ms") else float(opts.latency.rstrip("s"))
    result = critical_path(resources(opts.env), _factor(opts.factor), latency)
    result.pop("nodes")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
