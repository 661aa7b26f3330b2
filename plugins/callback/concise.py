# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: concise
type: stdout
short_description: Only what matters - changes, diffs, messages, warnings and failures
version_added: 0.1.0
description:
  - Ansible's default output without the noise of a converged stack - a task prints nothing when it
    is ok or skipped. Printed - each change (one line per resource), its diff in check mode (or at
    C(-v)), the messages of C(debug) tasks (the outputs table, the plans of the roles) and the success messages of
    C(assert) tasks that have one (what C(verify.yml) found), warnings and
    deprecations, failures with their result, and the recap.
  - A C(--check --diff) run that changes nothing prints a few dozen lines instead of hundreds; with the
    C(stream_sales.platform.plan) callback it ends with C(No changes.).
  - In a real run the diffs are not printed (C([diff] always) only feeds the plan); C(-v) prints them,
    and any C(-v) gives Ansible's default output back.
  - Use it with C(ANSIBLE_STDOUT_CALLBACK=stream_sales.platform.concise) (this repository's ansible.cfg
    sets it).
extends_documentation_fragment:
  - default_callback
  - result_format_callback
requirements:
  - set as stdout in configuration
"""

from ansible import context
from ansible.plugins.callback.default import CallbackModule as DefaultCallback

# Tasks whose results are messages meant for the reader.
MESSAGE_ACTIONS = frozenset(("debug", "ansible.builtin.debug", "ansible.legacy.debug"))
# An assert with a success message of its own (what verify.yml found) is a message too.
ASSERT_ACTIONS = frozenset(("assert", "ansible.builtin.assert", "ansible.legacy.assert"))
ASSERT_DEFAULT_MSG = "All assertions passed"


class CallbackModule(DefaultCallback):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "stream_sales.platform.concise"

    def __init__(self):
        super().__init__()
        self._showing_ok = False

    @property
    def _quiet(self):
        return self._display.verbosity < 1

    def get_option(self, k):
        # The default callback's two switches, forced off unless -v asks for everything.
        if k in ("display_ok_hosts", "display_skipped_hosts") and self._quiet and not self._showing_ok:
            return False
        return super().get_option(k)

    def _is_message(self, result):
        if result.result.get("skipped"):
            return False
        if result.task.action in ASSERT_ACTIONS:
            return bool(result.result.get("_ansible_verbose_always")) and result.result.get("msg") not in (None, ASSERT_DEFAULT_MSG)
        return result.task.action in MESSAGE_ACTIONS

    def _check_mode(self, result):
        return bool(result.task.check_mode) or bool(context.CLIARGS.get("check"))

    def _ok(self, result, show):
        """Show an ok result (task or loop item) when it is a message or a change; else only its warnings."""
        if self._quiet and self._is_message(result):
            self._showing_ok = True
            try:
                show(result)
            finally:
                self._showing_ok = False
            return
        if self._quiet and not result.result.get("changed"):
            # Hidden, but its warnings and deprecations still show.
            self._handle_warnings_and_exception(result)
            return
        show(result)

    def v2_runner_on_ok(self, result):
        self._ok(result, super().v2_runner_on_ok)

    def v2_runner_item_on_ok(self, result):
        self._ok(result, super().v2_runner_item_on_ok)

    def v2_runner_on_skipped(self, result):
        if self._quiet:
            self._handle_warnings_and_exception(result)
            return
        super().v2_runner_on_skipped(result)

    def v2_runner_item_on_skipped(self, result):
        if self._quiet:
            return
        super().v2_runner_item_on_skipped(result)

    def v2_on_file_diff(self, result):
        # Diffs are the plan: shown in check mode; a real run lists its changes (-v adds the diffs).
        if self._quiet and not self._check_mode(result):
            return
        super().v2_on_file_diff(result)

    def v2_playbook_on_include(self, included_file):
        if not self._quiet:
            super().v2_playbook_on_include(included_file)
