"""Shared by the scenarios' testinfra tests: boto3 clients on the embedded emulator only."""
import json
import os

import boto3
import pytest

STATE = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], ".state", "emulator.json")


@pytest.fixture(scope="session")
def aws():
    endpoint = json.load(open(STATE))["aws_endpoint_url"]
    assert endpoint.startswith(("http://127.", "http://localhost")), "tests run against the emulator only"

    def client(service):
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    return client
