"""The scaled clock on ACM (clock.py: acm_issues_after_the_validation_delay).

A DNS-validated certificate is issued only the validation delay (times the clock factor) after
it could first be issued: once its validation records exist in Route 53, as on AWS.
"""
from __future__ import annotations

from clockwork import watch

FACTOR = 0.01  # 1.8 s


def test_pending_validation_for_the_delay_then_issued(aws, set_clock):
    set_clock(FACTOR)
    acm, r53 = aws("acm"), aws("route53")
    zone = r53.create_hosted_zone(Name="clock.example.com", CallerReference="clock-acm")["HostedZone"]["Id"]
    arn = acm.request_certificate(DomainName="www.clock.example.com", ValidationMethod="DNS")["CertificateArn"]

    def cert():
        return acm.describe_certificate(CertificateArn=arn)["Certificate"]

    options = watch(lambda: cert()["DomainValidationOptions"][0].get("ResourceRecord"), bool, limit=10)[-1][1]
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
        "Name": options["Name"], "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": options["Value"]}]}}]})
    states = watch(lambda: cert()["Status"], lambda s: s == "ISSUED", limit=30)
    assert states[0][1] == "PENDING_VALIDATION"
    assert states[-1][0] >= 1.5
    assert cert()["DomainValidationOptions"][0]["ValidationStatus"] == "SUCCESS"
