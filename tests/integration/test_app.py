"""The OpenNext application (app_lambda + cdn roles): deploy, idempotence, change, rollback, verify (test_deploy.py checks the teardown).

Runs the real playbooks against the emulator and asserts the emulator's state with boto3.
"""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from harness import reset_emulator

ROOT = Path(__file__).resolve().parents[2]
ENV = "local"
PREFIX = f"stream-sales-{ENV}"
ACCOUNT = "123456789012"
SITE = f"{PREFIX}-site-{ACCOUNT}"
ROLES = ("server", "image-optimizer", "revalidation", "warmer", "tag-cache-init")
FUNCTIONS = [f"{PREFIX}-{r}" for r in ROLES]
# EC2 describe actions have no resource-level permissions: '*' is the only Resource AWS accepts.
NO_RESOURCE_LEVEL = {"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs"}

_spec = importlib.util.spec_from_file_location("build_open_next", ROOT / "example-app" / "build-open-next.py")
example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(example)


def flat(text):
    """Output with its line wrapping undone (the YAML callback folds long messages)."""
    return " ".join(text.split())


def live(aws, name):
    return aws("lambda").get_alias(FunctionName=name, Name="live")["FunctionVersion"]


def distribution(aws):
    items = aws("cloudfront").list_distributions()["DistributionList"].get("Items") or []
    found = [d for d in items if d["Comment"] == PREFIX]
    return found[0] if found else None


def invalidations(aws):
    dist = distribution(aws)
    return aws("cloudfront").list_invalidations(DistributionId=dist["Id"])["InvalidationList"].get("Quantity", 0)


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("builds")
    one, two = root / "one" / ".open-next", root / "two" / ".open-next"
    example.build(one, "build-one")
    example.build(two, "build-two")
    return {"one": str(one), "two": str(two)}


@pytest.fixture(scope="module")
def deployed(endpoint, playbook, builds):
    reset_emulator(endpoint)
    first = playbook("deploy", ENV, "-e", f"app_build_dir={builds['one']}")
    return first


def test_first_deploy_prints_cloudfront_url(deployed, aws):
    dist = distribution(aws)
    assert dist is not None
    assert f"CloudFrontURL          | https://{dist['DomainName']}" in deployed.out
    assert f"ImagesBucketURL        | https://{dist['DomainName']}/images" in deployed.out
    params = aws("ssm").get_parameters_by_path(Path=f"/stream-sales/{ENV}/outputs")["Parameters"]
    assert {p["Name"].rsplit("/", 1)[-1]: p["Value"] for p in params}["CloudFrontURL"] == f"https://{dist['DomainName']}"


