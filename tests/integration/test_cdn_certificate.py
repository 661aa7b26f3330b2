"""The cdn role's certificate task files alone (tests/playbooks/cdn_certificate.yml) against the emulator:
the certificate is requested in us-east-1, its validation CNAMEs land in the zone, it is issued, and
certificate_absent.yml removes both."""
from __future__ import annotations

import json
import re
import uuid

RUN = uuid.uuid4().hex[:8]
PLAYBOOK = "../tests/playbooks/cdn_certificate"  # the fixture runs playbooks/<name>.yml


def cnames(r53, zone):
    return {(r["Name"], r["ResourceRecords"][0]["Value"])
            for r in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"] if r["Type"] == "CNAME"}


def named(acm, name):
    return [c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"]
            if {"Key": "Name", "Value": name} in acm.list_tags_for_certificate(CertificateArn=c["CertificateArn"])["Tags"]]


def test_certificate_requested_validated_and_removed(playbook, aws):
    r53, acm = aws("route53"), aws("acm")
    domain, name = f"shop-{RUN}.test", f"stream-sales-certtest-{RUN}"
    zone = r53.create_hosted_zone(Name=domain, CallerReference=f"certtest-{RUN}")["HostedZone"]["Id"].split("/")[-1]
    extra = json.dumps({"cdn_name": name, "cdn_aliases": [domain, f"www.{domain}"], "cdn_hosted_zone_id": zone})

    run = playbook(PLAYBOOK, "local", "-e", extra, "-v")  # -v: the ok wait task is shown
    [arn] = named(acm, name)
    assert f"cdn_certificate_arn={arn}" in run.out
    cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert sorted(cert["SubjectAlternativeNames"]) == [domain, f"www.{domain}"]
    wanted = {(o["ResourceRecord"]["Name"], o["ResourceRecord"]["Value"]) for o in cert["DomainValidationOptions"]}
    assert len(wanted) == 2 and cnames(r53, zone) == wanted
    # Changed: the request and the records (one loop task); the wait task ran and passed: ACM issued it
    # once its records were in the zone.
    assert cert["Status"] == "ISSUED" and run.changed == 2 and re.search(r"Wait until ACM has issued the certificate.*\n+ok: ", run.out)

    again = playbook(PLAYBOOK, "local", "-e", extra)
    assert again.changed == 0 and named(acm, name) == [arn]

    gone = playbook(PLAYBOOK, "local", "-e", extra, "-e", "cdn_certificate_tasks=certificate_absent")
    assert gone.changed == 2  # the records (one loop task) and the certificate
    assert named(acm, name) == [] and cnames(r53, zone) == set()
    r53.delete_hosted_zone(Id=zone)
