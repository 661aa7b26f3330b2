"""Measure the playbooks against the embedded emulator: wall time, tasks, changes.

    .venv/bin/python scripts/bench.py [--inventory local] [--runs 2] [--mitogen]

Uses its own emulator state (a temporary folder), so it never touches `.state/`. Reports
check mode on an empty account, the first deploy, no-change reruns (the number that
matters day to day), and the teardown.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


def run(playbook: str, inventory: str, endpoint: str, env: dict, *args: str) -> dict:
    cmd = [str(BIN / "ansible-playbook"), f"playbooks/{playbook}.yml", "-i", f"inventories/{inventory}", *args]
    if inventory != "local":
        # the emulator's account (staging and production are pinned to one), their approval of
        # security-broadening changes (a first deploy is all of them)
        cmd += ["-e", f"aws_endpoint_url={endpoint}", "-e", "aws_account_id=123456789012", "-e", "approve=broadening"]
        if inventory in ("staging", "production") and playbook == "teardown":
            cmd += ["-e", f"confirm_teardown=stream-sales-{inventory}", "-e", "purge_data=true"]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    recap = dict(re.findall(r"(\w+)=(\d+)", (re.findall(r"^\S+\s+: (ok=.*)$", proc.stdout, re.M) or [""])[-1]))
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    tasks = len(re.findall(r"^TASK \[", proc.stdout, re.M))
    return {"seconds": round(seconds, 1), "tasks": tasks, "changed": int(recap.get("changed", -1)),
            "per_task": round(seconds / max(tasks, 1), 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", default="local")
    parser.add_argument("--runs", type=int, default=2, help="no-change reruns to time")
    parser.add_argument("--mitogen", action="store_true", help="use mitogen's linear strategy")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stream-sales-bench-") as state:
        env = dict(os.environ, STREAM_SALES_STATE_DIR=state, ANSIBLE_NOCOLOR="1")
        # ansible.cfg's strategy is mitogen's when installed (scripts/strategy); plain linear otherwise.
        env["ANSIBLE_STRATEGY"] = "mitogen_or_linear" if opts.mitogen else "linear"
        emulator = [sys.executable, str(ROOT / "scripts" / "emulator.py")]
        endpoint = json.loads(subprocess.run([*emulator, "start"], env=env, capture_output=True, text=True,
                                             check=True).stdout)["aws_endpoint_url"]
        try:
            results = {"check on empty account": run("deploy", opts.inventory, endpoint, env, "--check", "--diff"),
                       "first deploy": run("deploy", opts.inventory, endpoint, env)}
            for i in range(opts.runs):
                results[f"no-change rerun {i + 1}"] = run("deploy", opts.inventory, endpoint, env)
            results["teardown"] = run("teardown", opts.inventory, endpoint, env)
        finally:
            subprocess.run([*emulator, "stop"], env=env, check=False)
    print(f"{'inventory ' + opts.inventory + (' (mitogen)' if opts.mitogen else ''):32} {'seconds':>8} {'tasks':>6} {'changed':>8} {'s/task':>7}")
    for name, r in results.items():
        print(f"{name:32} {r['seconds']:>8} {r['tasks']:>6} {r['changed']:>8} {r['per_task']:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
