"""rds_data.data_api_runs_on_postgresql: the Data API executes on the cluster's PostgreSQL server."""
from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def target(aurora, aws):
    """(cluster, the Data API target: resourceArn, secretArn, database) with a secret holding the master credential."""
    cluster = aurora()
    sm = aws("secretsmanager")
    name = "t/" + uuid.uuid4().hex
    arn = sm.create_secret(Name=name, SecretString=json.dumps({"username": "dbadmin", "password": "FirstPassword123"}))["ARN"]
    yield cluster, {"resourceArn": cluster["DBClusterArn"], "secretArn": arn, "database": "streams"}
    sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def error(call, **kwargs):
    with pytest.raises(ClientError) as failure:
        call(**kwargs)
    return failure.value.response["Error"]["Code"], failure.value.response["Error"]["Message"]


def test_statements_parameters_and_typed_fields(target, aws, login):
    cluster, t = target
    data = aws("rds-data")
    data.execute_statement(sql="CREATE TABLE items (id serial PRIMARY KEY, name text, price numeric(8,2), "
                               "seen timestamp, tags int[], raw bytea, ok boolean)", **t)
    inserted = data.execute_statement(
        sql="INSERT INTO items (name, price, seen, tags, raw, ok) VALUES (:name, :price, :seen, '{1,2}', :raw, :ok)",
        parameters=[{"name": "name", "value": {"stringValue": "a'b"}},
                    {"name": "price", "value": {"stringValue": "12.50"}, "typeHint": "DECIMAL"},
                    {"name": "seen", "value": {"stringValue": "2026-01-02 03:04:05"}, "typeHint": "TIMESTAMP"},
                    {"name": "raw", "value": {"blobValue": b"\x00\x01"}},
                    {"name": "ok", "value": {"booleanValue": True}}], **t)
    assert inserted["numberOfRecordsUpdated"] == 1
    out = data.execute_statement(sql="SELECT id, name, price, seen, tags, raw, ok, NULL::int AS nothing, 1.5::float8 AS f "
                                     "FROM items", includeResultMetadata=True, **t)
    assert out["records"] == [[{"longValue": 1}, {"stringValue": "a'b"}, {"stringValue": "12.50"},
                               {"stringValue": "2026-01-02 03:04:05"}, {"arrayValue": {"longValues": [1, 2]}},
                               {"blobValue": b"\x00\x01"}, {"booleanValue": True}, {"isNull": True}, {"doubleValue": 1.5}]]
    meta = {c["name"]: (c["typeName"], c["type"]) for c in out["columnMetadata"]}
    assert meta["id"] == ("int4", 4) and meta["name"] == ("text", 12) and meta["tags"] == ("_int4", 2003)
    json_out = data.execute_statement(sql="SELECT id, name, ok FROM items", formatRecordsAs="JSON", **t)
    assert json.loads(json_out["formattedRecords"]) == [{"id": 1, "name": "a'b", "ok": True}] and "records" not in json_out
    # What the Data API did is real: a direct session sees it.
    with login(cluster, "FirstPassword123") as conn:
        assert conn.execute("SELECT name FROM items").fetchone() == ("a'b",)


def test_no_session_between_calls_and_one_statement_per_call(target, aws):
    ignored, t = target
    data = aws("rds-data")
    data.execute_statement(sql="SET application_name = 'mine'", **t)
    assert data.execute_statement(sql="SHOW application_name", **t)["records"] != [[{"stringValue": "mine"}]]
    code, message = error(data.execute_statement, sql="SELECT 1; SELECT 2", **t)
    assert code == "DatabaseErrorException" and message.endswith("; SQLState: 42601")
    code, message = error(data.execute_statement, sql="SELECT * FROM missing_table", **t)
    assert (code, message) == ("DatabaseErrorException",
                               'ERROR: relation "missing_table" does not exist\n  Position: 15; SQLState: 42P01')


