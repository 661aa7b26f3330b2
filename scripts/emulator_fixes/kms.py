"""KMS: key rotation answered as AWS answers it."""
from __future__ import annotations

import json
from datetime import timedelta

from moto.core.utils import unix_time, utcnow
from moto.kms.exceptions import ValidationException
from moto.kms.responses import KmsResponse


def key_rotation_period_reported() -> None:
    """EnableKeyRotation takes RotationPeriodInDays (90 to 2560, 365 when omitted), and
    GetKeyRotationStatus reports it with KeyId and NextRotationDate, as AWS does since 2024.

    moto 5.2.5 ignores the period and answers only KeyRotationEnabled, so a client that asks for
    a period can never see it set (a rerun would change the key again and again).
    """
    enable = KmsResponse.enable_key_rotation
    status = KmsResponse.get_key_rotation_status

    def enable_key_rotation(self):
        period = self._get_param("RotationPeriodInDays")
        if period is not None and not 90 <= int(period) <= 2560:
            raise ValidationException(
                f"1 validation error detected: Value '{period}' at 'rotationPeriodInDays' failed to satisfy "
                "constraint: Member must have value between 90 and 2560")
        answer = enable(self)
        key = self.kms_backend.keys[self.kms_backend.get_key_id(self._get_param("KeyId"))]
        key.emulator_rotation_period = int(period or 365)
        key.emulator_rotation_enabled_at = utcnow()
        return answer

    def get_key_rotation_status(self):
        answer = json.loads(status(self))
        key = self.kms_backend.keys[self.kms_backend.get_key_id(self._get_param("KeyId"))]
        answer["KeyId"] = key.id
        if answer.get("KeyRotationEnabled"):
            period = getattr(key, "emulator_rotation_period", 365)
            since = getattr(key, "emulator_rotation_enabled_at", None) or utcnow()
            answer["RotationPeriodInDays"] = period
            answer["NextRotationDate"] = unix_time(since + timedelta(days=period))
        return json.dumps(answer)

    KmsResponse.enable_key_rotation = enable_key_rotation
    KmsResponse.get_key_rotation_status = get_key_rotation_status


FIXES = (key_rotation_period_reported,)
