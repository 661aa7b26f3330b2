"""Fix acm.certificates_in_use_by_distributions: InUseBy names the CloudFront distributions serving a
certificate, which cannot be deleted while they do (moto reported it unused and deleted it)."""
from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError


def test_certificate_served_by_a_distribution_stays(aws):
    acm, cf, name = aws("acm"), aws("cloudfront"), f"inuse-{uuid.uuid4().hex[:8]}"
    arn = acm.request_certificate(DomainName=f"{name}.test", ValidationMethod="DNS")["CertificateArn"]
    config = {"CallerReference": name, "Comment": name, "Enabled": True,
              "Aliases": {"Quantity": 1, "Items": [f"{name}.test"]},
              "ViewerCertificate": {"ACMCertificateArn": arn, "SSLSupportMethod": "sni-only",
                                    "MinimumProtocolVersion": "TLSv1.2_2021"},
              "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "b.s3.us-east-1.amazonaws.com",
                                                    "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
              "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "redirect-to-https",
                                       "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}}
    dist = cf.create_distribution(DistributionConfig=config)
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"] == [dist["Distribution"]["ARN"]]
    [summary] = [c for c in acm.list_certificates(CertificateStatuses=["PENDING_VALIDATION"])["CertificateSummaryList"]
                 if c["CertificateArn"] == arn]
    assert summary["InUse"] is True
    with pytest.raises(ClientError) as in_use:
        acm.delete_certificate(CertificateArn=arn)
    assert in_use.value.response["Error"]["Code"] == "ResourceInUseException"

    disabled = cf.update_distribution(Id=dist["Distribution"]["Id"], IfMatch=dist["ETag"],
                                      DistributionConfig=dict(config, Enabled=False))
    cf.delete_distribution(Id=dist["Distribution"]["Id"], IfMatch=disabled["ETag"])
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"] == []
    acm.delete_certificate(CertificateArn=arn)
    with pytest.raises(ClientError) as gone:
        acm.describe_certificate(CertificateArn=arn)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
