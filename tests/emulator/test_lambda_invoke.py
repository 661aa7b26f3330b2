"""Fix awslambda.invoke_runs_the_code_with_node: Invoke runs the stored code with Node.js, as Lambda does."""
from __future__ import annotations

import base64
import json
import time

import pytest

from lambda_helpers import make_function, make_table, zip_of

ECHO = """
export const handler = async (event, context) => {
  console.log("got", JSON.stringify(event));
  return {
    event,
    env: {region: process.env.AWS_REGION, name: process.env.AWS_LAMBDA_FUNCTION_NAME,
          version: process.env.AWS_LAMBDA_FUNCTION_VERSION, mine: process.env.MINE ?? null,
          key: process.env.AWS_ACCESS_KEY_ID ?? null, token: Boolean(process.env.AWS_SESSION_TOKEN)},
    context: {functionName: context.functionName, functionVersion: context.functionVersion,
              invokedFunctionArn: context.invokedFunctionArn, awsRequestId: context.awsRequestId,
              memoryLimitInMB: context.memoryLimitInMB, remaining: context.getRemainingTimeInMillis(),
              logGroupName: context.logGroupName},
  };
};
"""


def payload(resp):
    return json.loads(resp["Payload"].read())


def test_handler_runs_with_event_environment_and_context(aws):
    name = make_function(aws, ECHO, env={"MINE": "set"}, timeout=7)
    resp = aws("lambda").invoke(FunctionName=name, Payload=json.dumps({"hello": "world"}).encode())
    assert resp["StatusCode"] == 200 and "FunctionError" not in resp
    assert resp["ExecutedVersion"] == "$LATEST"
    out = payload(resp)
    assert out["event"] == {"hello": "world"}
    assert out["env"]["region"] == "us-east-1" and out["env"]["name"] == name and out["env"]["version"] == "$LATEST"
    assert out["env"]["mine"] == "set" and out["env"]["key"] and out["env"]["token"]
    ctx = out["context"]
    assert ctx["functionName"] == name and ctx["functionVersion"] == "$LATEST"
    assert ctx["invokedFunctionArn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert ctx["memoryLimitInMB"] == "128" and 0 < ctx["remaining"] <= 7000
    assert len(ctx["awsRequestId"]) == 36 and ctx["logGroupName"] == f"/aws/lambda/{name}"


def test_the_sdk_inside_reaches_the_emulator(aws):
    """A function writes to DynamoDB with the AWS SDK the runtime ships, as it would on AWS."""
    ddb = aws("dynamodb")
    table = make_table(aws, "emu-invoke-writes")
    code = """
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
const ddb = new DynamoDBClient({});
export const handler = async (event, context) => {
  await ddb.send(new PutItemCommand({TableName: process.env.TABLE, Item: {id: {S: context.awsRequestId}, by: {S: context.functionName}}}));
  return context.awsRequestId;
};
"""
    name = make_function(aws, code, env={"TABLE": table})
    request_id = payload(aws("lambda").invoke(FunctionName=name))
    item = ddb.get_item(TableName=table, Key={"id": {"S": request_id}})["Item"]
    assert item["by"] == {"S": name}


def test_commonjs_handler_in_a_folder_with_callback(aws):
    code = "exports.run = (event, context, callback) => { callback(null, {sum: event.a + event.b}); };"
    name = make_function(aws, code, handler="src/app.run", filename="src/app.js")
    assert payload(aws("lambda").invoke(FunctionName=name, Payload=b'{"a": 2, "b": 3}')) == {"sum": 5}


def test_error_is_unhandled_with_the_error_payload_and_log_tail(aws):
    code = 'export const handler = async () => { console.log("before"); throw new TypeError("boom"); };'
    name = make_function(aws, code)
    resp = aws("lambda").invoke(FunctionName=name, LogType="Tail")
    assert resp["StatusCode"] == 200 and resp["FunctionError"] == "Unhandled"
    err = payload(resp)
    assert err["errorType"] == "TypeError" and err["errorMessage"] == "boom" and err["trace"][0] == "TypeError: boom"
    log = base64.b64decode(resp["LogResult"]).decode()
    assert log.startswith("START RequestId: ") and "\tINFO\tbefore" in log and "Invoke Error" in log
    assert "\nEND RequestId: " in log and "\nREPORT RequestId: " in log and "Billed Duration: " in log


def test_log_tail_is_the_last_4_kb(aws):
    code = 'export const handler = async () => { for (let i = 0; i < 400; i++) console.log("line " + i); return 1; };'
    name = make_function(aws, code)
    log = base64.b64decode(aws("lambda").invoke(FunctionName=name, LogType="Tail")["LogResult"])
    assert len(log) == 4096 and b"line 399" in log and b"line 0\n" not in log and b"REPORT RequestId" in log
    assert "LogResult" not in aws("lambda").invoke(FunctionName=name)


def test_logs_go_to_the_functions_log_group(aws):
    name = make_function(aws, 'export const handler = async () => { console.log("to cloudwatch"); };')
    logs = aws("logs")
    logs.create_log_group(logGroupName=f"/aws/lambda/{name}")
    assert aws("lambda").invoke(FunctionName=name)["Payload"].read() == b"null"
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    messages = [e["message"] for e in events]
    assert any(m.endswith("\tINFO\tto cloudwatch") for m in messages) and messages[0].startswith("START RequestId")
    stream = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"][0]["logStreamName"]
    assert "/[$LATEST]" in stream


def test_missing_handler_and_module(aws):
    lam = aws("lambda")
    name = make_function(aws, "export const other = async () => 1;")
    resp = lam.invoke(FunctionName=name)
    assert resp["FunctionError"] == "Unhandled" and payload(resp)["errorType"] == "Runtime.HandlerNotFound"
    name = make_function(aws, "export const handler = async () => 1;", handler="missing.handler")
    resp = lam.invoke(FunctionName=name)
    assert payload(resp)["errorType"] == "Runtime.ImportModuleError"


def test_timeout(aws):
    name = make_function(aws, "export const handler = () => new Promise((r) => setTimeout(r, 60000));", timeout=1)
    started = time.monotonic()
    resp = aws("lambda").invoke(FunctionName=name)
    assert time.monotonic() - started < 8
    err = payload(resp)
    assert resp["FunctionError"] == "Unhandled" and err["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in err["errorMessage"]


def test_event_is_asynchronous_and_dry_run_runs_nothing(aws):
    ddb = aws("dynamodb")
    table = make_table(aws, "emu-invoke-async")
    code = """
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
export const handler = async (event) => {
  await new DynamoDBClient({}).send(new PutItemCommand({TableName: process.env.TABLE, Item: {id: {S: event.id}}}));
};
"""
    name = make_function(aws, code, env={"TABLE": table})
    lam = aws("lambda")
    assert lam.invoke(FunctionName=name, InvocationType="DryRun", Payload=b'{"id": "dry"}')["StatusCode"] == 204
    resp = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"id": "async"}')
    assert resp["StatusCode"] == 202 and resp["Payload"].read() == b""
    deadline = time.monotonic() + 30
    while "Item" not in ddb.get_item(TableName=table, Key={"id": {"S": "async"}}) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "Item" in ddb.get_item(TableName=table, Key={"id": {"S": "async"}})
    assert "Item" not in ddb.get_item(TableName=table, Key={"id": {"S": "dry"}})


def test_each_version_and_alias_runs_its_own_code(aws):
    lam = aws("lambda")
    name = make_function(aws, 'export const handler = async (e, c) => ["one", c.functionVersion, c.invokedFunctionArn];')
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    lam.update_function_code(FunctionName=name, ZipFile=zip_of(
        {"index.mjs": 'export const handler = async (e, c) => ["two", c.functionVersion, c.invokedFunctionArn];'}))
    lam.publish_version(FunctionName=name)
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert payload(lam.invoke(FunctionName=name, Qualifier="1")) == ["one", "1", f"{arn}:1"]
    assert payload(lam.invoke(FunctionName=name, Qualifier="live")) == ["one", "1", f"{arn}:live"]
    assert lam.invoke(FunctionName=f"{name}:live")["ExecutedVersion"] == "1"
    assert payload(lam.invoke(FunctionName=name, Qualifier="2")) == ["two", "2", f"{arn}:2"]
    assert payload(lam.invoke(FunctionName=name)) == ["two", "$LATEST", arn]
    lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2")
    assert payload(lam.invoke(FunctionName=f"{arn}:live"))[:2] == ["two", "2"]


def test_payload_must_be_json(aws):
    lam = aws("lambda")
    name = make_function(aws, "export const handler = async (e) => e;")
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName=name, Payload=b"not json")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=name, Qualifier="9")


