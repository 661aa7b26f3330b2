"""S3: bucket policies judged as AWS judges them."""
from __future__ import annotations

import fnmatch
import json

from moto.iam import access_control, policy_conditions
from moto.s3 import models as s3_models


def policy_statements_judged_as_aws_does() -> None:
    """Three moto 5.2.5 gaps in evaluating bucket policies, which together denied every object call.

    0. moto knows only the StringEquals condition operator and ignores the others, so a
       statement conditioned with Bool applied unconditionally. Added: Bool.
    1. moto evaluates S3 requests with no request context, so `aws:SecureTransport` is unknown
       and the standard TLS-only statement (Deny s3:* when aws:SecureTransport is false)
       matched. The emulator stands in for AWS's HTTPS endpoints: its requests count as
       secure transport.
    2. moto turns a statement whose Condition does not hold into an explicit Deny; in AWS such
       a statement does not apply at all (neutral).
    """
    def bool_operation(expected, actual):
        wanted = expected if isinstance(expected, list) else [expected]
        return str(actual).lower() in [str(w).lower() for w in wanted]

    policy_conditions.CONDITION_OPERATIONS.setdefault("Bool", bool_operation)
    original = access_control.IAMPolicyStatement.is_action_permitted

    def is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
        context = {"aws:SecureTransport": "true"}
        context.update(incoming_condition_values or {})
        if self._statement.get("Condition") and not self._check_conditions(context):
            return access_control.PermissionResult.NEUTRAL
        return original(self, action, resource, principal, context)

    access_control.IAMPolicyStatement.is_action_permitted = is_action_permitted


def access_log_target_policy_read_as_aws_reads_it() -> None:
    """PutBucketLogging accepts a target bucket whose policy lets logging.s3.amazonaws.com put the
    log objects, whatever else the policy holds and however the grant is written.

    moto 5.2.5 reads the target's policy statement by statement with `Principal.get("Service")`,
    so any statement whose Principal is the string "*" (the usual TLS-only Deny) ends the request
    with a 500; and it takes the grant only when Resource is one string equal to
    `<bucket>/<prefix>*`, `<bucket>/*` or the bucket (not a list, not a wildcard that covers the
    prefix, not an Action list with s3:*). AWS: an Allow statement for the logging service whose
    actions include s3:PutObject and whose resources cover the log objects' keys.
    """
    def values(field):
        return field if isinstance(field, list) else [field]

    def covers(patterns, arn):
        return any(fnmatch.fnmatchcase(arn, p) for p in values(patterns))

    def log_permissions_enabled_policy(target_bucket, target_prefix):
        if not target_bucket.policy:
            return False
        policy = json.loads(target_bucket.policy.decode())
        objects = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}/{target_prefix or ''}example-log-object"
        for stmt in values(policy.get("Statement", [])):
            principal = stmt.get("Principal")
            services = values(principal.get("Service", [])) if isinstance(principal, dict) else []
            if stmt.get("Effect") != "Allow" or s3_models.LOGGING_SERVICE_PRINCIPAL not in services:
                continue
            if not any(a in ("s3:PutObject", "s3:*", "*") for a in values(stmt.get("Action", []))):
                continue
            if covers(stmt.get("Resource", []), objects):
                return True
        return False

    s3_models.FakeBucket._log_permissions_enabled_policy = staticmethod(log_permissions_enabled_policy)


FIXES = (policy_statements_judged_as_aws_does, access_log_target_policy_read_as_aws_reads_it)