def test_functions_shape(deployed, aws):
    lam = aws("lambda")
    ec2 = aws("ec2")
    cfg = {n: lam.get_function(FunctionName=n)["Configuration"] for n in FUNCTIONS}
    server = cfg[f"{PREFIX}-server"]
    private = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": [f"{PREFIX}-private-*"]}])["Subnets"]
    app_sg = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{PREFIX}-app"]}])["SecurityGroups"]
    assert sorted(server["VpcConfig"]["SubnetIds"]) == sorted(s["SubnetId"] for s in private)
    assert server["VpcConfig"]["SecurityGroupIds"] == [app_sg[0]["GroupId"]]
    assert not cfg[f"{PREFIX}-warmer"].get("VpcConfig", {}).get("SubnetIds")
    assert cfg[f"{PREFIX}-image-optimizer"]["Architectures"] == ["arm64"]
    assert server["Architectures"] == ["x86_64"] and server["Handler"] == "index.handler"
    env = server["Environment"]["Variables"]
    assert env["CACHE_BUCKET_NAME"] == SITE and env["CACHE_BUCKET_KEY_PREFIX"] == "_cache"
    assert env["REVALIDATION_QUEUE_URL"].endswith(f"{PREFIX}-revalidation.fifo")
    assert env["CACHE_DYNAMO_TABLE"] == f"{PREFIX}-tag-cache" and env["DATABASE_NAME"] == "streams"
    assert env["ENABLE_QUERY_LOGGING"] == "true" and env["ENABLE_API_LOGGING"] == "true"
    assert "OPEN_NEXT_BUILD_ID" not in env
    warm = json.loads(cfg[f"{PREFIX}-warmer"]["Environment"]["Variables"]["WARM_PARAMS"])
    assert warm == [{"function": f"{PREFIX}-server:live", "concurrency": 1}]
    for name in FUNCTIONS:
        group = aws("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
        assert len(group) == 1 and group[0]["retentionInDays"] == 7
        assert live(aws, name) == "1"
    for name in (f"{PREFIX}-server", f"{PREFIX}-image-optimizer"):
        url = lam.get_function_url_config(FunctionName=name, Qualifier="live")
        assert url["AuthType"] == "AWS_IAM" and url["InvokeMode"] == "BUFFERED"


def test_queue_table_schedule(deployed, aws, builds):
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=f"{PREFIX}-revalidation.fifo")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["FifoQueue"] == "true" and attrs["ReceiveMessageWaitTimeSeconds"] == "20"
    # On the live alias, so the queue feeds whichever version it serves.
    mappings = aws("lambda").list_event_source_mappings(FunctionName=f"{PREFIX}-revalidation:live")["EventSourceMappings"]
    assert len(mappings) == 1 and mappings[0]["BatchSize"] == 5
    assert mappings[0]["FunctionArn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{PREFIX}-revalidation:live"
    assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    table = aws("dynamodb").describe_table(TableName=f"{PREFIX}-tag-cache")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "tag", "KeyType": "HASH"}, {"AttributeName": "path", "KeyType": "RANGE"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    gsi = table["GlobalSecondaryIndexes"][0]
    assert gsi["IndexName"] == "revalidate" and gsi["Projection"]["ProjectionType"] == "ALL"
    # The tag-cache initialiser ran once after its deploy and seeded the table with the build's entries.
    seeded = json.loads((Path(builds["one"]) / "dynamodb-provider" / "dynamodb-cache.json").read_text())
    items = aws("dynamodb").scan(TableName=f"{PREFIX}-tag-cache")["Items"]
    assert sorted(items, key=json.dumps) == sorted(seeded, key=json.dumps) and len(items) == 2
    init = aws("lambda").get_function(FunctionName=f"{PREFIX}-tag-cache-init")["Tags"]
    assert init["BundleInvoked"] == init["BundleSha256"]
    rule = aws("events").describe_rule(Name=f"{PREFIX}-warmer")
    assert rule["ScheduleExpression"] == "rate(5 minutes)" and rule["State"] == "DISABLED"  # on only in production


def test_distribution_shape(deployed, aws, builds):
    cf = aws("cloudfront")
    config = cf.get_distribution_config(Id=distribution(aws)["Id"])["DistributionConfig"]
    patterns = [b["PathPattern"] for b in config["CacheBehaviors"]["Items"]]
    assert patterns == ["_next/image*", "_next/data/*", "api/*", "BUILD_ID", "_next/*", "favicon.ico", "robots.txt", "images/*"]
    targets = [b["TargetOriginId"] for b in config["CacheBehaviors"]["Items"]]
    assert targets == ["imageOptimizer", "default", "default", "s3", "s3", "s3", "s3", "images"]
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "default"
    assert config["HttpVersion"] == "http2and3" and config["PriceClass"] == "PriceClass_100" and config["IsIPV6Enabled"]
    for b in config["CacheBehaviors"]["Items"] + [config["DefaultCacheBehavior"]]:
        assert b["ViewerProtocolPolicy"] == "redirect-to-https" and b["Compress"] is True
    origins = {o["Id"]: o for o in config["Origins"]["Items"]}
    assert origins["s3"]["DomainName"] == f"{SITE}.s3.us-east-1.amazonaws.com" and origins["s3"]["OriginPath"] == "/_assets"
    assert origins["default"]["DomainName"].endswith(".lambda-url.us-east-1.on.aws")
    oacs = {o["Name"]: o for o in cf.list_origin_access_controls()["OriginAccessControlList"]["Items"]}
    assert oacs[f"{PREFIX}-s3"]["OriginAccessControlOriginType"] == "s3"
    assert oacs[f"{PREFIX}-lambda"]["OriginAccessControlOriginType"] == "lambda"
    assert oacs[f"{PREFIX}-lambda"]["SigningBehavior"] == "always"
    assert cf.describe_function(Name=f"{PREFIX}-viewer-request")["FunctionSummary"]["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    # What the distribution runs and signs with, as CloudFront reports it.
    assert origins["s3"]["OriginAccessControlId"] == oacs[f"{PREFIX}-s3"]["Id"]
    assert origins["default"]["OriginAccessControlId"] == oacs[f"{PREFIX}-lambda"]["Id"]
    live_fn = cf.describe_function(Name=f"{PREFIX}-viewer-request", Stage="LIVE")["FunctionSummary"]
    assert live_fn["Status"] == "DEPLOYED"
    server = config["DefaultCacheBehavior"]
    assert server["FunctionAssociations"]["Items"] == [
        {"FunctionARN": live_fn["FunctionMetadata"]["FunctionARN"], "EventType": "viewer-request"}]
    [signer] = server["LambdaFunctionAssociations"]["Items"]
    assert signer["EventType"] == "origin-request" and signer["IncludeBody"] is True
    assert signer["LambdaFunctionARN"].endswith(f":function:{PREFIX}-sign-body:1")
    policy_config = cf.get_cache_policy_config(Id=server["CachePolicyId"])["CachePolicyConfig"]
    assert policy_config["Name"] == f"{PREFIX}-server"
    assert policy_config["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]["Headers"]["Items"] == ["x-open-next-cache-key"]
    policy = json.loads(aws("lambda").get_policy(FunctionName=f"{PREFIX}-server", Qualifier="live")["Policy"])
    grant = [s for s in policy["Statement"] if s["Action"] == "lambda:InvokeFunctionUrl"]
    assert grant and grant[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    # The buckets let this distribution read, and no other one of the account.
    arn = cf.get_distribution(Id=distribution(aws)["Id"])["Distribution"]["ARN"]
    for bucket, sid, objects in ((SITE, "CloudFrontReadsAssets", "_assets/*"), (f"{PREFIX}-images-{ACCOUNT}", "CloudFrontReadsImages", "*")):
        statements = json.loads(aws("s3").get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
        assert [st["Sid"] for st in statements] == ["DenyInsecureTransport", sid]
        assert statements[1]["Resource"] == f"arn:aws:s3:::{bucket}/{objects}"
        assert statements[1]["Condition"] == {"StringEquals": {"AWS:SourceArn": arn}}


def test_assets_uploaded_with_cache_control_and_type(deployed, aws):
    s3 = aws("s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=SITE)["Contents"]}
    assert "_assets/BUILD_ID" in keys and "_cache/build-one/index.cache" in keys
    hashed = next(k for k in keys if k.startswith("_assets/_next/static/css/"))
    heads = {k: s3.head_object(Bucket=SITE, Key=k) for k in (hashed, "_assets/BUILD_ID", "_assets/favicon.ico")}
    assert heads[hashed]["CacheControl"] == "public,max-age=31536000,immutable"
    assert heads[hashed]["ContentType"] == "text/css"
    assert heads["_assets/BUILD_ID"]["CacheControl"] == "public,max-age=0,s-maxage=31536000,must-revalidate"
    assert heads["_assets/favicon.ico"]["ContentType"] == "image/x-icon"
    # The bucket policy is the storage role's (TLS-only deny first).
    assert json.loads(s3.get_bucket_policy(Bucket=SITE)["Policy"])["Statement"][0]["Sid"] == "DenyInsecureTransport"


def test_iam_least_privilege(deployed, aws):
    iam = aws("iam")
    secret_arns = sorted(s["ARN"] for s in aws("secretsmanager").list_secrets()["SecretList"] if f"/{ENV}/" in s["Name"])
    for name in FUNCTIONS:
        names = iam.list_role_policies(RoleName=name)["PolicyNames"]
        assert names == [name]
        assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == []
        doc = iam.get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        for st in doc["Statement"]:
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            assert all(not a.endswith(":*") and a != "*" for a in actions), (name, st)
            if "*" in resources:
                assert set(actions) <= NO_RESOURCE_LEVEL, f"{name}: '*' resource for {actions}"
            if any(a.startswith("secretsmanager:") for a in actions):
                assert sorted(resources) == secret_arns
            if st.get("Sid") == "OwnLogGroup":
                assert resources == [f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/{name}:*"]


def test_no_secret_value_in_any_lambda_environment(deployed, aws):
    sm = aws("secretsmanager")
    values = []
    for s in sm.list_secrets()["SecretList"]:
        raw = sm.get_secret_value(SecretId=s["ARN"])["SecretString"]
        values.append(raw)
        try:
            values += [str(v) for v in json.loads(raw).values() if len(str(v)) >= 16]
        except ValueError:
            pass
    for name in FUNCTIONS:
        env = aws("lambda").get_function_configuration(FunctionName=name).get("Environment", {}).get("Variables", {})
        assert "AWS_REGION" not in env
        for value in env.values():
            assert not any(v and v in value for v in values), f"{name} carries a secret value"


# The app and cdn roles' reruns run their tags only: they find the other roles' resources by name,
# and test_deploy.py asserts that the whole stack's rerun changes nothing.
APP_CDN = ("--tags", "app,cdn")


def test_second_deploy_changes_nothing_and_invalidates_nothing(deployed, playbook, aws, builds):
    again = playbook("deploy", ENV, *APP_CDN, "-e", f"app_build_dir={builds['one']}")
    assert again.changed == 0, again.out[-4000:]
    assert invalidations(aws) == 0
    assert all(live(aws, n) == "1" for n in FUNCTIONS)


@pytest.mark.slow  # long tier: the gate runs --tags storage and --tags cdn alone on this stack
def test_tag_app_alone_applies_a_changed_log_retention(deployed, playbook, aws, builds):
    """--tags app alone finds what the earlier roles made by name and changes exactly the retention."""
    lam, logs = aws("lambda"), aws("logs")
    before = lam.get_function_configuration(FunctionName=f"{PREFIX}-server", Qualifier="live")
    run = playbook("deploy", ENV, "--tags", "app", "-e", f"app_build_dir={builds['one']}",
                   "-e", "app_lambda_log_retention_days=14")
    assert run.changed == 1, run.out[-3000:]
    for name in FUNCTIONS:
        assert logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"][0]["retentionInDays"] == 14
    # The functions found the same subnets, security group, secrets, buckets and database: nothing else moved.
    after = lam.get_function_configuration(FunctionName=f"{PREFIX}-server", Qualifier="live")
    assert after["Version"] == before["Version"] and after["Environment"] == before["Environment"]
    assert after["VpcConfig"]["SubnetIds"] == before["VpcConfig"]["SubnetIds"] and after["Environment"]["Variables"]["DATABASE_HOST"]
    back = playbook("deploy", ENV, "--tags", "app", "-e", f"app_build_dir={builds['one']}")
    assert back.changed == 1
    assert logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{PREFIX}-server")["logGroups"][0]["retentionInDays"] == 7


@pytest.mark.slow  # long tier: test_deploy runs --tags storage alone in the gate
def test_tag_storage_alone_applies_a_changed_cors(deployed, playbook, aws):
    s3 = aws("s3")
    images = f"{PREFIX}-images-{ACCOUNT}"
    run = playbook("deploy", ENV, "--tags", "storage", "-e", '{"storage_images_cors_origins": ["https://shop.stream-sales.test"]}')
    assert run.changed == 1, run.out[-3000:]
    assert s3.get_bucket_cors(Bucket=images)["CORSRules"][0]["AllowedOrigins"] == ["https://shop.stream-sales.test"]
    # The cdn role's grant in the bucket policy stays.
    assert [st["Sid"] for st in json.loads(s3.get_bucket_policy(Bucket=images)["Policy"])["Statement"]] == [
        "DenyInsecureTransport", "CloudFrontReadsImages"]
    # The recorded ImagesBucketURL stays the cdn's CloudFront path (the bucket is private).
    params = aws("ssm").get_parameters_by_path(Path=f"/stream-sales/{ENV}/outputs")["Parameters"]
    assert {p["Name"].rsplit("/", 1)[-1]: p["Value"] for p in params}["ImagesBucketURL"].endswith(".cloudfront.net/images")
    assert playbook("deploy", ENV, "--tags", "storage").changed == 1
    assert s3.get_bucket_cors(Bucket=images)["CORSRules"][0]["AllowedOrigins"] == ["*"]


def test_verify_invokes_the_deployed_function(deployed, playbook, aws):
    logs = aws("logs")
    group = f"/aws/lambda/{PREFIX}-server"
    before = {s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]}
    run = playbook("verify", ENV, "--tags", "app")
    out = flat(run.out)
    assert "/api/health -> behavior api/* -> origin default -> invoked stream-sales-local-server:live (version 1)" in out
    assert 'answered 200 {"status":"ok","buildId":"build-one","env":"production","database":"configured"}' in out
    assert f"{PREFIX}-sign-body (deployed bundle" in run.out and "signs POST bodies" in run.out
    assert run.changed == 0
    # The answer came from an invocation of the deployed version: Lambda logged it.
    new = [s for s in logs.describe_log_streams(logGroupName=group)["logStreams"] if s["logStreamName"] not in before]
    assert len(new) == 1 and "[1]" in new[0]["logStreamName"]
    messages = [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=new[0]["logStreamName"])["events"]]
    assert messages[0].startswith("START RequestId: ") and messages[0].endswith("Version: 1")


def test_code_uploaded_directly_when_small(deployed, aws):
    """Bundles under the direct upload limit go in the API call, as on AWS: nothing staged in the site bucket."""
    keys = [o["Key"] for o in aws("s3").list_objects_v2(Bucket=SITE, Prefix="_lambda/").get("Contents", [])]
    assert keys == []


def test_body_signer_is_a_plain_published_edge_function(deployed, aws):
    name = f"{PREFIX}-sign-body"
    cfg = aws("lambda").get_function_configuration(FunctionName=name, Qualifier="live")
    # Lambda@Edge: a numbered version, no environment variables, outside any VPC, x86_64.
    assert cfg["Version"] == "1" and cfg["Runtime"] == "nodejs20.x" and cfg["Architectures"] == ["x86_64"]
    assert not (cfg.get("Environment") or {}).get("Variables") and not (cfg.get("VpcConfig") or {}).get("SubnetIds")
    iam = aws("iam")
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    # Lambda for this account's functions only; Lambda@Edge's replicas (which send no source-context key).
    services = {st["Principal"]["Service"]: st for st in trust["Statement"]}
    assert sorted(services) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]
    assert all(st["Effect"] == "Allow" and st["Action"] == "sts:AssumeRole" for st in services.values())
    assert services["lambda.amazonaws.com"]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    doc = iam.get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    assert [st["Resource"] for st in doc["Statement"]] == [f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws/lambda/us-east-1.{name}:*"]
    assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == []


def test_check_diff_shows_changed_bundle_before_upload(deployed, playbook, aws, builds):
    run = playbook("deploy", ENV, *APP_CDN, "-e", f"app_build_dir={builds['two']}", "--check", "--diff")
    assert "bundle_sha256" in run.out and "_assets/BUILD_ID" in run.out and "invalidation" in run.out
    assert live(aws, f"{PREFIX}-server") == "1" and invalidations(aws) == 0


def test_changed_build_publishes_moves_alias_and_invalidates_once(deployed, playbook, aws, builds):
    run = playbook("deploy", ENV, "-e", f"app_build_dir={builds['two']}")
    assert run.changed > 0
    assert live(aws, f"{PREFIX}-server") == "2"
    # Only the server's bundle changed between the two builds.
    assert all(live(aws, n) == "1" for n in FUNCTIONS if not n.endswith("-server"))
    assert invalidations(aws) == 1
    again = playbook("deploy", ENV, *APP_CDN, "-e", f"app_build_dir={builds['two']}")
    assert again.changed == 0 and invalidations(aws) == 1


@pytest.mark.slow  # long tier: rollback and a redeploy of the whole stack
def test_rollback_restores_previous_version(deployed, playbook, aws, builds):
    run = playbook("rollback", ENV)
    assert "stream-sales-local-server live at version 1" in run.out
    assert live(aws, f"{PREFIX}-server") == "1"
    assert all(live(aws, n) == "1" for n in FUNCTIONS)
    verify = playbook("verify", ENV, "--tags", "app")
    assert '"buildId":"build-one"' in verify.out
    # The next deploy of build two moves live forward again, without a new version.
    forward = playbook("deploy", ENV, "-e", f"app_build_dir={builds['two']}")
    assert forward.changed > 0 and live(aws, f"{PREFIX}-server") == "2"
    assert len(aws("lambda").list_versions_by_function(FunctionName=f"{PREFIX}-server")["Versions"]) == 3


def test_broken_build_refused_before_anything_changes(deployed, playbook, aws, tmp_path):
    broken = tmp_path / ".open-next"
    example.build(broken, "broken")
    (broken / "image-optimization-function" / "node_modules" / "sharp" / "package.json").unlink()
    (broken / "image-optimization-function" / "node_modules" / "sharp").rmdir()
    run = playbook("deploy", ENV, "-e", f"app_build_dir={broken}", "--tags", "app,cdn", check=False)
    assert run.rc != 0 and "has no node_modules/sharp" in run.out
    (broken / "open-next.output.json").write_text("{")
    run = playbook("deploy", ENV, "-e", f"app_build_dir={broken}", "--tags", "app,cdn", check=False)
    assert run.rc != 0 and "open-next.output.json is not valid JSON" in run.out
    assert live(aws, f"{PREFIX}-server") == "2"


DOMAIN = "shop.stream-sales.test"


@pytest.fixture(scope="module")
def custom_domain(aws):
    zone = aws("route53").create_hosted_zone(Name=DOMAIN, CallerReference=f"test-app-{DOMAIN}")["HostedZone"]["Id"]
    return json.dumps({"cdn_aliases": [DOMAIN], "cdn_hosted_zone_id": zone.split("/")[-1]})


def records(aws, custom_domain):
    zone = json.loads(custom_domain)["cdn_hosted_zone_id"]
    return {(r["Name"].rstrip("."), r["Type"]): r for r in aws("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]}


@pytest.mark.slow  # test_cdn_certificate.py keeps the certificate path in the gate
def test_custom_domain_gets_an_issued_certificate_and_alias_records(deployed, playbook, aws, builds, custom_domain):
    run = playbook("deploy", ENV, "-e", f"app_build_dir={builds['two']}", "-e", custom_domain, "-v")  # -v: the ok wait task is shown
    assert f"CloudFrontURL          | https://{DOMAIN}" in run.out
    config = aws("cloudfront").get_distribution_config(Id=distribution(aws)["Id"])["DistributionConfig"]
    assert config["Aliases"]["Items"] == [DOMAIN]
    cert = aws("acm").describe_certificate(CertificateArn=config["ViewerCertificate"]["ACMCertificateArn"])["Certificate"]
    # The deploy waited until ACM issued it, which ACM does once the validation records are in the zone.
    assert cert["DomainName"] == DOMAIN and cert["Status"] == "ISSUED"
    assert re.search(r"Wait until ACM has issued the certificate.*\n+ok: ", run.out)
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    found = records(aws, custom_domain)
    for kind in ("A", "AAAA"):
        assert found[(DOMAIN, kind)]["AliasTarget"]["DNSName"].rstrip(".") == distribution(aws)["DomainName"]
    validation = cert["DomainValidationOptions"][0]["ResourceRecord"]
    assert found[(validation["Name"].rstrip("."), "CNAME")]["ResourceRecords"] == [{"Value": validation["Value"]}]
    assert playbook("deploy", ENV, "-e", f"app_build_dir={builds['two']}", "-e", custom_domain).changed == 0
    # The teardown deletes the alias records before the distribution (no record left pointing at a
    # deleted distribution), then the certificate and its validation record. test_deploy checks
    # that a teardown leaves nothing else.
    assert playbook("teardown", ENV, "-e", custom_domain).recap["failed"] == 0
    assert [k for k in records(aws, custom_domain) if k[1] in ("A", "AAAA", "CNAME")] == []
    assert aws("acm").list_certificates()["CertificateSummaryList"] == [] and distribution(aws) is None
    assert playbook("teardown", ENV, "-e", custom_domain).changed == 0


def test_tag_app_alone_on_an_empty_account_says_what_is_missing(empty_account, playbook, aws):
    """--tags app (and its check run) stop before changing anything, naming each need."""
    for args in (("--tags", "app"), ("--tags", "app", "--check")):
        run = playbook("deploy", ENV, *args, check=False)
        assert run.rc != 0
        for what in (f"the private subnets {PREFIX}-private-* (network)", f"the security group {PREFIX}-app (network)",
                     f"the secret stream-sales/{ENV}/database/credentials (secrets)", f"the bucket {SITE} (storage)",
                     f"the database cluster {PREFIX}-cluster (aurora)"):
            assert what in flat(run.out), run.out[-3000:]
    assert [f for f in aws("lambda").list_functions()["Functions"] if f["FunctionName"].startswith(PREFIX)] == []
    assert [t for t in aws("dynamodb").list_tables()["TableNames"] if t.startswith(PREFIX + "-tag")] == []