def test_sqs_event_source_mapping_invokes_the_function(aws):
    ddb, sqs, lam = aws("dynamodb"), aws("sqs"), aws("lambda")
    table = make_table(aws, "emu-invoke-sqs")
    code = """
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
export const handler = async (event) => {
  for (const r of event.Records) await new DynamoDBClient({}).send(new PutItemCommand({TableName: process.env.TABLE, Item: {id: {S: r.body}}}));
  return {batchItemFailures: []};
};
"""
    name = make_function(aws, code, env={"TABLE": table})
    url = sqs.create_queue(QueueName=table)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam.create_event_source_mapping(FunctionName=name, EventSourceArn=arn, BatchSize=1)
    sqs.send_message(QueueUrl=url, MessageBody="from-sqs")
    assert "Item" in ddb.get_item(TableName=table, Key={"id": {"S": "from-sqs"}})


def test_streaming_handler_answers_a_buffered_invoke(aws):
    """awslambda.streamifyResponse exists as in the runtime; Invoke returns what the handler streamed."""
    code = """
export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const stream = awslambda.HttpResponseStream.from(responseStream, {statusCode: 200, headers: {"content-type": "text/plain"}});
  stream.write("hello ");
  stream.write(event.who);
  stream.end();
});
"""
    name = make_function(aws, code)
    raw = aws("lambda").invoke(FunctionName=name, Payload=b'{"who": "stream"}')["Payload"].read()
    prelude, body = raw.split(b"\0" * 8, 1)
    assert json.loads(prelude) == {"statusCode": 200, "headers": {"content-type": "text/plain"}} and body == b"hello stream"
