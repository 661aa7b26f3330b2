"""`make audit`: an independent security audit (prowler) of one environment's resources.

    audit.py --env production [--endpoint http://127.0.0.1:PORT] [--region us-east-1]
             [--prowler .state/prowler-venv/bin/prowler] [--exceptions scripts/audit_exceptions.yml]
             [--all-services] [--csv FILE]

Runs prowler (AWS provider) against the account of the current credentials, or against the
embedded emulator with --endpoint (prowler's boto3 clients honour AWS_ENDPOINT_URL), in the
environment's region and us-east-1 (CloudFront, WAF). Of its FAIL findings it keeps those on the
environment's resources: named stream-sales-<env>..., tagged Project=StreamSales and
Environment=<env>, or inside the environment's VPC (its default security group and network
ACLs, which AWS makes untagged). Each is either an accepted exception of
scripts/audit_exceptions.yml (which says why) or a failure. Prints both, with the counts per check,
and exits 1 when a failure is left. With --csv, reads prowler's CSV instead of running it.

Runs with the audit's own virtualenv (prowler, boto3, PyYAML), never the project's.
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import yaml

ROOT = Path(__file__).resolve().parent.parent
GLOBAL_REGION = "us-east-1"
# The services the collection makes resources in (prowler's names). --all-services runs every
# check: the others find nothing of the environment's, they only take longer.
SERVICES = ["accessanalyzer", "awslambda", "cloudfront", "cloudwatch", "dynamodb", "ec2", "eventbridge", "iam",
            "networkfirewall",
            "kms", "rds", "s3", "secretsmanager", "sns", "sqs", "ssm", "vpc", "wafv2", "acm", "route53"]


def loopback(url: str) -> bool:
    return bool(re.match(r"^https?://(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?(/.*)?$", url or ""))


def aws_env(endpoint: str | None) -> dict:
    env = dict(os.environ)
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
        if loopback(endpoint):
            # The emulator takes any credentials; never let a profile or real keys reach it.
            for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
                env.pop(var, None)
            env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_EC2_METADATA_DISABLED="true")
    return env


def run_prowler(prowler: str, regions: list[str], services: list[str] | None, env: dict, out: Path) -> Path:
    cmd = [prowler, "aws", "--no-banner", "--ignore-exit-code-3", "--output-formats", "csv",
           "--output-directory", str(out), "--output-filename", "audit", "--filter-region", *regions]
    if services:
        cmd += ["--service", *services]
    print("+ " + " ".join(cmd), file=sys.stderr)
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:])
        raise SystemExit(f"prowler failed (exit {done.returncode})")
    return out / "audit.csv"


def read_findings(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def vpc_members(env_name: str, region: str, endpoint: str | None) -> set[str]:
    """IDs of what AWS made untagged inside the environment's VPC: its security groups, network ACLs."""
    kwargs = {"region_name": region}
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    ec2 = boto3.client("ec2", **kwargs)
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"stream-sales-{env_name}-vpc"]}])["Vpcs"]
    ids = {v["VpcId"] for v in vpcs}
    if not ids:
        return set()
    vpc_filter = [{"Name": "vpc-id", "Values": sorted(ids)}]
    ids |= {g["GroupId"] for g in ec2.describe_security_groups(Filters=vpc_filter)["SecurityGroups"]}
    ids |= {a["NetworkAclId"] for a in ec2.describe_network_acls(Filters=vpc_filter)["NetworkAcls"]}
    return ids


def ours(finding: dict, env_name: str, members: set[str]) -> bool:
    fields = [finding.get(k, "") for k in ("RESOURCE_UID", "RESOURCE_NAME")]
    tags = set(finding.get("RESOURCE_TAGS", "").split(" | "))
    if any(re.search(rf"stream-sales[-/]{re.escape(env_name)}([-/.:]|$)", f) for f in fields):
        return True
    if {f"Environment={env_name}", "Project=StreamSales"} <= tags:
        return True
    return any(m in f for m in members for f in fields)


