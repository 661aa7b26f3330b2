"""Which planned changes broaden access (plugins/filter/security.py), on diffs shaped as the modules return them."""
from __future__ import annotations

from ansible_collections.stream_sales.platform.plugins.filter.security import security_changes

RULE = {"proto": "tcp", "from_port": 5432, "to_port": 5432, "group_id": "sg-app", "description": "PostgreSQL from the application"}


def entry(module, before, after, item="", action="change"):
    return {"module": f"stream_sales.platform.{module}", "role": "x", "task": "t", "item": item, "action": action,
            "check": True, "diff": {"before": before, "after": after}}


def rows(*entries):
    return [(r["resource"], r["change"], r["broadening"]) for r in security_changes(list(entries))]


def test_an_ingress_rule_opened_broadens_and_closing_it_does_not():
    sg = {"group_name": "stream-sales-production-database", "egress": []}
    opened = rows(entry("ec2_vpc_security_group", dict(sg, ingress=[]), dict(sg, ingress=[RULE])))
    assert opened == [("security group stream-sales-production-database", "rule opened: ingress tcp 5432 from sg-app", True)]
    closed = rows(entry("ec2_vpc_security_group", dict(sg, ingress=[RULE]), dict(sg, ingress=[])))
    assert closed[0][2] is False
    described = rows(entry("ec2_vpc_security_group", dict(sg, ingress=[RULE]), dict(sg, ingress=[dict(RULE, description="x")])))
    assert described == []  # a new description opens nothing


