"""Fix awslambda.alias_conflict_is_a_resource_conflict: CreateAlias of an existing alias answers
ResourceConflictException (409), Lambda's code for it, and leaves the alias as it was."""
from __future__ import annotations

import botocore.exceptions
import pytest

from lambda_helpers import make_function


def test_creating_an_existing_alias_is_a_resource_conflict(aws):
    lam = aws("lambda")
    name = make_function(aws, "export const handler = async () => 1;")
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion="$LATEST")
    error = caught.value.response
    assert error["Error"]["Code"] == "ResourceConflictException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert isinstance(caught.value, lam.exceptions.ResourceConflictException)
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == version
