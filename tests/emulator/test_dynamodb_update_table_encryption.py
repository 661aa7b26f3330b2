"""Fix dynamodb.encryption_changed_by_update_table: UpdateTable applies SSESpecification."""
from __future__ import annotations

from lambda_helpers import make_table


def test_table_key_changes_and_goes_back_to_the_aws_owned_key(aws):
    ddb, kms = aws("dynamodb"), aws("kms")
    table = make_table(aws, "emu-sse")
    assert "SSEDescription" not in ddb.describe_table(TableName=table)["Table"]  # AWS owned key

    key = kms.create_key()["KeyMetadata"]["Arn"]
    answer = ddb.update_table(TableName=table, SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key})
    assert answer["TableDescription"]["SSEDescription"]["KMSMasterKeyArn"] == key
    sse = ddb.describe_table(TableName=table)["Table"]["SSEDescription"]
    assert (sse["Status"], sse["SSEType"], sse["KMSMasterKeyArn"]) == ("ENABLED", "KMS", key)

    ddb.update_table(TableName=table, SSESpecification={"Enabled": True, "SSEType": "KMS"})  # aws/dynamodb
    managed = ddb.describe_table(TableName=table)["Table"]["SSEDescription"]["KMSMasterKeyArn"]
    assert managed != key and managed.startswith("arn:aws:kms:us-east-1:123456789012:key/")

    ddb.update_table(TableName=table, SSESpecification={"Enabled": False})
    assert "SSEDescription" not in ddb.describe_table(TableName=table)["Table"]
