"""Fix dynamodb.table_id_reported: CreateTable and DescribeTable return the TableId."""
from __future__ import annotations

import uuid


def test_table_id_is_a_stable_uuid(aws):
    ddb = aws("dynamodb")
    name = f"emu-table-id-{uuid.uuid4().hex[:8]}"
    created = ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                               AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                               BillingMode="PAY_PER_REQUEST")["TableDescription"]
    table_id = created["TableId"]
    assert str(uuid.UUID(table_id)) == table_id
    assert ddb.describe_table(TableName=name)["Table"]["TableId"] == table_id
    other = ddb.create_table(TableName=name + "-2", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST")["TableDescription"]["TableId"]
    assert other != table_id
