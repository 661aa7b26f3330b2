"""Making Lambda functions on the emulator for the tests of its Lambda fixes (boto3 only)."""
from __future__ import annotations

import io
import json
import uuid
import zipfile

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def zip_of(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def role_arn(aws) -> str:
    iam = aws("iam")
    try:
        return iam.get_role(RoleName="emulator-test-lambda")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName="emulator-test-lambda", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]


def make_function(aws, code: str, *, name: str | None = None, handler: str = "index.handler",
                  filename: str = "index.mjs", env: dict | None = None, timeout: int = 10, extra: dict | None = None) -> str:
    name = name or f"emu-{uuid.uuid4().hex[:10]}"
    files = {filename: code, **(extra or {})}
    aws("lambda").create_function(
        FunctionName=name, Runtime="nodejs20.x", Role=role_arn(aws), Handler=handler, Timeout=timeout,
        Code={"ZipFile": zip_of(files)}, Environment={"Variables": env or {}})
    return name


def make_table(aws, prefix: str) -> str:
    """An on-demand table with a string key `id`, named uniquely (the emulator is shared by the tests)."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    aws("dynamodb").create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                 AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                 BillingMode="PAY_PER_REQUEST")
    return name
