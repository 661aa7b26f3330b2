"""DynamoDB: tables described as AWS describes them."""
from __future__ import annotations

from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.moto_api._internal import mock_random as random


def table_id_reported() -> None:
    """CreateTable and DescribeTable return the table's TableId (a UUID fixed for the table's life), as AWS does.

    moto 5.2.5 leaves TableId out, and community.aws.dynamodb_table reads it on every run.
    """
    original = Table.describe

    def describe(self, base_key="TableDescription"):
        out = original(self, base_key)
        if not getattr(self, "_emulator_table_id", None):
            self._emulator_table_id = str(random.uuid4())
        out[base_key]["TableId"] = self._emulator_table_id
        return out

    Table.describe = describe


def encryption_changed_by_update_table() -> None:
    """UpdateTable applies SSESpecification: a customer managed key (KMS, KMSMasterKeyId), AWS's
    managed key (KMS without one), or back to the AWS owned key (Enabled false).

    moto 5.2.5 takes SSESpecification only at CreateTable and ignores it in UpdateTable, so a
    table's key could never be changed (and a rerun would ask again and again).
    """
    original = DynamoHandler.update_table

    def update_table(self):
        spec = self.body.get("SSESpecification")
        if spec is not None:
            table = self.dynamodb_backend.get_table(self.body["TableName"])
            if spec.get("Enabled") is False:
                table.sse_specification = None
            else:
                spec = dict(spec, Enabled=True)
                if not spec.get("KMSMasterKeyId"):
                    spec["KMSMasterKeyId"] = table._get_default_encryption_key(table.account_id, table.region_name)
                table.sse_specification = spec
        return original(self)

    DynamoHandler.update_table = update_table


FIXES = (table_id_reported, encryption_changed_by_update_table)
