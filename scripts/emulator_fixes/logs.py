"""CloudWatch Logs: the KMS key of an existing log group; the tags of log deliveries."""
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


def delivery_tags_are_the_resources_tags() -> None:
    """GetDeliverySource, GetDeliveryDestination, GetDelivery and their Describe* report the
    resource's tags as they are now (TagResource, UntagResource included), as AWS does.

    moto 5.2.5 reports the tags the creating Put/Create call carried, kept on the object apart
    from its tagger: tags added later never showed, and a put of an existing source or
    destination (which takes no tags) replaced the object and dropped them from the answer, so a
    client converging tags saw them missing forever.
    """
    from moto.logs import models as logs_models

    for cls in (logs_models.DeliverySource, logs_models.DeliveryDestination, logs_models.Delivery):
        def to_dict(self, _original=cls.to_dict):
            out = _original(self)
            region, account = self.arn.split(":")[3:5]
            tags = logs_models.logs_backends[account][region].tagger.get_tag_dict_for_resource(self.arn)
            out.pop("tags", None)
            if tags:
                out["tags"] = tags
            return out

        cls.to_dict = to_dict


FIXES = (associate_and_disassociate_kms_key, delivery_tags_are_the_resources_tags)
