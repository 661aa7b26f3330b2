"""The operation lock, run for real against the emulator's DynamoDB."""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from modules_helper import calls_of, faults, run_module


@pytest.fixture
def lock(emulator):
    endpoint = emulator["aws_endpoint_url"]
    table = f"unit-locks-{uuid.uuid4().hex[:8]}"
    base = {"table": table, "lock_id": "stream-sales-unit"}

    def call(check=False, **args):
        return run_module(endpoint, "operation_lock", dict(base, **args), check=check)

    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    yield call, ddb, table
    if table in ddb.list_tables()["TableNames"]:
        ddb.delete_table(TableName=table)


def test_second_operation_is_refused_with_the_holder(lock):
    call, ddb, table = lock
    assert call(check=True, owner="alice@laptop")["would_acquire"]
    assert table not in ddb.list_tables()["TableNames"]  # check mode wrote nothing
    first = call(owner="alice@laptop", operation="deploy")
    assert first["changed"] and first["token"]
    second = call(owner="bob@ci", operation="teardown")
    assert second.get("failed")
    assert "stream-sales-unit is locked by alice@laptop (deploy) since" in second["msg"]
    assert "-e break_lock=true" in second["msg"]
    assert call(check=True, owner="bob@ci").get("failed")
    # A release without the holder's token gives nothing back.
    assert not call(state="released", token="not-mine")["changed"]
    assert call(owner="bob@ci").get("failed")
    assert call(state="released", token=first["token"])["changed"]
    assert call(owner="bob@ci")["changed"]


def test_break_lock_and_expiry_take_over(lock):
    call, ddb, table = lock
    stale = call(owner="killed@run")
    broken = call(owner="ops@laptop", break_lock=True)
    assert broken["changed"] and broken["taken_over"]["owner"] == "killed@run"
    assert not call(state="released", token=stale["token"])["changed"]  # the old run cannot release it
    # An expired lock is taken over without being asked to.
    ddb.update_item(TableName=table, Key={"lock_id": {"S": "stream-sales-unit"}},
                    UpdateExpression="SET expires_epoch = :past", ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}})
    expired = call(owner="next@ci")
    assert expired["changed"] and expired["taken_over"]["owner"] == "ops@laptop"


def test_waits_for_a_colleague_then_takes_it(lock):
    call, ddb, table = lock
    first = call(owner="alice@laptop")
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(call, owner="bob@ci", wait_seconds=60)
        time.sleep(4)
        call(state="released", token=first["token"])
        assert waiting.result()["changed"]


def test_concurrent_takers_exactly_one_wins(lock):
    call, ddb, table = lock
    call(check=False, owner="setup")  # create the table, then free the lock
    item = ddb.get_item(TableName=table, Key={"lock_id": {"S": "stream-sales-unit"}})["Item"]
    call(state="released", token=item["token"]["S"])
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: call(owner=f"runner{n}"), range(4)))
    winners = [r for r in results if r.get("changed")]
    assert len(winners) == 1
    assert all("is locked by" in r["msg"] for r in results if r.get("failed"))


def test_table_is_deleted_only_when_nobody_else_holds_a_lock(lock):
    call, ddb, table = lock
    mine = call(owner="me")
    ddb.put_item(TableName=table, Item={"lock_id": {"S": "other"}, "owner": {"S": "them"}, "operation": {"S": "deploy"},
                                        "token": {"S": "t"}, "expires_epoch": {"N": str(int(time.time()) + 600)}})
    refused = call(state="absent", token=mine["token"])
    assert refused.get("failed") and "them" in refused["msg"]
    ddb.delete_item(TableName=table, Key={"lock_id": {"S": "other"}})
    assert call(state="absent", token=mine["token"])["changed"]
    assert table not in ddb.list_tables()["TableNames"]


def _faults(endpoint, spec):
    import json
    import urllib.request

    req = urllib.request.Request(f"{endpoint}/_stream_sales/faults", data=json.dumps({"spec": spec}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()


@pytest.fixture
def lost_answers(emulator):
    """lost_answers(regex): the emulator's front door loses the next answer of these calls (after doing them)."""
    endpoint = emulator["aws_endpoint_url"]
    yield lambda match: _faults(endpoint, rf"lost=1,count=1,match={match}")
    _faults(endpoint, "")


def test_own_lock_recognised_after_a_lost_answer(lock, lost_answers):
    """PutItem done, its answer lost, resent by the SDK -> ConditionalCheckFailed against our own write."""
    call, ddb, table = lock
    call(owner="setup")  # the table exists; free the lock again
    item = ddb.get_item(TableName=table, Key={"lock_id": {"S": "stream-sales-unit"}})["Item"]
    call(state="released", token=item["token"]["S"])
    lost_answers(r"dynamodb\.PutItem")
    taken = call(owner="me@vm", operation="deploy")
    assert taken["changed"] and taken["token"], taken.get("msg")
    held = ddb.get_item(TableName=table, Key={"lock_id": {"S": "stream-sales-unit"}}, ConsistentRead=True)["Item"]
    assert held["token"]["S"] == taken["token"]
    # A colleague is still refused, and our token gives the lock back.
    assert call(owner="bob@ci").get("failed")
    lost_answers(r"dynamodb\.DeleteItem")
    released = call(state="released", token=taken["token"])
    assert not released.get("failed"), released.get("msg")
    assert "Item" not in ddb.get_item(TableName=table, Key={"lock_id": {"S": "stream-sales-unit"}})
    lost_answers(r"dynamodb\.DeleteTable")
    gone = call(state="absent", token=taken["token"])
    assert not gone.get("failed"), gone.get("msg")
    assert table not in ddb.list_tables()["TableNames"]


def test_a_free_lock_is_taken_with_one_write(lock, emulator):
    """No DescribeTable and no GetItem before the conditional PutItem; check mode reads the lock once."""
    call, ddb, table = lock
    endpoint = emulator["aws_endpoint_url"]
    first = call(owner="setup")  # the table is made on the first take
    assert first["changed"] and table in ddb.list_tables()["TableNames"]
    assert call(state="released", token=first["token"])["changed"]
    faults(endpoint)
    taken = call(owner="me@vm", operation="deploy")
    assert taken["changed"] and "taken_over" not in taken
    assert calls_of(endpoint, "dynamodb.") == {"dynamodb.PutItem": 1}
    faults(endpoint)
    assert call(check=True, owner="bob@ci").get("failed")
    assert calls_of(endpoint, "dynamodb.") == {"dynamodb.GetItem": 1}
    assert call(state="released", token=taken["token"])["changed"]
