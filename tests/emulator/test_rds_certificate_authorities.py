"""Fix rds.certificate_authorities_described: DescribeCertificates and the instances' CA."""
from __future__ import annotations

import datetime

import pytest
from botocore.exceptions import ClientError


def test_certificates_listed_and_new_instances_use_the_default(aws, aurora):
    rds = aws("rds")
    listed = rds.describe_certificates()
    names = [c["CertificateIdentifier"] for c in listed["Certificates"]]
    assert names[0] == "rds-ca-rsa2048-g1" and {"rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"} <= set(names)
    assert listed["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
    one = rds.describe_certificates(CertificateIdentifier="rds-ca-rsa2048-g1")["Certificates"]
    assert len(one) == 1 and one[0]["ValidTill"] > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3650)
    with pytest.raises(ClientError) as err:
        rds.describe_certificates(CertificateIdentifier="rds-ca-2015")
    assert err.value.response["Error"]["Code"] == "CertificateNotFound"

    name = aurora()["DBClusterIdentifier"]
    rds.create_db_instance(DBInstanceIdentifier=f"{name}-c", DBClusterIdentifier=name, Engine="aurora-postgresql",
                           DBInstanceClass="db.serverless")
    instance = rds.describe_db_instances(DBInstanceIdentifier=f"{name}-c")["DBInstances"][0]
    assert instance["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    assert instance["CertificateDetails"]["CAIdentifier"] == "rds-ca-rsa2048-g1"
    assert instance["CertificateDetails"]["ValidTill"] == one[0]["ValidTill"]
