"""Fix kms.key_rotation_period_reported: the rotation period is taken and reported."""
from __future__ import annotations

import datetime

import pytest
from botocore.exceptions import ClientError


def test_rotation_period_is_set_and_reported(aws):
    kms = aws("kms")
    key = kms.create_key(Description="emulator test")["KeyMetadata"]["KeyId"]
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False
    assert "RotationPeriodInDays" not in kms.get_key_rotation_status(KeyId=key)

    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 180
    assert status["KeyId"] == key
    days = (status["NextRotationDate"] - datetime.datetime.now(datetime.timezone.utc)).days
    assert 178 <= days <= 180

    kms.enable_key_rotation(KeyId=key)  # AWS's default period
    assert kms.get_key_rotation_status(KeyId=key)["RotationPeriodInDays"] == 365

    kms.disable_key_rotation(KeyId=key)
    assert "RotationPeriodInDays" not in kms.get_key_rotation_status(KeyId=key)


def test_rotation_period_out_of_range_is_refused(aws):
    kms = aws("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as err:
        kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=3000)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False