def load_exceptions(path: Path) -> list[dict]:
    rules = yaml.safe_load(path.read_text()) or []
    for rule in rules:
        missing = {"check", "resource", "why"} - set(rule)
        if missing:
            raise SystemExit(f"{path}: an exception lacks {', '.join(sorted(missing))}: {rule}")
        rule["_resource"] = re.compile(rule["resource"])
    return rules


def exception_for(finding: dict, rules: list[dict], env_name: str, emulated: bool) -> dict | None:
    where = [finding.get(k, "") for k in ("RESOURCE_UID", "RESOURCE_NAME")]
    for rule in rules:
        if rule["check"] != finding["CHECK_ID"]:
            continue
        if rule.get("environments") and env_name not in rule["environments"]:
            continue
        if rule.get("emulator_only") and not emulated:
            continue
        if any(rule["_resource"].search(w) for w in where if w):
            return rule
    return None


def report(fails: list[dict], excepted: list[tuple[dict, dict]]) -> str:
    lines = []
    by_check = collections.Counter(f["CHECK_ID"] for f in fails)
    by_check_excepted = collections.Counter(f["CHECK_ID"] for f, ignored in excepted)
    if excepted:
        lines.append(f"Accepted exceptions ({len(excepted)} findings, scripts/audit_exceptions.yml):")
        seen = set()
        for finding, rule in sorted(excepted, key=lambda e: (e[0]["CHECK_ID"], e[0]["RESOURCE_UID"])):
            lines.append(f"  ~ {finding['CHECK_ID']}  {finding['RESOURCE_UID']}")
            if id(rule) not in seen:
                seen.add(id(rule))
                lines.append(f"      why: {' '.join(rule['why'].split())}")
    if fails:
        lines.append(f"FAIL findings on the environment's resources ({len(fails)}):")
        for f in sorted(fails, key=lambda f: (f["CHECK_ID"], f["RESOURCE_UID"])):
            lines.append(f"  x {f['CHECK_ID']}  {f['RESOURCE_UID']}\n      {f['STATUS_EXTENDED']}")
    lines.append("Per check (FAIL / excepted):")
    for check in sorted(set(by_check) | set(by_check_excepted)):
        lines.append(f"  {by_check[check]:3d} / {by_check_excepted[check]:3d}  {check}")
    lines.append(f"Total: {len(fails)} FAIL outside the exceptions, {len(excepted)} excepted, "
                 f"{len(set(by_check) | set(by_check_excepted))} checks.")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--env", required=True)
    ap.add_argument("--endpoint", default="", help="an AWS-compatible endpoint (the emulator); empty for AWS")
    ap.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or GLOBAL_REGION)
    ap.add_argument("--prowler", default=str(ROOT / ".state" / "prowler-venv" / "bin" / "prowler"))
    ap.add_argument("--exceptions", default=str(ROOT / "scripts" / "audit_exceptions.yml"))
    ap.add_argument("--all-services", action="store_true")
    ap.add_argument("--csv", help="read prowler's CSV instead of running prowler")
    ap.add_argument("--json", help="also write the result here (counts, failures, exceptions)")
    args = ap.parse_args(argv)

    endpoint = args.endpoint or None
    env = aws_env(endpoint)
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    regions = sorted({args.region, GLOBAL_REGION})
    rules = load_exceptions(Path(args.exceptions))
    if args.csv:
        findings = read_findings(Path(args.csv))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            findings = read_findings(run_prowler(args.prowler, regions, None if args.all_services else SERVICES,
                                                 env, Path(tmp)))
    members = set()
    for region in regions:
        members |= vpc_members(args.env, region, endpoint)
    emulated = loopback(args.endpoint)
    fails, excepted = [], []
    for finding in findings:
        if finding["STATUS"] != "FAIL" or not ours(finding, args.env, members):
            continue
        rule = exception_for(finding, rules, args.env, emulated)
        if rule:
            excepted.append((finding, rule))
        else:
            fails.append(finding)
    print(report(fails, excepted))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "fail": [{"check": f["CHECK_ID"], "resource": f["RESOURCE_UID"], "status": f["STATUS_EXTENDED"]} for f in fails],
            "excepted": [{"check": f["CHECK_ID"], "resource": f["RESOURCE_UID"], "why": r["why"]} for f, r in excepted],
            "checked": len(findings),
        }, indent=1))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
