"""Fix logs.associate_and_disassociate_kms_key: an existing log group's KMS key is set and
removed, and DescribeLogGroups shows it."""
from __future__ import annotations

import uuid

import pytest


def test_associate_and_disassociate_kms_key(aws):
    logs = aws("logs")
    name = f"/emu/kms-{uuid.uuid4().hex[:8]}"
    key = aws("kms").create_key()["KeyMetadata"]["Arn"]
    logs.create_log_group(logGroupName=name)

    def key_of():
        [group] = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
        return group.get("kmsKeyId")

    assert key_of() is None
    logs.associate_kms_key(logGroupName=name, kmsKeyId=key)
    assert key_of() == key
    logs.disassociate_kms_key(logGroupName=name)
    assert key_of() is None
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.associate_kms_key(logGroupName=f"{name}-missing", kmsKeyId=key)
    logs.delete_log_group(logGroupName=name)
