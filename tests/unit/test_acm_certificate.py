"""acm_dns_certificate, run for real against the emulator: request, records, rerun, replacement, wait, absent."""
from __future__ import annotations

import time
import uuid

from modules_helper import run_module

RUN = uuid.uuid4().hex[:8]  # names unique to this run: the tests never depend on earlier state
TAGS = {"Environment": "unit", "Project": "StreamSales"}


def named(acm, name):
    """ARNs of the emulator's certificates tagged Name=name."""
    return sorted(c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"]
                  if {"Key": "Name", "Value": name} in acm.list_tags_for_certificate(CertificateArn=c["CertificateArn"])["Tags"])


def test_certificate_lifecycle(endpoint, aws):
    acm = aws("acm")
    name, domain = f"unit-cert-{RUN}", f"{RUN}.unit.test"
    args = {"name": name, "domain_name": domain, "subject_alternative_names": [f"*.{domain}", f"www.{domain}", domain],
            "tags": TAGS}

    planned = run_module(endpoint, "acm_dns_certificate", args, check=True, diff=True)
    assert planned["changed"] and planned["arn"] == "" and planned["validation_records"] == []
    assert planned["diff"]["before"] == {} and planned["diff"]["after"]["domain_names"] == [domain, f"*.{domain}", f"www.{domain}"]
    assert named(acm, name) == []

    started = time.monotonic()
    created = run_module(endpoint, "acm_dns_certificate", args)
    assert created["changed"] and created["arn"].startswith("arn:aws:acm:us-east-1:")
    assert created["status"] == "PENDING_VALIDATION" and created["replaced_arn"] == ""
    assert time.monotonic() - started < 30  # records are polled for, not slept for
    cert = acm.describe_certificate(CertificateArn=created["arn"])["Certificate"]
    assert cert["DomainName"] == domain and sorted(cert["SubjectAlternativeNames"]) == sorted([domain, f"*.{domain}", f"www.{domain}"])
    tags = {t["Key"]: t["Value"] for t in acm.list_tags_for_certificate(CertificateArn=created["arn"])["Tags"]}
    assert tags == dict(TAGS, Name=name)
    # The apex and its wildcard share one record: two records for three names, each name covered once.
    records = created["validation_records"]
    assert len(records) == 2 and all(r["type"] == "CNAME" and r["value"] for r in records)
    assert sorted(d for r in records for d in r["domains"]) == sorted([domain, f"*.{domain}", f"www.{domain}"])
    expected = {(o["ResourceRecord"]["Name"], o["ResourceRecord"]["Value"]) for o in cert["DomainValidationOptions"]}
    assert {(r["name"], r["value"]) for r in records} == expected

    rerun = run_module(endpoint, "acm_dns_certificate", args, diff=True)
    assert not rerun["changed"] and rerun["arn"] == created["arn"] and rerun["validation_records"] == records
    assert rerun["diff"]["before"] == rerun["diff"]["after"]
    assert not run_module(endpoint, "acm_dns_certificate", args, check=True)["changed"]

    retagged = run_module(endpoint, "acm_dns_certificate", dict(args, tags=dict(TAGS, Owner="web")))
    assert retagged["changed"] and retagged["arn"] == created["arn"]
    tags = {t["Key"]: t["Value"] for t in acm.list_tags_for_certificate(CertificateArn=created["arn"])["Tags"]}
    assert tags == dict(TAGS, Owner="web", Name=name)

    # Certificates are immutable: other names request a new one, and the old one is kept for the distribution.
    narrowed = dict(args, subject_alternative_names=[f"www.{domain}"], tags=dict(TAGS, Owner="web"))
    plan = run_module(endpoint, "acm_dns_certificate", narrowed, check=True)
    assert plan["changed"] and plan["arn"] == "" and plan["replaced_arn"] == created["arn"]
    assert named(acm, name) == [created["arn"]]
    replaced = run_module(endpoint, "acm_dns_certificate", narrowed)
    assert replaced["changed"] and replaced["arn"] != created["arn"] and replaced["replaced_arn"] == created["arn"]
    assert replaced["domain_names"] == [domain, f"www.{domain}"] and len(replaced["validation_records"]) == 2
    assert named(acm, name) == sorted([created["arn"], replaced["arn"]])
    again = run_module(endpoint, "acm_dns_certificate", narrowed)
    assert not again["changed"] and again["arn"] == replaced["arn"] and again["replaced_arn"] == ""
    assert again["other_arns"] == [created["arn"]]

    # Absent deletes every certificate with the Name tag, and names their records.
    gone_plan = run_module(endpoint, "acm_dns_certificate", {"name": name, "state": "absent"}, check=True)
    assert gone_plan["changed"] and sorted(gone_plan["deleted_arns"]) == named(acm, name)
    assert {(r["name"], r["value"]) for r in gone_plan["deleted_records"]} >= expected
    gone = run_module(endpoint, "acm_dns_certificate", {"name": name, "state": "absent"})
    assert gone["changed"] and named(acm, name) == []
    assert not run_module(endpoint, "acm_dns_certificate", {"name": name, "state": "absent"})["changed"]


