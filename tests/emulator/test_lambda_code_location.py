"""Fix awslambda.code_location_is_downloadable: GetFunction's Code.Location serves the version's zip."""
from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.request

import pytest

from lambda_helpers import make_function


def test_code_location_downloads_the_zip_that_was_uploaded(aws, endpoint):
    name = make_function(aws, "export const handler = async () => 'x';")
    got = aws("lambda").get_function(FunctionName=name)
    assert got["Code"]["RepositoryType"] == "S3"
    location = got["Code"]["Location"]
    assert location.startswith(endpoint + "/")
    data = urllib.request.urlopen(location, timeout=30).read()  # no credentials, as a presigned URL
    assert base64.b64encode(hashlib.sha256(data).digest()).decode() == got["Configuration"]["CodeSha256"]


def test_alias_location_is_its_versions(aws):
    lam = aws("lambda")
    name = make_function(aws, "export const handler = async () => 'x';")
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert lam.get_function(FunctionName=name, Qualifier="live")["Code"]["Location"].endswith(f"/{name}/1")


def test_location_of_a_deleted_function_is_gone(aws):
    lam = aws("lambda")
    name = make_function(aws, "export const handler = async () => 'x';")
    location = lam.get_function(FunctionName=name)["Code"]["Location"]
    lam.delete_function(FunctionName=name)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(location, timeout=30)
    assert err.value.code == 404
