"""DynamoDB: tables described as AWS describes them."""
from __future__ import annotations

from moto.dynamodb.models.table import Table
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


FIXES = (table_id_reported,)
