"""Bad input fails before any AWS call, naming the variable; the account is pinned before any change.

A recording proxy stands between the playbook and the emulator: it forwards every request and
notes its service and action, so a test sees exactly which AWS calls a run made.
"""
from __future__ import annotations

import http.client
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import boto3
import pytest

from harness import reset_emulator

OTHER_ACCOUNT = "111111111111"
DEPLOYER = f"arn:aws:iam::{OTHER_ACCOUNT}:role/deployer"


class Proxy(BaseHTTPRequestHandler):
    upstream = ""
    calls: list = []

    def _forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", self.headers.get("Authorization", ""))
        target = self.headers.get("X-Amz-Target")
        found = re.search(rb"Action=([A-Za-z0-9]+)", body)
        action = target.split(".")[-1] if target else found.group(1).decode() if found else f"{self.command} {self.path}"
        Proxy.calls.append((scope.group(1) if scope else "?", action))
        target = urlparse(Proxy.upstream)
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        headers["Host"] = f"{target.hostname}:{target.port}"
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def proxy(endpoint):
    Proxy.upstream = endpoint
    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


BAD_INPUTS = [
    ("deploy", "dev", ["-e", "aurora_max_acu=6"],
     "aurora_max_acu (-e) is declared by no role or playbook of this collection, so it would be ignored; did you mean aurora_max_capacity?"),
    ("deploy", "dev", ["-e", "stream_sales_prefix=Stream-Sales/Dev"], "stream_sales_prefix 'Stream-Sales/Dev' cannot start S3 bucket and RDS names"),
    ("deploy", "dev", ["-e", "app_build_dir=/nonexistent/.open-next"], "app_build_dir '/nonexistent/.open-next' is not a folder"),
    ("deploy", "local", ["-e", "outputs_path=no-leading-slash"], "outputs_path 'no-leading-slash' is not an SSM parameter path"),
    ("deploy", "dev", ["-e", "lock_wait_seconds=-5"], "lock_wait_seconds is -5; allowed: 0 or more (seconds)."),
    ("deploy", "dev", ["-e", "deletion_protecton=true"], "deletion_protecton (-e) is declared nowhere and would be ignored; did you mean deletion_protection?"),
    ("deploy", "production", ["-e", "aws_account_id="], "aws_account_id is not set; production must name the 12-digit AWS account"),
    ("deploy", "dev", ["-e", "aws_assume_role_arn=deployer"], "aws_assume_role_arn 'deployer' is not an IAM role ARN"),
    ("migrate", "local", ["-e", "migrate_transprt=direct"], "did you mean migrate_transport?"),
    ("rotate_secrets", "local", ["-e", "rotate=jwt", "-e", "rotate_stop_aftr=create"], "did you mean rotate_stop_after?"),
    ("teardown", "dev", ["-e", "sweep_wait_timeout=-1"], "sweep_wait_timeout is -1; allowed: 0 or more"),
]


@pytest.mark.parametrize("name,env,args,message", BAD_INPUTS, ids=[c[3][:40] for c in BAD_INPUTS])
def test_bad_input_fails_before_any_aws_call(proxy, playbook, name, env, args, message):
    Proxy.calls.clear()
    run = playbook(name, env, *args, endpoint_url=proxy, check=False)
    assert run.rc != 0 and "Preflight failed, nothing was changed" in run.out, run.out[-3000:]
    assert message in " ".join(run.out.split())
    assert Proxy.calls == []


def test_wrong_account_is_refused_after_the_identity_call_only(proxy, playbook):
    Proxy.calls.clear()
    run = playbook("deploy", "production", "-e", "aws_account_id=999999999999", endpoint_url=proxy, check=False)
    assert run.rc != 0
    assert ("aws_account_id is 999999999999, but the credentials are of account 123456789012 "
            "(arn:aws:sts::123456789012:user/moto). Refused before any change") in " ".join(run.out.split())
    # The identity check is one call (caller_identity).
    assert Proxy.calls == [("sts", "GetCallerIdentity")], Proxy.calls


@pytest.fixture
def other_account(endpoint):
    """An empty emulator, and clients acting as the deployer role of the other account, as the play does."""
    reset_emulator(endpoint)
    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    creds = sts.assume_role(RoleArn=DEPLOYER, RoleSessionName="test")["Credentials"]

    def make(service):
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                            aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    return make


@pytest.mark.slow  # long tier: a second account
def test_assumed_role_deploys_into_its_account_and_no_credential_is_shown(playbook, aws, other_account):
    # The secrets are encrypted with the environment's key: in a new account the kms role goes first.
    run = playbook("deploy", "local", "--tags", "kms,secrets", "-vvv", "-e", f"aws_assume_role_arn={DEPLOYER}",
                   "-e", f"aws_account_id={OTHER_ACCOUNT}")
    names = {s["Name"] for s in other_account("secretsmanager").list_secrets()["SecretList"]}
    assert {"stream-sales/local/database/credentials", "stream-sales/local/jwt/secret"} <= names
    assert aws("secretsmanager").list_secrets()["SecretList"] == []  # nothing in the caller's own account
    assert "session_token: VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.out
    # moto's session tokens and secret keys have these shapes; neither may be printed
    assert not re.search(r"FQoGZXIvYXdzE[A-Za-z0-9/+=]{20,}", run.out)
    assert "secret_key: VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.out or "secret_key" not in run.out
    again = playbook("deploy", "local", "--tags", "kms,secrets", "-e", f"aws_assume_role_arn={DEPLOYER}",
                     "-e", f"aws_account_id={OTHER_ACCOUNT}")
    assert again.changed == 0, again.out[-3000:]
    refused = playbook("deploy", "local", "--tags", "secrets", "-e", f"aws_account_id={OTHER_ACCOUNT}", check=False)
    assert refused.rc != 0 and f"aws_account_id is {OTHER_ACCOUNT}, but the credentials are of account 123456789012" in " ".join(refused.out.split())
