# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run creates, changes and deletes, from the task results (controller side).

Used by the ``plan`` callback (the summary line and the run journal that the history role
records) and by the ``concise`` stdout callback (one line per resource).

How a changed result is classified, in this order:

1. Its diff (or each of its diffs, when a module returns a list): an empty ``before`` is a
   create, an empty ``after`` a delete, anything else a change. The modules of this collection
   return a diff for every resource they manage; amazon.aws and community.aws modules do where
   they support diff mode. ``[diff] always`` in ansible.cfg (``ANSIBLE_DIFF_ALWAYS=true``) makes
   every run return them, not only ``--diff`` runs.
2. No diff: ``state: absent`` in the module's arguments is a delete.
3. No diff, in check mode: a result that describes no existing resource (no ``id`` or ``arn``
   of its own) is a create - an upstream module planning a create has nothing to describe yet;
   one that does describe it is a change.
4. No diff, in a real run: counted apart as "changed without a diff" (an upstream module that
   returns the resource after creating it looks the same as one that updated it).

One changed result (or loop item) is one resource; a task whose module manages several returns
one diff each, or - the network modules of LIST_MODULES, which converge every resource of a kind
in one task - one diff whose before and after list them by name: those are paired by name and
counted resource by resource (an unchanged one counts for nothing).

