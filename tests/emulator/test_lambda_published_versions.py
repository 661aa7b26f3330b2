"""Fix awslambda.published_versions_keep_their_own_code: a version keeps the code it was published with."""
from __future__ import annotations

import io
import urllib.request
import zipfile

from lambda_helpers import make_function, zip_of


def code_of(aws, name, qualifier):
    got = aws("lambda").get_function(FunctionName=name, Qualifier=qualifier)
    data = urllib.request.urlopen(got["Code"]["Location"], timeout=30).read()
    return got["Configuration"]["CodeSha256"], zipfile.ZipFile(io.BytesIO(data)).read("index.mjs").decode()


def test_versions_report_and_serve_their_own_code_after_updates(aws):
    lam = aws("lambda")
    name = make_function(aws, "// one\nexport const handler = async () => 1;")
    lam.publish_version(FunctionName=name)
    lam.update_function_code(FunctionName=name, ZipFile=zip_of({"index.mjs": "// two\nexport const handler = async () => 2;"}))
    lam.publish_version(FunctionName=name)
    lam.update_function_code(FunctionName=name, ZipFile=zip_of({"index.mjs": "// three\nexport const handler = async () => 3;"}))
    one, two, latest = code_of(aws, name, "1"), code_of(aws, name, "2"), code_of(aws, name, "$LATEST")
    assert one[1].startswith("// one") and two[1].startswith("// two") and latest[1].startswith("// three")
    assert len({one[0], two[0], latest[0]}) == 3
    locations = {lam.get_function(FunctionName=name, Qualifier=q)["Code"]["Location"] for q in ("1", "2", "$LATEST")}
    assert len(locations) == 3
