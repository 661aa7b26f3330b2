# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark's timeline: each task's start, end and the AWS calls it made, as JSON lines.

Enabled by scripts/bench.py only (ANSIBLE_CALLBACK_PLUGINS=scripts/bench_callback,
ANSIBLE_CALLBACKS_ENABLED=bench_timeline), never by the collection. BENCH_TIMELINE names the
output file; BENCH_COUNTERS_URL the emulator front door's counters (GET /_stream_sales/faults),
read between tasks: one host runs one task at a time, so each delta is that task's calls.
"""
from __future__ import annotations

import json
import os
import time
import urllib.request

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_timeline
type: aggregate
short_description: Task timeline with AWS calls per task (scripts/bench.py)
description: Writes one JSON line per task to BENCH_TIMELINE.
"""


def _counters(url: str) -> dict:
    if not url:
        return {}
    try:
        data = json.loads(urllib.request.urlopen(url, timeout=10).read())
    except OSError:
        return {}
    return {name: v.get("requests", 0) for name, v in data.get("counters", {}).get("calls", {}).items()}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timeline"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.path = os.environ.get("BENCH_TIMELINE", "")
        self.url = os.environ.get("BENCH_COUNTERS_URL", "")
        self.start = time.time()
        self.task = None
        self.seen = _counters(self.url)
        self.status = {}

    def _close(self):
        if self.task is None:
            return
        now = _counters(self.url)
        calls = {k: v - self.seen.get(k, 0) for k, v in now.items() if v != self.seen.get(k, 0)}
        self.seen = now
        entry = dict(self.task, end=round(time.time() - self.start, 3), calls=calls, status=self.status)
        if self.path:
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")
        self.task, self.status = None, {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self.task = {"name": task.get_name(), "action": task.action, "start": round(time.time() - self.start, 3)}

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def _count(self, kind):
        self.status[kind] = self.status.get(kind, 0) + 1

    def v2_runner_on_ok(self, result, **kwargs):
        self._count("changed" if result._result.get("changed") else "ok")

    def v2_runner_on_skipped(self, result, **kwargs):
        self._count("skipped")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count("failed")

    def v2_runner_item_on_ok(self, result):
        self._count("item")

    def v2_playbook_on_stats(self, stats):
        self._close()
