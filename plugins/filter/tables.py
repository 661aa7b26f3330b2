# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: text tables for the history, the cost estimate and the approval of security changes."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return " ".join(str(value).split())


def text_table(rows, columns, title="", align_right=(), max_width=60, notes=()):
    """Rows (dicts) as a text table with the given columns ({key: heading} or a list of keys), then notes."""
    if isinstance(columns, dict):
        keys, headings = list(columns), list(columns.values())
    elif isinstance(columns, (list, tuple)):
        keys, headings = list(columns), list(columns)
    else:
        raise AnsibleFilterError("text_table: columns must be a list of keys or a {key: heading} mapping")
    cells = [[_cell(row.get(k))[:max_width] for k in keys] for row in rows or []]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headings)]

    def line(values):
        return " | ".join(v.rjust(w) if keys[i] in align_right else v.ljust(w)
                          for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    lines = ([title] if title else []) + [line(headings), rule] + [line(r) for r in cells] + [str(n) for n in notes or ()]
    return "\n".join(lines)


def history_row(record):
    """One row of history.yml's table from a record of operation_history."""
    counts = record.get("counts") or {}
    caller = str(record.get("caller") or "")
    who = "%s@%s" % (record.get("user", "?"), str(record.get("host", "?")).split(".", maxsplit=1)[0])
    if caller:
        who += " as " + caller.rsplit(":", maxsplit=1)[-1]
    commit = str(record.get("git_commit") or "")
    version = str(record.get("collection_version") or "")
    if commit:
        version += " @" + commit[:8] + ("+dirty" if record.get("git_dirty") in (True, "True", "true") else "")
    failed = record.get("failed_task") or {}
    duration = record.get("duration_seconds")
    row = {
        "started": str(record.get("started_at", ""))[:19].replace("T", " "),
        "operation": record.get("operation", ""),
        "result": record.get("result", ""),
        "duration": "" if duration is None else "%.0f s" % float(duration),
        "who": who,
        "version": version,
        "changes": "" if record.get("result") in ("running", "unfinished") else
                   "%d ~ %d - %d" % (counts.get("create", 0), counts.get("change", 0) + counts.get("unknown", 0), counts.get("delete", 0)),
        # Without the role's prefix (`stream_sales.platform.lock : `): the task names say their role
        # (`Lock | ...`), and a cell holds 60 characters.
        "failure": ("%s: %s" % (re.sub(r"^\S+ : ", "", str(failed.get("task", ""))), failed.get("msg", ""))) if failed else "",
    }
    return row


class FilterModule:
    def filters(self):
        return {"text_table": text_table, "history_row": history_row}
