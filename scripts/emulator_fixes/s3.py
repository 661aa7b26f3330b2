"""S3: bucket policies judged as AWS judges them."""
from __future__ import annotations

from moto.iam import access_control, policy_conditions


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


FIXES = (policy_statements_judged_as_aws_does,)
