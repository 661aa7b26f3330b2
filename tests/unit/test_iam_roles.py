"""iam_roles against the emulator: every role read in one call, converged, shown in a diff; a resent create adopted."""
from __future__ import annotations

import json
import uuid

import boto3
import pytest

from modules_helper import calls_of, counters, faults, run_module

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}
LOGS = {"Version": "2012-10-17", "Statement": [{"Sid": "Logs", "Effect": "Allow", "Action": ["logs:PutLogEvents"],
                                                "Resource": ["arn:aws:logs:us-east-1:123456789012:log-group:x:*"]}]}
TAGS = {"Project": "StreamSales", "Environment": "unit"}


@pytest.fixture
def roles(emulator):
    endpoint = emulator["aws_endpoint_url"]
    run = uuid.uuid4().hex[:8]
    names = [f"unit-role-a-{run}", f"unit-role-b-{run}", f"unit-role-c-{run}"]
    iam = boto3.client("iam", endpoint_url=emulator.get("aws_direct_url", endpoint), region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")

    def call(specs, check=False, **args):
        return run_module(endpoint, "iam_roles", dict({"roles": specs, "tags": TAGS}, **args), check=check, diff=True)

    yield call, iam, names, endpoint
    faults(endpoint)
    call([{"name": n} for n in names], state="absent")


def spec(name, policies=None, **extra):
    return dict({"name": name, "trust_policy": TRUST, "inline_policies": {name: LOGS} if policies is None else policies,
                 "description": "unit"}, **extra)


def test_roles_created_rerun_changed_and_deleted(roles):
    call, iam, names, endpoint = roles
    specs = [spec(n) for n in names]
    planned = call(specs, check=True)
    assert planned["changed"] and [r["name"] for r in planned["diff"]["after"]["roles"]] == names
    assert planned["diff"]["before"] == {"roles": []}
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=names[0])  # check mode made nothing

    created = call(specs)
    assert created["changed"] and sorted(created["roles"]) == sorted(names)
    for name in names:
        role = iam.get_role(RoleName=name)["Role"]
        assert role["AssumeRolePolicyDocument"] == TRUST and {t["Key"]: t["Value"] for t in role["Tags"]} == TAGS
        assert iam.get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"] == LOGS
        assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == []

    # The rerun reads every role in one call (three roles: the account-wide read), and changes nothing.
    faults(endpoint)  # counters from zero
    again = call(specs)
    assert calls_of(endpoint, "") == {"iam.GetAccountAuthorizationDetails": 1}
    assert not again["changed"] and again["diff"]["before"] == again["diff"]["after"]
    assert again["roles"][names[0]]["arn"] == iam.get_role(RoleName=names[0])["Role"]["Arn"]

    # Out of band: a statement added to the inline policy, an extra policy, a tag changed, a managed policy attached.
    wider = dict(LOGS, Statement=LOGS["Statement"] + [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
    iam.put_role_policy(RoleName=names[1], PolicyName=names[1], PolicyDocument=json.dumps(wider))
    iam.put_role_policy(RoleName=names[1], PolicyName="extra", PolicyDocument=json.dumps(LOGS))
    iam.tag_role(RoleName=names[1], Tags=[{"Key": "Environment", "Value": "other"}])
    managed = iam.create_policy(PolicyName=f"{names[1]}-managed", PolicyDocument=json.dumps(LOGS))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=names[1], PolicyArn=managed)
    check = call(specs, check=True)
    before = {r["name"]: r for r in check["diff"]["before"]["roles"]}[names[1]]
    assert check["changed"] and set(before["inline_policies"]) == {names[1], "extra"} and before["managed_policies"] == [managed]
    assert iam.get_role_policy(RoleName=names[1], PolicyName="extra")  # check mode left it
    assert call(specs)["changed"]
    assert iam.list_role_policies(RoleName=names[1])["PolicyNames"] == [names[1]]
    assert iam.get_role_policy(RoleName=names[1], PolicyName=names[1])["PolicyDocument"] == LOGS
    assert iam.list_attached_role_policies(RoleName=names[1])["AttachedPolicies"] == []
    assert {t["Key"]: t["Value"] for t in iam.get_role(RoleName=names[1])["Role"]["Tags"]} == TAGS
    assert not call(specs)["changed"]
    iam.delete_policy(PolicyArn=managed)

    # A trust policy widened by the role's owner is shown and applied.
    edge = {"Effect": "Allow", "Principal": {"Service": "edgelambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    trust = dict(TRUST, Statement=TRUST["Statement"] + [edge])
    changed = call([spec(names[0], trust_policy=trust)])
    assert changed["changed"] and iam.get_role(RoleName=names[0])["Role"]["AssumeRolePolicyDocument"] == trust

    gone = call([{"name": n} for n in names], state="absent")
    assert gone["changed"] and [r["name"] for r in gone["diff"]["before"]["roles"]] == names
    for name in names:
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.get_role(RoleName=name)
    assert not call([{"name": n} for n in names], state="absent")["changed"]


def test_one_or_two_roles_are_read_one_by_one(roles):
    """GetRole, its inline policies and attached policies: no account-wide read for a role or two.
    An out-of-band change is found the same way; a role in an instance profile is deleted."""
    call, iam, names, endpoint = roles
    specs = [spec(names[0])]
    assert call(specs)["changed"]
    faults(endpoint)
    again = call(specs)
    assert not again["changed"] and again["diff"]["before"] == again["diff"]["after"]
    assert calls_of(endpoint, "") == {"iam.GetRole": 1, "iam.ListRolePolicies": 1, "iam.GetRolePolicy": 1,
                                      "iam.ListAttachedRolePolicies": 1}
    iam.put_role_policy(RoleName=names[0], PolicyName="extra", PolicyDocument=json.dumps(LOGS))
    iam.tag_role(RoleName=names[0], Tags=[{"Key": "Environment", "Value": "other"}])
    fixed = call(specs)
    before = fixed["diff"]["before"]["roles"][0]
    assert fixed["changed"] and set(before["inline_policies"]) == {names[0], "extra"} and before["tags"]["Environment"] == "other"
    assert iam.list_role_policies(RoleName=names[0])["PolicyNames"] == [names[0]]
    assert {t["Key"]: t["Value"] for t in iam.get_role(RoleName=names[0])["Role"]["Tags"]} == TAGS
    iam.create_instance_profile(InstanceProfileName=names[0])
    iam.add_role_to_instance_profile(InstanceProfileName=names[0], RoleName=names[0])
    assert call([{"name": names[0]}], state="absent")["changed"]
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=names[0])
    assert iam.get_instance_profile(InstanceProfileName=names[0])["InstanceProfile"]["Roles"] == []
    iam.delete_instance_profile(InstanceProfileName=names[0])


def test_a_resent_create_is_adopted(roles):
    call, iam, names, endpoint = roles
    faults(endpoint, r"lost=1,count=1,match=iam\.CreateRole")  # CreateRole took effect, its answer lost: botocore resends it
    created = call([spec(names[0])])
    lost = counters(endpoint)["faults"]
    faults(endpoint)
    assert not created.get("failed"), created.get("msg")
    assert created["changed"] and iam.get_role_policy(RoleName=names[0], PolicyName=names[0])["PolicyDocument"] == LOGS
    assert lost == {"lost": 1}


def test_a_role_without_trust_policy_is_refused(roles):
    call, iam, names, endpoint = roles
    refused = call([{"name": names[0]}])
    assert refused.get("failed") and "roles[0].trust_policy is required" in refused["msg"]