def test_policies_allow_added_or_widened_and_deny_removed():
    allow = {"Sid": "Assets", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/_assets/*"]}
    wider = dict(allow, Resource=["arn:aws:s3:::b/*"])
    deny = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Action": "s3:*", "Principal": "*", "Resource": "*"}
    found = rows(entry("iam_policy", {"fn": {"Statement": [allow]}}, {"fn": {"Statement": [wider]}}, item="fn"))
    assert ("IAM policy fn", "statement added or widened: Assets (Allow s3:GetObject on arn:aws:s3:::b/*)", True) in found
    assert any(not b for _r, c, b in found if c.startswith("statement removed"))
    new_policy = rows(entry("iam_policy", {}, {"fn": {"Version": "2012-10-17", "Statement": [allow]}}, action="create"))
    assert [b for _r, _c, b in new_policy] == [True]
    bucket = {"name": "b", "policy": {"Statement": [deny]}, "public_access_block": {"BlockPublicPolicy": True}, "encryption": "AES256"}
    loosened = rows(entry("s3_private_bucket", bucket, dict(
        bucket, policy={"Statement": []}, public_access_block={"BlockPublicPolicy": False}, encryption=None)))
    assert {c for _r, c, b in loosened if b} == {
        "statement removed: DenyInsecureTransport (Deny s3:* on *)", "public access block BlockPublicPolicy turned off",
        "default encryption removed"}
    created = rows(entry("s3_private_bucket", {}, bucket, action="create"))
    assert all(not b for _r, _c, b in created)  # a new bucket that only denies grants nothing


def test_public_url_deletion_protection_and_opaque_modules():
    assert rows(entry("lambda_function_url", {"auth_type": "AWS_IAM"}, {"auth_type": "NONE"}, item="srv"))[0][2] is True
    assert rows(entry("lambda_function_url", {}, {"auth_type": "AWS_IAM"}, item="srv")) == []
    cluster = rows(entry("rds_serverless_cluster", {"deletion_protection": True, "storage_encrypted": True},
                         {"deletion_protection": False, "storage_encrypted": True}))
    assert [(c, b) for _r, c, b in cluster] == [("deletion protection turned off", True)]
    role = {"module": "amazon.aws.iam_role", "role": "app_lambda", "task": "roles", "item": "fn", "action": "create",
            "check": True, "diff": None}
    assert rows(role) == [("IAM role (trust policy, managed policies) fn", "created (the module returns no diff to compare)", True)]
    assert security_changes([{"module": "amazon.aws.s3_bucket", "role": "x"}]) == []  # not security-relevant: no diff kept


def test_a_diff_of_every_security_group_is_judged_group_by_group():
    app = {"group_name": "stream-sales-production-app", "ingress": [], "egress": [{"proto": "all", "cidr_ip": "0.0.0.0/0"}]}
    db = {"group_name": "stream-sales-production-database", "ingress": [], "egress": []}
    found = rows(entry("ec2_vpc_security_group", [app, db], [app, dict(db, ingress=[RULE])]))
    assert found == [("security group stream-sales-production-database", "rule opened: ingress tcp 5432 from sg-app", True)]
    # as the module shows them (plugins/module_utils/resource.py exit_with, kind security_groups)
    assert rows(entry("ec2_vpc_security_group", {"security_groups": [app, db]},
                      {"security_groups": [app, dict(db, ingress=[RULE])]})) == found
    assert rows(entry("ec2_vpc_security_group", [app, db], [app, db])) == []


def test_a_flow_log_delivery_role_created_broadens():
    flow = {"resource_id": "vpc-1", "log_group_name": "/stream-sales/production/vpc-flow-logs"}
    role = {"name": "stream-sales-production-vpc-flow-logs", "arn": None, "tags": {}}
    created = rows(entry("ec2_vpc_flow_log", {}, dict(flow, role=role), action="create"))
    assert created == [("IAM role stream-sales-production-vpc-flow-logs (flow logs to /stream-sales/production/vpc-flow-logs)",
                        "created: trusts vpc-flow-logs.amazonaws.com, writes to its log group only", True)]
    deleted = rows(entry("ec2_vpc_flow_log", dict(flow, role=role), {}, action="delete"))
    assert [r[2] for r in deleted] == [False]
    retagged = rows(entry("ec2_vpc_flow_log", dict(flow, role=role, tags={"a": "1"}), dict(flow, role=role, tags={"a": "2"})))
    assert retagged == []  # tags open nothing
    put_back = rows(entry("ec2_vpc_flow_log", dict(flow, role=role), dict(flow, role=role)))
    assert [r[2] for r in put_back] == [True]  # changed, but not in the diff: the policies were reset


def test_key_secret_topic_table_and_web_acl_of_issue_14():
    use = {"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": ["kms:Decrypt"], "Resource": "*"}
    key = {"alias": "alias/stream-sales-production", "policy": {"Statement": [use]}, "enable_key_rotation": True}
    wider = dict(key, policy={"Statement": [dict(use, Action=["kms:*"])]}, enable_key_rotation=False)
    widened = rows(entry("kms_alias_key", key, wider))
    assert ("KMS key alias/stream-sales-production", "automatic rotation turned off", True) in widened
    assert any(c.startswith("statement added or widened: Logs") and b for _r, c, b in widened)
    assert rows(entry("kms_alias_key", key, dict(key, description="x"))) == []
    outside = {"Sid": "DenyOutsideAccount", "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*"}
    secret = {"name": "stream-sales/production/jwt/secret", "resource_policy": {"Statement": [outside]}, "kms_key_id": "arn:k"}
    opened = rows(entry("secretsmanager_generated_secret", secret, dict(secret, resource_policy={"Statement": []}, kms_key_id="")))
    assert {(c, b) for _r, c, b in opened} == {
        ("statement removed: DenyOutsideAccount (Deny secretsmanager:* on *)", True), ("its KMS key removed", True)}
    assert rows(entry("sns_topic", {"kms_key_id": "arn:k"}, {"kms_key_id": ""}, item="alarms"))[0][2] is True
    assert rows(entry("sns_topic", {"kms_key_id": "arn:k"}, {}, item="alarms", action="delete")) == []
    assert rows(entry("dynamodb_table", {"name": "t", "kms_key_arn": ""}, {"name": "t", "kms_key_arn": "arn:k"},
                      item="tag-cache")) == []  # encrypting narrows
    assert rows(entry("dynamodb_table", {"name": "t", "kms_key_arn": "arn:k"}, {"name": "t", "kms_key_arn": ""},
                      item="tag-cache"))[0][2] is True
    rate = {"Name": "RateLimitPerIp", "Priority": 0, "Action": {"Block": {}}}
    common = {"Name": "AWSManagedRulesCommonRuleSet", "Priority": 1, "OverrideAction": {"None": {}}}
    acl = {"default_action": "allow", "rules": [rate]}
    judged = rows(entry("wafv2_web_acl_logged", acl, dict(acl, rules=[dict(rate, Action={"Count": {}}), common]), item="waf"))
    assert {(c, b) for _r, c, b in judged} == {("rule changed: RateLimitPerIp", True),
                                               ("rule added: AWSManagedRulesCommonRuleSet", False)}


def test_iam_roles_judged_by_their_policies():
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    logs = {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "arn:aws:logs:us-east-1:1:log-group:x:*"}
    role = {"name": "fn", "trust_policy": trust, "inline_policies": {"fn": {"Statement": [logs]}}, "managed_policies": [], "tags": {}}
    created = rows(entry("iam_roles", {}, role, action="create"))
    assert any(r == "IAM role fn trust policy" and "sts:AssumeRole" in c and b for r, c, b in created)
    assert any(r == "IAM role fn policy fn" and "logs:PutLogEvents" in c and b for r, c, b in created)
    tagged = dict(role, tags={"Environment": "production"})
    assert rows(entry("iam_roles", role, tagged)) == []  # tags are not access
    wider = dict(role, inline_policies={"fn": {"Statement": [logs, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}})
    assert [b for r, c, b in rows(entry("iam_roles", role, wider))] == [True]
    attached = dict(role, managed_policies=["arn:aws:iam::aws:policy/AdministratorAccess"])
    assert rows(entry("iam_roles", role, attached)) == [
        ("IAM role fn", "managed policy attached: arn:aws:iam::aws:policy/AdministratorAccess", True)]
    assert rows(entry("iam_roles", attached, role))[0][2] is False
    assert rows(entry("iam_roles", role, {}, action="delete")) == [("IAM role fn", "deleted", False)]
