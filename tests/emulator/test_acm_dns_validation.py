"""Fix acm.dns_validation_by_route53_records: a DNS-validated certificate is issued once every validation
CNAME is in a Route 53 zone with ACM's value (moto issued it after 60 s, records or not)."""
from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def zone(aws):
    r53, domain = aws("route53"), f"shop-{uuid.uuid4().hex[:8]}.test"
    zone_id = r53.create_hosted_zone(Name=domain, CallerReference=domain)["HostedZone"]["Id"]
    yield r53, zone_id, domain


def upsert(r53, zone_id, record, action="UPSERT"):
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": action, "ResourceRecordSet": {"Name": record["Name"], "Type": record["Type"], "TTL": 300,
                                                "ResourceRecords": [{"Value": record["Value"]}]}}]})


def describe(acm, arn):
    return acm.describe_certificate(CertificateArn=arn)["Certificate"]


def test_issued_once_every_record_is_in_the_zone(aws, zone):
    r53, zone_id, domain = zone
    acm = aws("acm")
    arn = acm.request_certificate(DomainName=domain, SubjectAlternativeNames=[domain, f"www.{domain}", f"*.{domain}"],
                                  ValidationMethod="DNS")["CertificateArn"]
    cert = describe(acm, arn)
    assert cert["Status"] == "PENDING_VALIDATION"
    assert cert["SubjectAlternativeNames"] == [domain, f"www.{domain}", f"*.{domain}"]
    assert "NotAfter" not in cert and "IssuedAt" not in cert
    options = {o["DomainName"]: o for o in cert["DomainValidationOptions"]}
    assert set(options) == {domain, f"www.{domain}", f"*.{domain}"}
    assert {o["ValidationStatus"] for o in options.values()} == {"PENDING_VALIDATION"}
    # A wildcard shares its apex's record; other names have their own.
    assert options[f"*.{domain}"]["ResourceRecord"] == options[domain]["ResourceRecord"]
    assert options[f"www.{domain}"]["ResourceRecord"] != options[domain]["ResourceRecord"]
    assert options[domain]["ResourceRecord"]["Name"].endswith(f".{domain}.")
    assert options[domain]["ResourceRecord"]["Value"].endswith(".acm-validations.aws.")

    # A record with another value does not count.
    upsert(r53, zone_id, dict(options[domain]["ResourceRecord"], Value="_wrong.acm-validations.aws."))
    assert describe(acm, arn)["Status"] == "PENDING_VALIDATION"

    upsert(r53, zone_id, options[domain]["ResourceRecord"])
    cert = describe(acm, arn)
    statuses = {o["DomainName"]: o["ValidationStatus"] for o in cert["DomainValidationOptions"]}
    assert cert["Status"] == "PENDING_VALIDATION"
    assert statuses == {domain: "SUCCESS", f"*.{domain}": "SUCCESS", f"www.{domain}": "PENDING_VALIDATION"}

    upsert(r53, zone_id, options[f"www.{domain}"]["ResourceRecord"])
    cert = describe(acm, arn)
    assert cert["Status"] == "ISSUED" and "IssuedAt" in cert and "NotAfter" in cert
    assert {o["ValidationStatus"] for o in cert["DomainValidationOptions"]} == {"SUCCESS"}
    listed = acm.list_certificates(CertificateStatuses=["ISSUED"])["CertificateSummaryList"]
    assert arn in [c["CertificateArn"] for c in listed]

    # Once issued, it stays issued without the records.
    for record in (options[domain]["ResourceRecord"], options[f"www.{domain}"]["ResourceRecord"]):
        upsert(r53, zone_id, record, action="DELETE")
    assert describe(acm, arn)["Status"] == "ISSUED"


def test_records_are_per_account_and_domain(aws, zone):
    domain = zone[2]
    acm = aws("acm")
    first = acm.request_certificate(DomainName=domain, ValidationMethod="DNS")["CertificateArn"]
    second = acm.request_certificate(DomainName=domain, ValidationMethod="DNS",
                                     SubjectAlternativeNames=[domain, f"api.{domain}"])["CertificateArn"]
    records = [{o["DomainName"]: o["ResourceRecord"] for o in describe(acm, arn)["DomainValidationOptions"]}
               for arn in (first, second)]
    assert records[0][domain] == records[1][domain] and records[1][f"api.{domain}"] != records[1][domain]


def test_never_issued_without_its_records(aws):
    acm = aws("acm")
    arn = acm.request_certificate(DomainName=f"nozone-{uuid.uuid4().hex[:8]}.test", ValidationMethod="DNS")["CertificateArn"]
    assert describe(acm, arn)["Status"] == "PENDING_VALIDATION"
