# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the preflight rules on the controller: no module, no AWS call."""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase
from ansible.utils.vars import load_extra_vars

from ansible_collections.stream_sales.platform.plugins.module_utils.preflight import preflight_errors
from ansible_collections.stream_sales.platform.plugins.plugin_utils.variables import Catalog

# The collection's root (plugins/action/ is two levels down): its roles declare the variables.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("values", "durations", "check_names"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        values = self._task.args.get("values") or {}
        durations = self._task.args.get("durations") or {}
        if not isinstance(values, dict) or not isinstance(durations, dict):
            return dict(result, failed=True, msg="values and durations must be mappings of variable name to value.")
        catalog = Catalog(ROOT)
        errors = []
        if self._task.args.get("check_names", True):
            # Names only: every variable of this run, and the -e ones (typos of unprefixed names too).
            extra_vars = load_extra_vars(self._loader)
            errors += catalog.unknown_errors(list(task_vars or {}), list(extra_vars))
        errors += preflight_errors(values)
        errors += catalog.duration_errors(durations)
        result["changed"] = False
        result["errors"] = errors
        if errors:
            result["failed"] = True
            result["msg"] = "Preflight failed, nothing was changed:\n- " + "\n- ".join(errors)
        else:
            result["msg"] = "Preflight passed: %d variables checked." % (len(values) + len(durations))
        return result
