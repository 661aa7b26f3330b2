# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The present/absent/check/diff skeleton every module of ours shares.

A module finds its resource (a comparable view, or None), says what it wants (a view, or None
for absent), and hands create/update/delete callables to converge(); check mode, the changed
flag and the diff are decided here, once:

    with aws_errors(module, f"dashboard {name}"):
        current = find()
        changed, after = converge(module, current, wanted, create=..., update=..., delete=...)
    exit_with(module, changed, current, after, dashboard_arn=...)
"""

from __future__ import annotations

from contextlib import contextmanager

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

PRESENT_ABSENT = dict(type="str", default="present", choices=["present", "absent"])


def with_state(**options):
    """An argument_spec with the usual `state: present|absent`."""
    options.setdefault("state", dict(PRESENT_ABSENT))
    return options


@contextmanager
def aws_errors(module, what):
    """Turn an AWS error into fail_json_aws naming the resource."""
    try:
        yield
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage {what}")


def converge(module, current, wanted, create, update=None, delete=None, differs=None):
    """Bring `current` (a view, or None) to `wanted` (a view, or None for absent).

    Nothing is called in check mode. create() and update(current) return the view after the
    change; delete(current) returns nothing. Returns (changed, view after).
    """
    differs = differs or (lambda have, want: have != want)
    if wanted is None:
        if current is None:
            return False, None
        if not module.check_mode:
            delete(current)
        return True, None
    if current is None:
        return True, wanted if module.check_mode else create()
    if not differs(current, wanted):
        return False, current
    return True, wanted if module.check_mode else update(current)


def exit_with(module, changed, before, after, kind=None, **result):
    """exit_json with the diff (before/after views) when --diff asked for it.

    An absent resource is {}. A module that converges a list of resources names their kind: its
    before and after are {kind: [views]}, a mapping as every stdout callback expects (ansible's
    default callback cannot show a list).
    """
    if module._diff:
        before, after = ({} if v is None else v for v in (before, after))
        if kind:
            before, after = {kind: before}, {kind: after}
        result["diff"] = dict(before=before, after=after)
    module.exit_json(changed=changed, **result)
