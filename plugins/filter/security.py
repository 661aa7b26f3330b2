# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: which planned changes are security-relevant, and which of them broaden access.

Input: the plan callback's journal entries of security-relevant modules (module, role, task,
item, action, diff). Output: one row per finding - resource, change, broadening (bool) - as
CDK's ``--require-approval broadening`` sees them:

- security groups: a rule added (opened) broadens; a rule removed narrows (ec2_vpc_security_group
  manages all groups in one task; the plan callback journals one diff per group, and a diff of
  the whole list is split here by group name too);
- flow logs (ec2_vpc_flow_log): their delivery role created broadens (it trusts
  vpc-flow-logs.amazonaws.com and may write to its log group only); deleted, narrows. Its trust and
  write policy are the module's own and not in its diff: a change that the diff does not show is
  one of them put back, listed and counted as broadening;
- IAM policies (inline, managed) and bucket policies: an Allow statement added or widened, or a
  Deny statement removed, broadens; the reverse narrows. A new policy's Allow statements count as
  added. amazon.aws's ``iam_role`` returns no diff: a role created, or its trust policy or managed
  policies changed, counts as broadening (it cannot be told apart); ours, ``iam_roles``, does: its
  trust and inline policies are judged as policies, a managed policy attached broadens;
- buckets: public access block loosened, encryption removed, a policy granting more;
- function URLs: auth type NONE (public) where it was not;
- Lambda permissions (``lambda_policy``): a permission added;
- the database cluster: deletion protection or storage encryption turned off;
- the environment's KMS key (``kms_alias_key``): a key policy statement added or widened (as IAM
  policies), automatic rotation turned off;
- secrets: a resource policy statement removed (they deny principals outside the account) or
  widened; topics and tables (``sns_topic``, ``dynamodb_table``): their key
  removed;
- the web ACL in front of CloudFront: a rule removed or changed, or a default action of allow
  where it blocked; a rule added narrows;
