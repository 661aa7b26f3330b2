# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: plan
type: aggregate
short_description: End every run with what it creates, changes and deletes, by role
version_added: 0.1.0
description:
  - "Counts the resources a run changed, by role, and ends the run with one line, as C(terraform plan)
    and C(cdk diff) do - in check mode C(Plan: 12 to create, 1 to change, 0 to delete.), in a real run
    C(Applied: 12 created, 1 changed, 0 deleted.), and C(No changes.) when nothing changed."
  - "A changed result is classified by its diff: an empty C(before) is a create, an empty C(after) a
    delete, anything else a change. Without a diff, C(state: absent) is a delete; in check mode a result
    that describes no existing resource (no id or ARN) is a create, one that does a change; in a real run
    it is counted as changed without a diff. Diffs are returned when the run has diff mode on:
    C(--diff), or C([diff] always = true) in ansible.cfg (C(ANSIBLE_DIFF_ALWAYS=true)), which this
    repository's ansible.cfg sets."
  - "A role that cannot plan resource by resource (check mode on an empty account, where what they
    depend on does not exist yet) lists what it would create in a C(debug) task whose C(msg) is a list
    and whose task variables hold C(stream_sales_plan: create); that list replaces the creates the role
    had counted without a diff."
  - In a real run the summary counts what was applied; changes planned by a check-mode pass of the same
    run (the deploy's plan pass in environments that approve security changes) are left out.
  - Keeps a journal of the run (the changed resources, the first failed task and its message) in a
    file named by the environment variable C(STREAM_SALES_RUN_JOURNAL), which it sets when the run
    starts; the history role records it, the approval role reads the planned security changes from it.
    Task names, loop labels and failure messages of tasks without C(no_log) go in, and the diffs of the
    security-relevant modules (security groups, IAM roles and policies, bucket policies, function URLs,
    the database cluster, the KMS key, secret policies, topic and table encryption, the web ACL) -
    policies, rules and key ARNs, never a secret; no other argument or diff.
  - Enable it with C(ANSIBLE_CALLBACKS_ENABLED=stream_sales.platform.plan) (this repository's ansible.cfg
    does); the C(stream_sales.platform.concise) stdout callback is its companion.
requirements:
  - enabled in the configuration (callbacks_enabled)
"""

import json
import os
import tempfile

from ansible import context
from ansible.plugins.callback import CallbackBase

from ansible_collections.stream_sales.platform.plugins.plugin_utils.plan import Plan

JOURNAL_ENV = "STREAM_SALES_RUN_JOURNAL"
MAX_MESSAGE = 600


def role_of(task):
    role = getattr(task, "_role", None)
    return role.get_name(include_role_fqcn=False) if role else "playbook"


def item_label(result):
    label = result.get("_ansible_item_label", result.get("item"))
    if label is None:
        return ""
    if isinstance(label, (dict, list)):
        label = json.dumps(label, sort_keys=True, default=str)
    return str(label)[:120]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "stream_sales.platform.plan"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self.plan = Plan()
        self.check_mode = bool(context.CLIARGS.get("check", False))
        self.journal_path = None

    # The journal: a small JSON file, rewritten after each change or failure, so that the history
    # role's last task reads the run as it stands.
    def v2_playbook_on_start(self, playbook):
        if getattr(playbook, "_file_name", "") == "__adhoc_playbook__":
            self.disabled = True  # ad hoc commands (and their JSON output) are left alone
            return
        fd, self.journal_path = tempfile.mkstemp(prefix="stream-sales-run-", suffix=".json")
        os.close(fd)
        os.environ[JOURNAL_ENV] = self.journal_path
        self._write_journal()

    def _write_journal(self):
        if not self.journal_path:
            return
        tmp = self.journal_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.plan.journal(), handle)
        os.replace(tmp, self.journal_path)

    def v2_playbook_on_play_start(self, play):
        if play.check_mode:
            self.check_mode = True

    def _changed(self, result, item=""):
        if not result.result.get("changed"):
            return
        task = result.task
        check = bool(task.check_mode) or self.check_mode
        self.plan.add(role_of(task), task.get_name().strip(), item, result.result, check, task.action)
        self._write_journal()

    def v2_runner_on_ok(self, result):
        if "results" in result.result and result.task.loop is not None:
            return  # counted item by item
        action = (result.task.vars or {}).get("stream_sales_plan")
        if action and isinstance(result.result.get("msg"), list):
            self.plan.planned(role_of(result.task), result.task.get_name().strip(), action, result.result["msg"],
                              bool(result.task.check_mode) or self.check_mode)
            self._write_journal()
            return
        self._changed(result)

    def v2_runner_item_on_ok(self, result):
        self._changed(result, item_label(result.result))

    def _failed(self, result, item=""):
        res = result.result
        if "censored" in res:
            msg = "(output hidden: no_log)"
        else:
            msg = str(res.get("msg") or res.get("stderr") or res.get("exception") or "failed")
        self.plan.fail(role_of(result.task), result.task.get_name().strip(), item, msg[:MAX_MESSAGE])
        self._write_journal()

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            self._failed(result)
            if "results" not in result.result:
                self._changed(result)

    def v2_runner_item_on_failed(self, result):
        if not result.task.ignore_errors:
            self._failed(result, item_label(result.result))

    def v2_runner_on_unreachable(self, result):
        self._failed(result)

    def v2_playbook_on_stats(self, stats):
        for line in self.plan.summary(self.check_mode):
            self._display.display(line)
        if self.journal_path:
            for path in (self.journal_path, self.journal_path + ".tmp"):
                if os.path.exists(path):
                    os.unlink(path)
