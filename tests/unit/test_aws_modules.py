"""Our AWS modules, run for real against the emulator: check mode, idempotence, diff, absent
(the network modules: test_network_modules.py)."""
from __future__ import annotations

import json
import uuid

from modules_helper import calls_of, faults, run_module

TAGS = {"Environment": "unit", "Project": "StreamSales"}
RUN = uuid.uuid4().hex[:8]  # names unique to this run: the tests never depend on earlier state


def test_generated_secret_is_created_once_and_never_shown(endpoint, aws):
    sm = aws("secretsmanager")
    args = {"name": f"unit/db-{RUN}", "template": {"username": "dbadmin", "port": "5432"}, "generate_key": "password",
            "length": 32, "description": "unit", "tags": TAGS}
    planned = run_module(endpoint, "secretsmanager_generated_secret", args, check=True, diff=True)
    assert planned["changed"] and sm.list_secrets(Filters=[{"Key": "name", "Values": [f"unit/db-{RUN}"]}])["SecretList"] == []
    created = run_module(endpoint, "secretsmanager_generated_secret", args)
    value = json.loads(sm.get_secret_value(SecretId=f"unit/db-{RUN}")["SecretString"])
    assert value["username"] == "dbadmin" and len(value["password"]) == 32 and value["password"].isalnum()
    assert created["secret"]["json_keys"] == ["password", "port", "username"]
    assert value["password"] not in created["_stdout"]
    rerun = run_module(endpoint, "secretsmanager_generated_secret", args)
    assert not rerun["changed"]
    described = run_module(endpoint, "secretsmanager_generated_secret", dict(args, description="new words"), diff=True)
    assert described["changed"] and described["diff"]["after"]["description"] == "new words"
    assert json.loads(sm.get_secret_value(SecretId=f"unit/db-{RUN}")["SecretString"]) == value
    assert len(sm.list_secret_version_ids(SecretId=f"unit/db-{RUN}")["Versions"]) == 1
    # Deleted with a recovery window, then deployed again: restored with its old value.
    assert run_module(endpoint, "secretsmanager_generated_secret", {"name": f"unit/db-{RUN}", "state": "absent", "recovery_window_days": 7})["changed"]
    restored = run_module(endpoint, "secretsmanager_generated_secret", dict(args, description="new words"))
    assert restored["changed"]
    assert json.loads(sm.get_secret_value(SecretId=f"unit/db-{RUN}")["SecretString"]) == value
    assert run_module(endpoint, "secretsmanager_generated_secret", {"name": f"unit/db-{RUN}", "state": "absent", "recovery_window_days": 0})["changed"]
    assert sm.list_secrets(Filters=[{"Key": "name", "Values": [f"unit/db-{RUN}"]}])["SecretList"] == []


def test_generated_secret_rejects_bad_length_before_any_call(endpoint):
    bad = run_module("http://127.0.0.1:9", "secretsmanager_generated_secret", {"name": "x", "length": 2})
    assert bad.get("failed") and "length is 2; allowed: 4 to 4096" in bad["msg"]


def stored(aws, path):
    """The outputs as SSM Parameter Store holds them."""
    params = aws("ssm").get_parameters_by_path(Path=path)["Parameters"]
    return {p["Name"].rsplit("/", 1)[1]: p["Value"] for p in params}


def test_stack_outputs_write_only_what_changed_and_read_back(endpoint, aws):
    path = f"/stream-sales/unit-{RUN}/outputs"
    first = run_module(endpoint, "stack_outputs", {"path": path, "outputs": {"VPCId": "vpc-1", "Empty": ""}, "tags": TAGS})
    assert first["changed"] and first["outputs"] == {"VPCId": "vpc-1"}
    assert not run_module(endpoint, "stack_outputs", {"path": path, "outputs": {"VPCId": "vpc-1"}, "tags": TAGS})["changed"]
    diff = run_module(endpoint, "stack_outputs", {"path": path, "outputs": {"VPCId": "vpc-2", "JWTSecretArn": "arn:x"}}, diff=True)
    assert diff["changed"] and diff["diff"]["before"] == {"VPCId": "vpc-1"}
    assert stored(aws, path) == {"VPCId": "vpc-2", "JWTSecretArn": "arn:x"}
    tags = aws("ssm").list_tags_for_resource(ResourceType="Parameter", ResourceId=f"{path}/VPCId")["TagList"]
    assert {"Key": "Environment", "Value": "unit"} in tags
    purged = run_module(endpoint, "stack_outputs", {"path": path, "outputs": {"VPCId": "vpc-2"}, "purge": True})
    assert purged["changed"] and stored(aws, path) == {"VPCId": "vpc-2"}
    assert run_module(endpoint, "stack_outputs", {"path": path, "state": "absent"})["changed"]
    assert stored(aws, path) == {}


