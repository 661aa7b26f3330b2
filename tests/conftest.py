"""Shared fixtures: the embedded emulator, with a guard that keeps every test off real AWS."""
from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Under pytest-xdist each worker gets its own emulator (moto + PostgreSQL), so test files that
# reset the emulator never disturb each other.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["STREAM_SALES_STATE_DIR"] = str(ROOT / ".state" / f"worker-{os.environ['PYTEST_XDIST_WORKER']}")
STATE_DIR = Path(os.environ.get("STREAM_SALES_STATE_DIR", ROOT / ".state"))
# Import the collection as Ansible does: ansible_collections.stream_sales.platform
sys.path.insert(0, str(ROOT / ".collections"))

# No test may reach real AWS: dummy credentials, no profile, no metadata service.
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_var, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_EC2_METADATA_DISABLED="true",
)


def assert_loopback(url: str) -> str:
    """The loopback guard: refuse any endpoint that is not on this machine."""
    host = urlparse(url).hostname or ""
    if host != "localhost":
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(f"refusing to test against {url}: the endpoint must be loopback")
    return url


@pytest.fixture(scope="session")
def emulator() -> dict:
    """The running emulator's state (started if needed): aws_endpoint_url, pg_admin_url, ..."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "emulator.py"), "start"],
        check=True, capture_output=True, text=True,
    ).stdout
    state = json.loads(out)
    assert_loopback(state["aws_endpoint_url"])
    assert_loopback(state["pg_admin_url"])
    return state


def pytest_sessionfinish(session, exitstatus):
    """A worker stops the emulator it started; the main one is stopped by `make emulator-stop`."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        subprocess.run([sys.executable, str(ROOT / "scripts" / "emulator.py"), "stop"], check=False)


@pytest.fixture(scope="session")
def endpoint(emulator) -> str:
    return emulator["aws_endpoint_url"]


@pytest.fixture(scope="session")
def aws(endpoint):
    """aws('ec2') -> a boto3 client on the emulator (aws('acm', 'us-west-2') for another region)."""
    import boto3

    def make(service: str, region: str = "us-east-1"):
        return boto3.client(service, endpoint_url=endpoint, region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    return make


@pytest.fixture(scope="session")
def pg_admin_url(emulator) -> str:
    """Administrative (superuser) connection URL to the real PostgreSQL server."""
    return emulator["pg_admin_url"]