A role that cannot plan its resources one by one (in check mode on an empty account, what they
depend on does not exist yet) says what it would create in a ``debug`` task whose ``msg`` is a
list, one resource per line, and which carries the task variable ``stream_sales_plan: create``.
That list is the role's plan: it replaces the creates the role had counted without a diff.
"""

from __future__ import annotations

import re

ACTIONS = ("create", "change", "delete")
UNKNOWN = "unknown"
# Keys of a result that say nothing about the resource itself.
_BOOKKEEPING = re.compile(r"^(_ansible_.*|ansible_.*|invocation|diff|changed|failed|msg|warnings|deprecations|"
                          r"item|skipped|skip_reason|false_condition|attempts|exception|censored)$")
# Keys naming a resource's own identity. A parent's id (vpc_id on a subnet) does not count,
# hence only these exact names at the top of the resource's own mapping.
_IDENTITY = re.compile(r"^(id|arn|[a-z]+_id|[a-z]+_arn|[A-Z][A-Za-z]*(Id|Arn|ARN))$")
_PARENT_IDS = re.compile(r"^(vpc_id|VpcId|subnet_id|SubnetId|owner_id|OwnerId|account_id|AccountId|region_id)$")
_ABSENT_STATES = ("absent", "deleted")
# Modules whose changes can widen access: their diffs go into the journal, where the approval
# role reads them (roles/approval, plugins/filter/security.py).
SECURITY_MODULES = frozenset((
    "ec2_vpc_security_group", "iam_role", "iam_policy", "iam_managed_policy", "s3_private_bucket",
    "s3_bucket_policy_statements", "lambda_function_url", "lambda_policy", "rds_serverless_cluster",
    "kms_key", "ec2_vpc_flow_log", "kms_alias_key", "secretsmanager_generated_secret",
    "dynamodb_table", "wafv2_web_acl_logged", "iam_roles", "sns_topic",
))
# Modules that converge every resource of a kind in one task: their diff's before and after are a
# list of views (by name), or a mapping of such lists by kind (ec2_route_table: route_tables,
# gateway_endpoints).
LIST_MODULES = frozenset(("ec2_vpc_subnets", "ec2_nat_gateway", "ec2_route_table", "ec2_vpc_security_group", "iam_roles",
                          "sqs_queues", "rds_cluster_instances", "cloudfront_origin_access_controls", "cloudwatch_log_group"))
_VIEW_NAMES = ("name", "Name", "group_name", "identifier", "cidr", "id")


def _empty(value):
    if value is None:
        return True
    if isinstance(value, (dict, list, tuple, str)):
        if isinstance(value, str):
            return value.strip() in ("", "{}", "[]", "null")
        return len(value) == 0
    return False


def classify_diff(diff):
    """create / change / delete for one {before, after} diff; None when it shows no change."""
    if not isinstance(diff, dict) or not ("before" in diff or "after" in diff):
        return None
    before, after = diff.get("before"), diff.get("after")
    if before == after:
        return None
    if _empty(before) and not _empty(after):
        return "create"
    if _empty(after) and not _empty(before):
        return "delete"
    return "change"


def _diffs(result):
    diff = result.get("diff")
    if isinstance(diff, dict):
        return [diff]
    if isinstance(diff, list):
        return [d for d in diff if isinstance(d, dict)]
    return []


def _named(value, kind=""):
    """{name: view} of a list of views (or of names) or of a mapping of views by name."""
    prefix = kind + " " if kind else ""
    if isinstance(value, dict):
        return {prefix + str(k): v for k, v in value.items()}
    members = {}
    for index, view in enumerate(value if isinstance(value, list) else []):
        name = next((str(view[k]) for k in _VIEW_NAMES if view.get(k)), str(index)) if isinstance(view, dict) else str(view)
        key, count = prefix + name, 2
        while key in members:  # a NAT gateway and its Elastic IP share a name
            key, count = "%s%s (%d)" % (prefix, name, count), count + 1
        members[key] = view
    return members


def _members(value):
    if isinstance(value, dict):  # by kind
        found = {}
        for kind, views in value.items():
            found.update(_named(views, str(kind).rstrip("s").replace("_", " ")))
        return found
    return _named(value)


def split_diff(diff):
    """[(name, diff)] of the resources a LIST_MODULES diff shows changed, in order."""
    before, after = _members(diff.get("before")), _members(diff.get("after"))
    names = list(before) + [n for n in after if n not in before]
    pairs = [(n, {"before": before.get(n) or {}, "after": after.get(n) or {}}) for n in names]
    return [(n, d) for n, d in pairs if classify_diff(d)]


def _lists_resources(value):
    """A list of views, or a mapping of such lists (or of views by name) by kind; not one view."""
    if isinstance(value, list):
        return True
    return isinstance(value, dict) and bool(value) and all(isinstance(v, (list, dict)) for v in value.values())


def _resource_diffs(result, module=""):
    """[(name, diff)]: each diff of a result, a LIST_MODULES diff split per resource (name "" otherwise)."""
    found = []
    for diff in _diffs(result):
        if (str(module).rsplit(".", 1)[-1] in LIST_MODULES
                and (_lists_resources(diff.get("before")) or _lists_resources(diff.get("after")))):
            found += split_diff(diff)
        else:
            found.append(("", diff))
    return found


def _describes_a_resource(value, depth=0):
    """Whether a module result carries the identity (id or ARN) of an existing resource."""
    if depth > 2:
        return False
    if isinstance(value, dict):
        for key, item in value.items():
            if depth == 0 and _BOOKKEEPING.match(str(key)):
                continue
            if (_IDENTITY.match(str(key)) and not _PARENT_IDS.match(str(key))
                    and isinstance(item, str) and item.strip()):
                return True
            if isinstance(item, (dict, list)) and _describes_a_resource(item, depth + 1):
                return True
    elif isinstance(value, list):
        return any(_describes_a_resource(item, depth + 1) for item in value[:5])
    return False


def classify_result(result, check_mode, module=""):
    """(action, from a diff) pairs for one changed result; action is create / change / delete / unknown."""
    return [found[:2] for found in _classified(result, check_mode, module)]


def _classified(result, check_mode, module=""):
    """(action, from a diff, resource name or "", its diff or None) for one changed result."""
    if not result.get("changed"):
        return []
    actions = [(classify_diff(d), True, n, d) for n, d in _resource_diffs(result, module)]
    actions = [a for a in actions if a[0]]
    if actions:
        return actions
    diffs = _diffs(result)
    first = diffs[0] if diffs else None
    args = (result.get("invocation") or {}).get("module_args") or {}
    if str(args.get("state", "")).lower() in _ABSENT_STATES:
        return [("delete", False, "", first)]
    if check_mode:
        return [("change" if _describes_a_resource(result) else "create", False, "", first)]
    return [(UNKNOWN, False, "", first)]


class Plan:
    """Changed resources of one run, by role, and the first failure.

    An entry: role, task, item, action, from_diff (classified by its diff), check (planned in
    check mode, e.g. the deploy's plan pass, or applied), module; and for the modules of
    SECURITY_MODULES, the diff itself.
    """

    def __init__(self):
        self.entries = []
        self.failed = None  # {role, task, item, msg}

    def add(self, role, task, item, result, check_mode, module=""):
        short = str(module).rsplit(".", 1)[-1]
        for action, from_diff, name, diff in _classified(result, check_mode, module):
            entry = {"role": role, "task": task, "item": " ".join(p for p in (item, name) if p)[:120], "action": action,
                     "from_diff": from_diff, "check": bool(check_mode), "module": str(module)}
            if short in SECURITY_MODULES:
                entry["diff"] = diff
            self.entries.append(entry)

    def planned(self, role, task, action, items, check_mode=True):
        """A role's own list of what it would do (see the module docstring)."""
        if action not in ACTIONS:
            return
        self.entries = [e for e in self.entries if not (e["role"] == role and e["action"] == action and not e["from_diff"])]
        for item in items:
            self.entries.append({"role": role, "task": task, "item": str(item)[:120], "action": action,
                                 "from_diff": False, "check": bool(check_mode), "module": ""})

    def fail(self, role, task, item, msg):
        if self.failed is None:
            self.failed = {"role": role, "task": task, "item": item, "msg": msg}

    def _selected(self, check_mode):
        """A check run reports what it planned; a real run what it applied (not its plan pass)."""
        return [e for e in self.entries if check_mode or not e.get("check")]

    def counts(self, role=None, check_mode=True):
        counts = dict.fromkeys(ACTIONS + (UNKNOWN,), 0)
        for entry in self._selected(check_mode):
            if role is None or entry["role"] == role:
                counts[entry["action"]] += 1
        return counts

    def roles(self, check_mode=True):
        seen = []
        for entry in self._selected(check_mode):
            if entry["role"] not in seen:
                seen.append(entry["role"])
        return seen

    def summary(self, check_mode):
        """The closing lines: `Plan: ...` (check mode), `Applied: ...` (a real run) or `No changes.`"""
        roles = self.roles(check_mode)
        if not roles:
            return ["No changes."]
        width = max(len(r) for r in roles)
        lines = ["  %-*s  %s" % (width, role, _phrase(self.counts(role, check_mode), check_mode)) for role in roles]
        return lines + [_headline(self.counts(check_mode=check_mode), check_mode)]

    def journal(self):
        return {"changes": list(self.entries), "failed": self.failed}


def _phrase(counts, check_mode):
    if check_mode:
        parts = ["%d to create" % counts["create"], "%d to change" % counts["change"], "%d to delete" % counts["delete"]]
    else:
        parts = ["%d created" % counts["create"], "%d changed" % counts["change"], "%d deleted" % counts["delete"]]
    if counts[UNKNOWN]:
        parts.append("%d changed without a diff" % counts[UNKNOWN])
    return ", ".join(parts)


def _headline(counts, check_mode):
    return ("Plan: " if check_mode else "Applied: ") + _phrase(counts, check_mode) + "."