def test_wait_until_the_validation_records_exist(endpoint, aws):
    name, domain = f"unit-cert-wait-{RUN}", f"wait-{RUN}.unit.test"
    args = {"name": name, "domain_name": domain, "subject_alternative_names": [f"*.{domain}"]}
    created = run_module(endpoint, "acm_dns_certificate", args)
    assert created["status"] == "PENDING_VALIDATION" and len(created["validation_records"]) == 1
    record = created["validation_records"][0]

    # No record in DNS: ACM cannot issue it, and the wait says which record is missing.
    started = time.monotonic()
    timed_out = run_module(endpoint, "acm_dns_certificate", dict(args, wait=True, wait_timeout=3))
    assert timed_out.get("failed") and "PENDING_VALIDATION" in timed_out["msg"] and record["name"] in timed_out["msg"]
    assert time.monotonic() - started < 20

    r53 = aws("route53")
    zone = r53.create_hosted_zone(Name=domain, CallerReference=f"unit-{RUN}")["HostedZone"]["Id"]
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
        "Name": record["name"], "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": record["value"]}]}}]})
    issued = run_module(endpoint, "acm_dns_certificate", dict(args, wait=True, wait_timeout=60))
    assert not issued.get("failed") and not issued["changed"]
    assert issued["status"] == "ISSUED" and issued["arn"] == created["arn"]

    aws("acm").delete_certificate(CertificateArn=created["arn"])
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": {
        "Name": record["name"], "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": record["value"]}]}}]})
    r53.delete_hosted_zone(Id=zone)


def test_absent_refuses_a_certificate_in_use(endpoint, aws):
    acm = aws("acm")
    name, domain = f"unit-cert-used-{RUN}", f"used-{RUN}.unit.test"
    arn = run_module(endpoint, "acm_dns_certificate", {"name": name, "domain_name": domain})["arn"]
    # A CloudFront distribution serves it: ACM lists the distribution in InUseBy and refuses the delete.
    cf = aws("cloudfront")
    config = {"CallerReference": name, "Comment": name, "Enabled": True, "Aliases": {"Quantity": 1, "Items": [domain]},
              "ViewerCertificate": {"ACMCertificateArn": arn, "SSLSupportMethod": "sni-only",
                                    "MinimumProtocolVersion": "TLSv1.2_2021"},
              "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "b.s3.us-east-1.amazonaws.com",
                                                    "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
              "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "redirect-to-https",
                                       "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}}
    dist = cf.create_distribution(DistributionConfig=config)
    planned = run_module(endpoint, "acm_dns_certificate", {"name": name, "state": "absent"}, check=True)
    assert planned["changed"] and planned["deleted_arns"] == [arn] and any("in use" in w for w in planned.get("warnings", []))
    refused = run_module(endpoint, "acm_dns_certificate", {"name": name, "state": "absent"})
    assert refused.get("failed") and arn in refused["msg"] and "distribution" in refused["msg"]
    waited = run_module(endpoint, "acm_dns_certificate", {"name": name, "state": "absent", "wait": True, "wait_timeout": 2})
    assert waited.get("failed") and arn in waited["msg"]
    assert named(acm, name) == [arn]

    disabled = cf.update_distribution(Id=dist["Distribution"]["Id"], IfMatch=dist["ETag"],
                                      DistributionConfig=dict(config, Enabled=False))
    cf.delete_distribution(Id=dist["Distribution"]["Id"], IfMatch=disabled["ETag"])
    released = run_module(endpoint, "acm_dns_certificate", {"name": name, "state": "absent", "wait": True, "wait_timeout": 60})
    assert released["changed"] and released["deleted_arns"] == [arn] and named(acm, name) == []
