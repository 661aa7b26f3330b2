"""CloudWatch Logs: the KMS key of an existing log group."""
from __future__ import annotations

import json


def associate_and_disassociate_kms_key() -> None:
    """AssociateKmsKey and DisassociateKmsKey set and remove the KMS key of an existing log
    group, as AWS does; DescribeLogGroups then shows it (`kmsKeyId`).

    moto 5.2.5 takes `kmsKeyId` only at CreateLogGroup and answers both actions as unknown, so a
    group made before its environment had a key could never be encrypted.
    """
    from moto.logs.exceptions import ResourceNotFoundException
    from moto.logs.responses import LogsResponse

    def group_of(self):
        name = self._get_param("logGroupName")
        group = self.logs_backend.groups.get(name)
        if group is None:
            raise ResourceNotFoundException()
        return group

    def associate_kms_key(self):
        group_of(self).kms_key_id = self._get_param("kmsKeyId")
        return json.dumps({})

    def disassociate_kms_key(self):
        group_of(self).kms_key_id = None
        return json.dumps({})

    LogsResponse.associate_kms_key = associate_kms_key
    LogsResponse.disassociate_kms_key = disassociate_kms_key


FIXES = (associate_and_disassociate_kms_key,)
