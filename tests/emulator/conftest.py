"""Tests of the emulator's named fixes (scripts/emulator_fixes), against the emulator alone.

Each test file covers one fix: it talks to the emulator with boto3 (or psycopg) exactly as a
client of AWS would, and asserts what AWS answers. No playbook, no product code.
"""
from __future__ import annotations

import pytest
from front_control import control


@pytest.fixture
def set_faults(endpoint):
    """set_faults("throttle=1", seed=3): faults on the front door for this test, off afterwards."""
    def apply(spec: str, seed: int = 0) -> dict:
        return control(endpoint, "faults", {"spec": spec, "seed": seed})

    yield apply
    control(endpoint, "faults", {"spec": "", "seed": 0})


@pytest.fixture
def set_clock(endpoint):
    """set_clock(0.01): the scaled AWS clock for this test, instant again afterwards."""
    def apply(factor) -> dict:
        return control(endpoint, "clock", {"factor": factor})

    yield apply
    control(endpoint, "clock", {"factor": None})


@pytest.fixture(scope="session")
def direct(emulator):
    """direct('ec2'): a boto3 client on moto itself, past the front door (no faults ever)."""
    import boto3

    def make(service: str, region: str = "us-east-1"):
        return boto3.client(service, endpoint_url=emulator["aws_direct_url"], region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    return make
