"""scripts/audit.py: which prowler findings are the environment's, the accepted exceptions, the report."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import audit  # noqa: E402  scripts/audit.py


def finding(check, uid, name="", tags="", status="FAIL"):
    return {"CHECK_ID": check, "RESOURCE_UID": uid, "RESOURCE_NAME": name, "RESOURCE_TAGS": tags,
            "STATUS": status, "STATUS_EXTENDED": f"{check} on {uid}"}


@pytest.fixture(scope="module")
def rules():
    return audit.load_exceptions(ROOT / "scripts" / "audit_exceptions.yml")


def test_every_exception_names_one_check_a_narrow_resource_and_why(rules):
    assert rules
    for rule in rules:
        assert re.fullmatch(r"[a-z0-9_]+", rule["check"]), rule
        assert rule["resource"] not in ("", ".*", ".+"), rule
        assert len(rule["why"].split()) >= 5, rule
        assert set(rule) <= {"check", "resource", "why", "environments", "emulator_only", "_resource"}, rule


def test_the_environments_resources_by_name_tags_or_vpc():
    members = {"vpc-0abc", "sg-0def", "acl-0123"}
    ours = [
        finding("x", "arn:aws:s3:::stream-sales-production-images-123456789012"),
        finding("x", "arn:aws:secretsmanager:us-east-1:1:secret:stream-sales/production/jwt/secret-AbCdEf"),
        finding("x", "arn:aws:kms:us-east-1:1:key/k", "alias/stream-sales-production"),
        finding("x", "arn:aws:logs:us-east-1:1:log-group:aws-waf-logs-stream-sales-production"),
        finding("x", "arn:aws:cloudfront::1:distribution/E1", tags="Project=StreamSales | Environment=production"),
        finding("x", "arn:aws:ec2:us-east-1:1:security-group/sg-0def"),
    ]
    others = [
        finding("x", "arn:aws:s3:::stream-sales-staging-images-123456789012"),
        finding("x", "arn:aws:s3:::stream-sales-productionx"),
        finding("x", "arn:aws:ec2:us-east-1:1:security-group/sg-0999"),
        finding("x", "arn:aws:iam:us-east-1:1:password-policy"),
        finding("x", "arn:aws:cloudfront::1:distribution/E2", tags="Environment=production"),  # not the project's
    ]
    assert all(audit.ours(f, "production", members) for f in ours)
    assert not any(audit.ours(f, "production", members) for f in others)


def test_exceptions_match_check_and_resource_and_respect_emulator_only(rules):
    logs_bucket = finding("s3_bucket_kms_encryption", "arn:aws:s3:::stream-sales-production-logs-123456789012",
                          "stream-sales-production-logs-123456789012")
    images = finding("s3_bucket_kms_encryption", "arn:aws:s3:::stream-sales-production-images-123456789012",
                     "stream-sales-production-images-123456789012")
    assert audit.exception_for(logs_bucket, rules, "production", emulated=False)
    assert audit.exception_for(images, rules, "production", emulated=False) is None
    unused = finding("ec2_securitygroup_not_used", "arn:aws:ec2:us-east-1:1:security-group/sg-1")
    assert audit.exception_for(unused, rules, "production", emulated=True)
    assert audit.exception_for(unused, rules, "production", emulated=False) is None


def test_report_counts_per_check_and_exit_status(tmp_path, rules, monkeypatch):
    rows = [finding("s3_bucket_kms_encryption", "arn:aws:s3:::stream-sales-dev-logs-1", "stream-sales-dev-logs-1"),
            finding("sns_topics_kms_encryption_at_rest_enabled", "arn:aws:sns:us-east-1:1:stream-sales-dev-alarms"),
            finding("sns_topics_kms_encryption_at_rest_enabled", "arn:aws:sns:us-east-1:1:stream-sales-dev-x", status="PASS")]
    csv = tmp_path / "audit.csv"
    header = list(rows[0])
    csv.write_text(";".join(header) + "\n" + "\n".join(";".join(r[h] for h in header) for r in rows) + "\n")
    monkeypatch.setattr(audit, "vpc_members", lambda *a: set())
    out = tmp_path / "result.json"
    assert audit.main(["--env", "dev", "--csv", str(csv), "--json", str(out)]) == 1
    import json
    result = json.loads(out.read_text())
    assert [f["check"] for f in result["fail"]] == ["sns_topics_kms_encryption_at_rest_enabled"]
    assert [f["check"] for f in result["excepted"]] == ["s3_bucket_kms_encryption"]