def test_transactions(target, aws):
    ignored, t = target
    data = aws("rds-data")
    data.execute_statement(sql="CREATE TABLE counter (n int)", **t)
    tx = data.begin_transaction(**t)["transactionId"]
    data.execute_statement(sql="INSERT INTO counter VALUES (1)", transactionId=tx, **t)
    batch = data.batch_execute_statement(sql="INSERT INTO counter VALUES (:n)", transactionId=tx,
                                         parameterSets=[[{"name": "n", "value": {"longValue": i}}] for i in (2, 3)], **t)
    assert len(batch["updateResults"]) == 2
    assert data.execute_statement(sql="SELECT count(*) FROM counter", **t)["records"] == [[{"longValue": 0}]]
    assert data.commit_transaction(resourceArn=t["resourceArn"], secretArn=t["secretArn"],
                                   transactionId=tx)["transactionStatus"] == "Transaction Committed"
    assert data.execute_statement(sql="SELECT count(*) FROM counter", **t)["records"] == [[{"longValue": 3}]]

    tx = data.begin_transaction(**t)["transactionId"]
    data.execute_statement(sql="DELETE FROM counter", transactionId=tx, **t)
    assert data.rollback_transaction(resourceArn=t["resourceArn"], secretArn=t["secretArn"],
                                     transactionId=tx)["transactionStatus"] == "Rollback Complete"
    assert data.execute_statement(sql="SELECT count(*) FROM counter", **t)["records"] == [[{"longValue": 3}]]
    code, ignored = error(data.execute_statement, sql="SELECT 1", transactionId=tx, **t)
    assert code == "TransactionNotFoundException"

    # A failed statement aborts the transaction; COMMIT then rolls back and says so.
    tx = data.begin_transaction(**t)["transactionId"]
    data.execute_statement(sql="INSERT INTO counter VALUES (4)", transactionId=tx, **t)
    error(data.execute_statement, sql="SELECT 1/0", transactionId=tx, **t)
    code, message = error(data.commit_transaction, resourceArn=t["resourceArn"], secretArn=t["secretArn"], transactionId=tx)
    assert code == "DatabaseErrorException" and message.endswith("SQLState: 25P02")
    assert data.execute_statement(sql="SELECT count(*) FROM counter", **t)["records"] == [[{"longValue": 3}]]


def test_authorised_by_the_secret(target, aws):
    cluster, t = target
    data, sm = aws("rds-data"), aws("secretsmanager")
    # The database defaults to the one named as the user.
    code, message = error(data.execute_statement, sql="SELECT 1", resourceArn=t["resourceArn"], secretArn=t["secretArn"])
    assert (code, message) == ("DatabaseErrorException", 'ERROR: database "dbadmin" does not exist; SQLState: 3D000')
    # The secret's AWSCURRENT is read on every call: an old password stops working.
    sm.put_secret_value(SecretId=t["secretArn"], SecretString=json.dumps({"username": "dbadmin", "password": "NotThePassword1"}))
    code, message = error(data.execute_statement, sql="SELECT 1", **t)
    assert (code, message) == ("DatabaseErrorException",
                               'FATAL: password authentication failed for user "dbadmin"; SQLState: 28P01')
    aws("rds").modify_db_cluster(DBClusterIdentifier=cluster["DBClusterIdentifier"], MasterUserPassword="NotThePassword1",
                                 ApplyImmediately=True)
    assert data.execute_statement(sql="SELECT current_user", **t)["records"] == [[{"stringValue": "dbadmin"}]]
    code, ignored = error(data.execute_statement, sql="SELECT 1", resourceArn=t["resourceArn"],
                          secretArn=t["secretArn"] + "-missing", database="streams")
    assert code == "SecretsErrorException"


def test_the_cluster_must_have_the_data_api_on(target, aws):
    cluster, t = target
    data, rds = aws("rds-data"), aws("rds")
    rds.disable_http_endpoint(ResourceArn=cluster["DBClusterArn"])
    code, message = error(data.execute_statement, sql="SELECT 1", **t)
    assert code == "HttpEndpointNotEnabledException" and cluster["DBClusterIdentifier"] in message
    rds.enable_http_endpoint(ResourceArn=cluster["DBClusterArn"])
    assert data.execute_statement(sql="SELECT 1", **t)["records"] == [[{"longValue": 1}]]
    code, ignored = error(data.execute_statement, sql="SELECT 1", **dict(t, resourceArn=t["resourceArn"] + "x"))
    assert code == "HttpEndpointNotEnabledException"


def test_strings_bind_as_varchar_unless_hinted_and_a_transaction_keeps_its_session(target, aws, login):
    cluster, t = target
    data = aws("rds-data")
    data.execute_statement(sql="CREATE TABLE ts (t timestamptz)", **t)
    value = {"name": "t", "value": {"stringValue": "2024-01-02 03:04:05.123456"}}
    code, message = error(data.execute_statement, sql="INSERT INTO ts VALUES (:t)", parameters=[value], **t)
    assert code == "DatabaseErrorException" and message.endswith("SQLState: 42804")  # varchar into timestamptz
    data.execute_statement(sql="INSERT INTO ts VALUES (:t)", parameters=[dict(value, typeHint="TIMESTAMP")], **t)
    with login(cluster, "FirstPassword123") as conn:  # the Data API's sessions run in UTC
        assert conn.execute("SELECT t AT TIME ZONE 'UTC' FROM ts").fetchone()[0].isoformat() == "2024-01-02T03:04:05.123456"
    tx = data.begin_transaction(**t)["transactionId"]
    data.execute_statement(sql="SET application_name = 'sticky'", transactionId=tx, **t)
    assert data.execute_statement(sql="SHOW application_name", transactionId=tx, **t)["records"] == [[{"stringValue": "sticky"}]]
    data.rollback_transaction(resourceArn=t["resourceArn"], secretArn=t["secretArn"], transactionId=tx)
