"""Fixtures of the unit tests that run our modules against the emulator."""
from __future__ import annotations

import boto3
import pytest


@pytest.fixture(scope="session")
def endpoint(emulator):
    return emulator["aws_endpoint_url"]


@pytest.fixture(scope="session")
def aws(endpoint):
    """aws('ec2') -> a boto3 client on the emulator."""

    def make(service):
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    return make