def test_stack_outputs_read_the_tags_of_kept_parameters_in_one_call(endpoint, aws):
    """A no-change run: the parameters and one tagging API read for all their tags. A parameter whose
    tags changed meanwhile is read on its own (the tagging API only confirms) and retagged."""
    ssm, path = aws("ssm"), f"/stream-sales/unit-tags-{RUN}/outputs"
    args = {"path": path, "outputs": {"VPCId": "vpc-1", "BucketName": "b", "TableName": "t"}, "tags": TAGS}
    assert run_module(endpoint, "stack_outputs", args)["changed"]
    faults(endpoint)
    assert not run_module(endpoint, "stack_outputs", args)["changed"]
    assert calls_of(endpoint, "") == {"ssm.GetParametersByPath": 1, "resourcegroupstaggingapi.GetResources": 1}
    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=f"{path}/BucketName", Tags=[{"Key": "Stray", "Value": "x"}])
    faults(endpoint)
    assert run_module(endpoint, "stack_outputs", args)["changed"]
    assert calls_of(endpoint, "ssm.ListTagsForResource") == {"ssm.ListTagsForResource": 1}
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=f"{path}/BucketName")["TagList"]
    assert {t["Key"]: t["Value"] for t in tags} == TAGS
    run_module(endpoint, "stack_outputs", {"path": path, "state": "absent"})


