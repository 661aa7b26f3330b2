# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the cross-field preflight rules on the controller: no module, no AWS call."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.stream_sales.platform.plugins.module_utils.preflight import preflight_errors


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("values",))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        values = self._task.args.get("values") or {}
        if not isinstance(values, dict):
            return dict(result, failed=True, msg="values must be a mapping of variable name to value.")
        errors = preflight_errors(values)
        result["changed"] = False
        result["errors"] = errors
        if errors:
            result["failed"] = True
            result["msg"] = "Preflight failed, nothing was changed:\n- " + "\n- ".join(errors)
        else:
            result["msg"] = "Preflight passed: %d variables checked." % len(values)
        return result