- anything else changed by these modules: listed, counted as broadening (unknown is not safe).
"""

from __future__ import annotations

import json


def _doc(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, (dict, list)) else {}


def _statements(value):
    """Every policy statement found in a value (a policy, {name: policy}, a list of statements)."""
    value = _doc(value)
    found = []
    if isinstance(value, dict):
        if isinstance(value.get("Statement"), (list, dict)):
            stmts = value["Statement"]
            found += stmts if isinstance(stmts, list) else [stmts]
        else:
            for key, item in value.items():
                if key not in ("Version", "Id"):
                    found += _statements(item)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and "Effect" in item:
                found.append(item)
            else:
                found += _statements(item)
    return found


def _key(statement):
    return json.dumps(dict(statement), sort_keys=True, default=str)


def _name(statement):
    sid = statement.get("Sid")
    action = statement.get("Action", statement.get("NotAction", ""))
    resource = statement.get("Resource", statement.get("NotResource", ""))
    brief = "%s %s on %s" % (statement.get("Effect", "?"), action if isinstance(action, str) else ",".join(action),
                             resource if isinstance(resource, str) else ",".join(map(str, resource)))
    return ("%s (%s)" % (sid, brief) if sid else brief)[:160]


def _policy_findings(resource, before, after):
    old = {_key(s): s for s in _statements(before)}
    new = {_key(s): s for s in _statements(after)}
    rows = []
    for key, statement in new.items():
        if key not in old:
            allow = statement.get("Effect") == "Allow"
            rows.append((resource, "statement added or widened: " + _name(statement), allow))
    for key, statement in old.items():
        if key not in new:
            deny = statement.get("Effect") == "Deny"
            rows.append((resource, "statement removed: " + _name(statement), deny))
    return rows


def _rule_key(rule):
    return json.dumps({k: v for k, v in rule.items() if k != "description"}, sort_keys=True, default=str)


def _rule_name(direction, rule):
    peer = rule.get("cidr_ip") or rule.get("group_id") or rule.get("group_name") or rule.get("prefix_list_id") or "?"
    ports = rule.get("from_port")
    ports = "all ports" if ports in (None, -1) else (str(ports) if ports == rule.get("to_port") else "%s-%s" % (ports, rule.get("to_port")))
    return "%s %s %s %s %s" % (direction, rule.get("proto", "all"), ports, "from" if direction == "ingress" else "to", peer)


def _security_group(entry, before, after):
    resource = "security group %s" % (after.get("group_name") or before.get("group_name") or entry.get("item") or "?")
    rows = []
    for direction in ("ingress", "egress"):
        old = {_rule_key(r): r for r in before.get(direction) or []}
        new = {_rule_key(r): r for r in after.get(direction) or []}
        rows += [(resource, "rule opened: " + _rule_name(direction, r), True) for k, r in new.items() if k not in old]
        rows += [(resource, "rule closed: " + _rule_name(direction, r), False) for k, r in old.items() if k not in new]
    return rows


def _flow_log(entry, before, after):
    old, new = before.get("role") or {}, after.get("role") or {}
    name = new.get("name") or old.get("name") or entry.get("item") or "?"
    resource = "IAM role %s (flow logs to %s)" % (name, after.get("log_group_name") or before.get("log_group_name") or "?")
    if new and not old:
        return [(resource, "created: trusts vpc-flow-logs.amazonaws.com, writes to its log group only", True)]
    if old and not new:
        return [(resource, "deleted", False)]
    if new and before == after:
        return [(resource, "trust or write policy put back (the module returns no diff of them)", True)]
    return []


def _bucket(entry, before, after):
    resource = "bucket %s" % (after.get("name") or before.get("name") or entry.get("item") or "?")
    rows = _policy_findings(resource, before.get("policy"), after.get("policy"))
    old_block, new_block = before.get("public_access_block") or {}, after.get("public_access_block") or {}
    for flag, value in old_block.items():
        if value and not new_block.get(flag):
            rows.append((resource, "public access block %s turned off" % flag, True))
    if before.get("encryption") and not after.get("encryption"):
        rows.append((resource, "default encryption removed", True))
    return rows


def _bucket_statements(entry, before, after):
    return _policy_findings("bucket policy %s" % (entry.get("item") or "?"), before, after)


def _iam_policy(entry, before, after):
    return _policy_findings("IAM policy %s" % (entry.get("item") or entry.get("task")), before, after)


def _iam_roles(entry, before, after):
    """One role of iam_roles: its trust policy and inline policies as policies; a managed policy
    attached broadens, detached narrows; a role deleted narrows."""
    name = after.get("name") or before.get("name") or entry.get("item") or "?"
    if before and not after:
        return [("IAM role %s" % name, "deleted", False)]
    rows = _policy_findings("IAM role %s trust policy" % name, before.get("trust_policy"), after.get("trust_policy"))
    old, new = before.get("inline_policies") or {}, after.get("inline_policies") or {}
    for policy in list(new) + [p for p in old if p not in new]:
        rows += _policy_findings("IAM role %s policy %s" % (name, policy), old.get(policy), new.get(policy))
    old, new = before.get("managed_policies") or [], after.get("managed_policies") or []
    rows += [("IAM role %s" % name, "managed policy attached: %s" % arn, True) for arn in new if arn not in old]
    rows += [("IAM role %s" % name, "managed policy detached: %s" % arn, False) for arn in old if arn not in new]
    return rows


def _function_url(entry, before, after):
    resource = "function URL %s" % (entry.get("item") or "?")
    old, new = (before or {}).get("auth_type"), (after or {}).get("auth_type")
    if new == "NONE" and old != "NONE":
        return [(resource, "made public (auth type NONE)", True)]
    if old == "NONE" and new != "NONE":
        return [(resource, "auth type %s (no longer public)" % new, False)]
    return []


def _cluster(entry, before, after):
    resource = "database cluster %s" % (after.get("db_cluster_identifier") or before.get("db_cluster_identifier") or entry.get("item") or "")
    rows = []
    for flag, label in (("deletion_protection", "deletion protection"), ("storage_encrypted", "storage encryption")):
        if before.get(flag) and after.get(flag) is False:
            rows.append((resource.strip(), "%s turned off" % label, True))
    return rows


def _kms_key(entry, before, after):
    resource = "KMS key %s" % (after.get("alias") or before.get("alias") or entry.get("item") or "?")
    rows = _policy_findings(resource, before.get("policy"), after.get("policy"))
    if before.get("enable_key_rotation") and after.get("enable_key_rotation") is False:
        rows.append((resource, "automatic rotation turned off", True))
    return rows


def _secret(entry, before, after):
    resource = "secret %s" % (after.get("name") or before.get("name") or entry.get("item") or "?")
    rows = _policy_findings(resource, before.get("resource_policy"), after.get("resource_policy"))
    if before.get("kms_key_id") and not after.get("kms_key_id"):
        rows.append((resource, "its KMS key removed", True))
    return rows


def _key_of(what, field):
    def classify(entry, before, after):
        if before.get(field) and after and not after.get(field):  # a resource deleted loses no encryption
            return [("%s %s" % (what, entry.get("item") or entry.get("task")), "encryption with its KMS key removed", True)]
        return []
    return classify


def _web_acl(entry, before, after):
    resource = "web ACL %s" % (entry.get("item") or entry.get("task"))
    old = {r.get("Name"): r for r in before.get("rules") or [] if isinstance(r, dict)}
    new = {r.get("Name"): r for r in after.get("rules") or [] if isinstance(r, dict)}
    rows = [(resource, "rule added: %s" % n, False) for n in new if n not in old]
    rows += [(resource, "rule removed: %s" % n, True) for n in old if n not in new]
    rows += [(resource, "rule changed: %s" % n, True) for n in new if n in old and new[n] != old[n]]
    if before.get("default_action") == "block" and after.get("default_action") == "allow":
        rows.append((resource, "default action allow (it blocked)", True))
    return rows


def _opaque(what):
    def classify(entry, before, after):
        return [("%s %s" % (what, entry.get("item") or entry.get("task")), "%s (the module returns no diff to compare)" % (
            "created" if entry.get("action") == "create" else "changed"), True)]
    return classify


CLASSIFIERS = {
    "ec2_vpc_security_group": _security_group,
    "ec2_vpc_flow_log": _flow_log,
    "s3_private_bucket": _bucket,
    "s3_bucket_policy_statements": _bucket_statements,
    "iam_policy": _iam_policy,
    "iam_roles": _iam_roles,
    "iam_managed_policy": _iam_policy,
    "lambda_function_url": _function_url,
    "rds_serverless_cluster": _cluster,
    "iam_role": _opaque("IAM role (trust policy, managed policies)"),
    "lambda_policy": _opaque("Lambda permission"),
    "kms_key": _opaque("KMS key (key policy)"),
    "kms_alias_key": _kms_key,
    "secretsmanager_generated_secret": _secret,
    "sns_topic": _key_of("topic", "kms_key_id"),
    "dynamodb_table": _key_of("table", "kms_key_arn"),
    "wafv2_web_acl_logged": _web_acl,
}


OPAQUE = frozenset(CLASSIFIERS[m] for m in ("iam_role", "lambda_policy", "kms_key"))


def security_changes(entries):
    """[{resource, change, broadening, role, task}] for journal entries of security-relevant modules."""
    rows = []
    for entry in entries or []:
        if not isinstance(entry, dict) or "diff" not in entry:
            continue
        module = str(entry.get("module", "")).rsplit(".", 1)[-1]
        diff = entry.get("diff") or {}
        before, after = _doc(diff.get("before")) or {}, _doc(diff.get("after")) or {}
        classify = CLASSIFIERS.get(module, _opaque(module.replace("_", " ")))
        if not diff and classify not in OPAQUE:
            classify = _opaque(module.replace("_", " "))
        for before_one, after_one in _per_resource(before, after):
            for resource, change, broadening in classify(entry, before_one, after_one):
                rows.append({"resource": resource, "change": change, "broadening": bool(broadening),
                             "broadens": "yes" if broadening else "no",
                             "role": entry.get("role", ""), "task": entry.get("task", "")})
    return rows


def _listed(value):
    """The views of a diff that lists resources by kind ({kind: [views]}), else the value itself."""
    for kind in ("security_groups", "roles"):
        if isinstance(value, dict) and len(value) == 1 and isinstance(value.get(kind), list):
            return value[kind]
    return value


def _per_resource(before, after):
    """[(before, after)] of one resource each: a diff of a list of views (a task that converges
    several, e.g. every security group, shown as {"security_groups": [views]}) is paired by name."""
    before, after = (_listed(v) for v in (before, after))
    if not isinstance(before, list) and not isinstance(after, list):
        return [(before if isinstance(before, dict) else {}, after if isinstance(after, dict) else {})]

    def named(views):
        views = views if isinstance(views, list) else []
        return {str(v.get("group_name") or v.get("name") or i): v for i, v in enumerate(views) if isinstance(v, dict)}
    old, new = named(before), named(after)
    return [(old.get(n, {}), new.get(n, {})) for n in list(old) + [n for n in new if n not in old] if old.get(n) != new.get(n)]


class FilterModule:
    def filters(self):
        return {"security_changes": security_changes}