def test_stack_outputs_adopt_a_put_resent_after_a_lost_answer(endpoint, aws):
    """A new parameter's PutParameter took effect, its answer lost; the resend finds it there
    (ParameterAlreadyExists): the module overwrites the value and tags it (chaos lost_answers seeds 2, 4, 5)."""
    import urllib.request

    def faults(spec):
        req = urllib.request.Request(f"{endpoint}/_stream_sales/faults", data=json.dumps({"spec": spec, "seed": 1}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()

    path = f"/stream-sales/unit-lost-{RUN}/outputs"
    faults("lost=1,match=ssm\\.PutParameter,count=1")
    try:
        first = run_module(endpoint, "stack_outputs", {"path": path, "outputs": {"VPCId": "vpc-1", "BucketName": "b"}, "tags": TAGS})
        counters = json.loads(urllib.request.urlopen(f"{endpoint}/_stream_sales/faults", timeout=10).read())["counters"]
    finally:
        faults("")
    assert not first.get("failed"), first.get("msg")
    assert sum(counters["faults"].values()) == 1, counters
    assert stored(aws, path) == {"VPCId": "vpc-1", "BucketName": "b"}
    for key in ("VPCId", "BucketName"):
        tags = aws("ssm").list_tags_for_resource(ResourceType="Parameter", ResourceId=f"{path}/{key}")["TagList"]
        assert {"Key": "Environment", "Value": "unit"} in tags, key
    assert not run_module(endpoint, "stack_outputs", {"path": path, "outputs": {"VPCId": "vpc-1", "BucketName": "b"}, "tags": TAGS})["changed"]
    run_module(endpoint, "stack_outputs", {"path": path, "state": "absent"})


def test_private_bucket_converges_and_empties_every_version_on_delete(endpoint, aws):
    s3 = aws("s3")
    args = {"name": f"unit-private-bucket-{RUN}", "versioning": True, "tags": TAGS,
            "cors_rules": [{"AllowedOrigins": ["https://*"], "AllowedMethods": ["GET"]}],
            "lifecycle_rules": [{"ID": "old", "Status": "Enabled", "Filter": {"Prefix": ""},
                                 "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]}
    assert run_module(endpoint, "s3_private_bucket", args, check=True)["changed"]
    assert f"unit-private-bucket-{RUN}" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert run_module(endpoint, "s3_private_bucket", args)["changed"]
    faults(endpoint)  # counters from zero
    assert not run_module(endpoint, "s3_private_bucket", args)["changed"]
    # One read per configuration S3 keeps apart (it has no batch read), versioning doubling as
    # the existence check.
    assert calls_of(endpoint, "s3") == {f"s3.{op}": 1 for op in (
        "GetBucketVersioning", "GetBucketEncryption", "GetPublicAccessBlock", "GetBucketOwnershipControls",
        "GetBucketPolicy", "GetBucketCors", "GetBucketLifecycle", "GetBucketTagging")}
    assert s3.get_bucket_ownership_controls(Bucket=f"unit-private-bucket-{RUN}")["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced"
    change = run_module(endpoint, "s3_private_bucket", dict(args, cors_rules=[]), check=True, diff=True)
    assert change["changed"] and change["updated"] == ["cors_rules"]
    for body in (b"one", b"two"):
        s3.put_object(Bucket=f"unit-private-bucket-{RUN}", Key="a.txt", Body=body)
    s3.delete_object(Bucket=f"unit-private-bucket-{RUN}", Key="a.txt")
    refused = run_module(endpoint, "s3_private_bucket", {"name": f"unit-private-bucket-{RUN}", "state": "absent"})
    assert refused.get("failed") and "force=true" in refused["msg"]
    gone = run_module(endpoint, "s3_private_bucket", {"name": f"unit-private-bucket-{RUN}", "state": "absent", "force": True})
    assert gone["changed"] and gone["deleted_objects"] == 3
    assert f"unit-private-bucket-{RUN}" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_bucket_policy_statements_share_a_policy_with_the_bucket_owner(endpoint, aws):
    s3 = aws("s3")
    name = f"unit-grants-{RUN}"
    grant = {"Sid": "CloudFrontReadsAssets", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/_assets/*",
             "Condition": {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/E1"}}}
    missing = run_module(endpoint, "s3_bucket_policy_statements", {"bucket": name, "statements": [grant]}, check=True)
    assert missing["failed"] and "does not exist" in missing["msg"]
    bucket = {"name": name, "policy_kept_sids": ["CloudFrontReadsAssets"], "force": True}
    run_module(endpoint, "s3_private_bucket", bucket)
    planned = run_module(endpoint, "s3_bucket_policy_statements", {"bucket": name, "statements": [grant]}, check=True, diff=True)
    assert planned["changed"] and [s["Sid"] for s in planned["diff"]["after"]["Statement"]] == ["DenyInsecureTransport", "CloudFrontReadsAssets"]
    assert len(json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])["Statement"]) == 1
    assert run_module(endpoint, "s3_bucket_policy_statements", {"bucket": name, "statements": [grant]})["changed"]
    assert not run_module(endpoint, "s3_bucket_policy_statements", {"bucket": name, "statements": [grant]})["changed"]
    # The bucket's owner keeps the other owner's statement: neither undoes the other.
    assert not run_module(endpoint, "s3_private_bucket", bucket)["changed"]
    moved = dict(grant, Condition={"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/E2"}})
    assert run_module(endpoint, "s3_bucket_policy_statements", {"bucket": name, "statements": [moved]})["changed"]
    stored = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])["Statement"]
    assert [s["Sid"] for s in stored] == ["DenyInsecureTransport", "CloudFrontReadsAssets"]
    assert stored[1]["Condition"]["StringEquals"]["AWS:SourceArn"].endswith("/E2")
    gone = run_module(endpoint, "s3_bucket_policy_statements", {"bucket": name, "statements": [{"Sid": "CloudFrontReadsAssets"}], "state": "absent"})
    assert gone["changed"] and [s["Sid"] for s in json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])["Statement"]] == ["DenyInsecureTransport"]
    # Without the kept Sid, the bucket's owner would remove a foreign statement.
    run_module(endpoint, "s3_bucket_policy_statements", {"bucket": name, "statements": [grant]})
    assert run_module(endpoint, "s3_private_bucket", dict(bucket, policy_kept_sids=[]))["changed"]
    run_module(endpoint, "s3_private_bucket", dict(bucket, state="absent"))
    after = run_module(endpoint, "s3_bucket_policy_statements", {"bucket": name, "statements": [{"Sid": "X"}], "state": "absent"})
    assert not after["changed"]


def test_bucket_policy_statements_trust_a_handed_over_policy_only_to_confirm(endpoint, aws):
    """current_policy (the bucket owner's result) saves the read when it already holds the grant; when
    it does not, S3's own policy is read first - a stale copy never decides a write."""
    s3 = aws("s3")
    name = f"unit-handover-{RUN}"
    grant = {"Sid": "CloudFrontReadsImages", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}
    bucket = {"name": name, "policy_kept_sids": ["CloudFrontReadsImages"], "force": True}
    run_module(endpoint, "s3_private_bucket", bucket)
    assert run_module(endpoint, "s3_bucket_policy_statements", {"bucket": name, "statements": [grant]})["changed"]
    converged = run_module(endpoint, "s3_private_bucket", bucket)["bucket"]["policy"]
    faults(endpoint)
    kept = run_module(endpoint, "s3_bucket_policy_statements", {"bucket": name, "statements": [grant], "current_policy": converged})
    assert not kept["changed"] and calls_of(endpoint, "s3.") == {}
    # A copy without the grant (stale: S3 has it): read, found there, nothing written.
    stale = {"Version": "2012-10-17", "Statement": converged["Statement"][:1]}
    faults(endpoint)
    again = run_module(endpoint, "s3_bucket_policy_statements", {"bucket": name, "statements": [grant], "current_policy": stale})
    assert not again["changed"] and calls_of(endpoint, "s3.") == {"s3.GetBucketPolicy": 1}
    # Without a copy, the policy is read: a grant removed out of band is put back.
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(stale))
    assert run_module(endpoint, "s3_bucket_policy_statements", {"bucket": name, "statements": [grant]})["changed"]
    assert [s["Sid"] for s in json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])["Statement"]] == ["DenyInsecureTransport", "CloudFrontReadsImages"]
    run_module(endpoint, "s3_private_bucket", dict(bucket, state="absent"))


def test_sync_tree_uploads_what_changed_and_keeps_only_the_previous_build(endpoint, aws, tmp_path):
    s3 = aws("s3")
    bucket = f"unit-sync-{RUN}"
    s3.create_bucket(Bucket=bucket)

    def build(name, files):
        folder = tmp_path / name
        for rel, text in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text)
        return str(folder)

    def keys():
        return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="_assets/").get("Contents", []))

    rules = [{"pattern": "_next/static/*", "value": "public,max-age=31536000,immutable"}]
    one = build("one", {"BUILD_ID": "one", "_next/static/a1.js": "a1"})
    two = build("two", {"BUILD_ID": "two", "_next/static/a2.js": "a2"})
    three = build("three", {"BUILD_ID": "three", "_next/static/a3.js": "a3"})
    args = {"bucket": bucket, "prefix": "_assets", "cache_control": rules, "prune": True}
    # Into an empty prefix: the diff's before is empty (a plan counts the uploads as creates).
    planned = run_module(endpoint, "s3_sync_tree", dict(args, src=one), check=True, diff=True)
    assert planned["changed"] and planned["diff"]["before"] == {} and len(planned["diff"]["after"]["upload"]) == 2
    first = run_module(endpoint, "s3_sync_tree", dict(args, src=one))
    assert first["changed"] and sorted(first["uploaded"]) == ["_assets/BUILD_ID", "_assets/_next/static/a1.js"]
    head = s3.head_object(Bucket=bucket, Key="_assets/_next/static/a1.js")
    assert head["CacheControl"] == "public,max-age=31536000,immutable" and head["ContentType"] == "text/javascript"
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="_manifests/_assets.json")["Body"].read())
    assert sorted(manifest["objects"]) == ["_assets/BUILD_ID", "_assets/_next/static/a1.js"] and manifest["previous"] == []
    again = run_module(endpoint, "s3_sync_tree", dict(args, src=one))
    assert not again["changed"] and again["unchanged"] == 2
    # A changed Cache-Control rule is an upload even though the bytes are the same.
    relabel = run_module(endpoint, "s3_sync_tree", dict(args, src=one, cache_control=[]), check=True, diff=True)
    assert relabel["diff"]["before"] == {"upload": [], "delete": []}  # objects there: a change
    assert relabel["changed"] and relabel["uploaded"] == ["_assets/_next/static/a1.js"]
    run_module(endpoint, "s3_sync_tree", dict(args, src=two))
    assert keys() == ["_assets/BUILD_ID", "_assets/_next/static/a1.js", "_assets/_next/static/a2.js"]
    assert not run_module(endpoint, "s3_sync_tree", dict(args, src=two))["changed"]
    third = run_module(endpoint, "s3_sync_tree", dict(args, src=three), check=True)
    assert third["deleted"] == ["_assets/_next/static/a1.js"] and len(keys()) == 3
    run_module(endpoint, "s3_sync_tree", dict(args, src=three))
    # Build one's file is gone; build two's stays for pages still open and for a rollback.
    assert keys() == ["_assets/BUILD_ID", "_assets/_next/static/a2.js", "_assets/_next/static/a3.js"]
    gone = run_module(endpoint, "s3_sync_tree", {"bucket": bucket, "prefix": "_assets", "state": "absent"})
    assert gone["changed"] and keys() == []
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="_manifests/")


def test_metric_alarms_read_the_prefix_and_all_tags_in_two_calls(endpoint, aws):
    """A no-change run: DescribeAlarms of the prefix and one tagging API read. An alarm whose tags
    changed meanwhile is read on its own and retagged; a changed threshold is an update; an alarm
    no longer wanted under the prefix is deleted."""
    cw, prefix = aws("cloudwatch"), f"unit-alarms-{RUN}-"

    def alarm(name, threshold=1):
        return {"AlarmName": prefix + name, "Namespace": "AWS/Lambda", "MetricName": "Errors", "Statistic": "Sum",
                "Period": 60, "EvaluationPeriods": 1, "Threshold": threshold, "ComparisonOperator": "GreaterThanThreshold",
                "Dimensions": [{"Name": "FunctionName", "Value": name}]}

    args = {"prefix": prefix, "alarms": [alarm("a"), alarm("b"), alarm("c")], "tags": TAGS}
    assert run_module(endpoint, "cloudwatch_metric_alarms", args)["changed"]
    faults(endpoint)
    assert not run_module(endpoint, "cloudwatch_metric_alarms", args)["changed"]
    assert calls_of(endpoint, "") == {"cloudwatch.DescribeAlarms": 1, "resourcegroupstaggingapi.GetResources": 1}
    arn = cw.describe_alarms(AlarmNames=[prefix + "b"])["MetricAlarms"][0]["AlarmArn"]
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "Stray", "Value": "x"}])
    faults(endpoint)
    retagged = run_module(endpoint, "cloudwatch_metric_alarms", args)
    assert retagged["changed"] and retagged["updated"] == [prefix + "b"]
    assert calls_of(endpoint, "cloudwatch.ListTagsForResource") == {"cloudwatch.ListTagsForResource": 1}
    assert {t["Key"]: t["Value"] for t in cw.list_tags_for_resource(ResourceARN=arn)["Tags"]} == TAGS
    moved = run_module(endpoint, "cloudwatch_metric_alarms", dict(args, alarms=[alarm("a", 5), alarm("b")]))
    assert moved["updated"] == [prefix + "a"] and moved["deleted"] == [prefix + "c"]
    found = {a["AlarmName"]: a["Threshold"] for a in cw.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]}
    assert found == {prefix + "a": 5.0, prefix + "b": 1.0}
    assert run_module(endpoint, "cloudwatch_metric_alarms", {"prefix": prefix, "state": "absent"})["changed"]
    assert cw.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"] == []


def test_caller_identity_is_one_sts_call(endpoint):
    faults(endpoint)
    found = run_module(endpoint, "caller_identity", {}, check=True)
    assert not found["changed"] and found["account"] == "123456789012" and found["arn"].startswith("arn:aws:")
    assert calls_of(endpoint, "") == {"sts.GetCallerIdentity": 1}
