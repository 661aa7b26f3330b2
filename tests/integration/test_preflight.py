"""Every preflight rule fails with its message, before any AWS call.

The playbooks are pointed at a recording HTTP server instead of the emulator: any AWS
call would show up there.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Recorder(BaseHTTPRequestHandler):
    calls: list = []

    def _record(self):
        # Refused (403): a client error no AWS client retries, so the run stops at its first call.
        # A 500 is retried with backoff, by design, for minutes.
        Recorder.calls.append((self.command, self.path))
        self.send_response(403)
        self.end_headers()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _record

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def recorder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


CASES = [
    ("dev", ["-e", "network_vpc_cidr=10.0.0.0/33"], "network_vpc_cidr '10.0.0.0/33' is not a valid IPv4 network"),
    ("dev", ["-e", "network_vpc_cidr=10.0.0.0/23"], "network_vpc_cidr 10.0.0.0/23 holds 2 /24 subnets; 3 tiers x 2 AZs need 6"),
    ("production", ["-e", "network_vpc_cidr=10.0.0.0/12", "-e", "allow_unprotected_production=true"], "has prefix /12; allowed: /16 to /24"),
    ("dev", ["-e", "network_az_count=7"], "network_az_count is 7; us-east-1 offers 6 availability zones, so allowed: 2 to 6"),
    ("dev", ["-e", "aws_region=us-west-1", "-e", "network_az_count=3"], "us-west-1 offers 2 availability zones"),
    ("dev", ["-e", "network_nat_gateway_count=3"], "network_nat_gateway_count is 3; allowed: 1 to network_az_count (2)"),
    ("dev", ["-e", "aurora_max_capacity=300"], "aurora_max_capacity is 300; allowed: 0 to 256 ACU in steps of 0.5"),
    ("dev", ["-e", "aurora_min_capacity=1.3"], "aurora_min_capacity is 1.3; allowed: 0 to 256 ACU in steps of 0.5"),
    ("staging", ["-e", "aurora_min_capacity=10"], "aurora_min_capacity (10) is above aurora_max_capacity (8)"),
    ("staging", ["-e", "aurora_auto_pause_seconds=600"], "auto-pause is allowed only with aurora_min_capacity 0"),
    ("dev", ["-e", "alarm_email=not-an-address"], "alarm_email 'not-an-address' is not an e-mail address"),
    ("dev", ["-e", "stream_sales_env=qa"], "stream_sales_env is 'qa'; allowed: dev, staging, production, local"),
    ("production", ["-e", "deletion_protection=false"], "deletion_protection is false for production; allowed only with the explicit override"),
    ("dev", ["-e", "aws_region=mars-north-1"], "aws_region 'mars-north-1' is not a known AWS region"),
    # Argument specs of every role are checked up front too, before the network role calls AWS.
    ("dev", ["-e", "storage_images_versioning=sometimes"], "storage_images_versioning"),
    ("dev", ["-e", "network_flow_logs_retention_days=8"], "network_flow_logs_retention_days"),
]


@pytest.mark.parametrize("env,args,message", CASES, ids=[c[2][:40] for c in CASES])
def test_rule_fails_before_any_aws_call(recorder, playbook, env, args, message):
    Recorder.calls.clear()
    run = playbook("deploy", env, *args, endpoint_url=recorder, check=False)
    assert run.rc != 0
    assert message in " ".join(run.out.split()), run.out[-2000:]
    assert "Preflight" in run.out
    assert Recorder.calls == []


def test_teardown_of_staging_needs_its_confirmation(recorder, playbook):
    Recorder.calls.clear()
    run = playbook("teardown", "staging", "-e", "confirm_teardown=stream-sales-production", endpoint_url=recorder, check=False)
    assert run.rc != 0
    assert "confirm_teardown must be 'stream-sales-staging' to tear down staging" in run.out
    assert Recorder.calls == []


def test_valid_input_passes_preflight_and_reaches_aws(recorder, playbook):
    Recorder.calls.clear()
    run = playbook("deploy", "dev", endpoint_url=recorder, check=False)
    assert run.rc != 0  # the recorder refuses everything
    assert Recorder.calls, "a valid deploy should have reached the (recording) AWS endpoint"
