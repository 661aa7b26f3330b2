"""Run one of our modules (or an upstream one, by FQCN) for real against the emulator.

The module file runs as Ansible's module runner runs it on a host: a Python process that gets
its arguments (with `_ansible_check_mode` / `_ansible_diff`) as JSON and prints its result as
JSON, masked by the module itself (no_log). Starting the `ansible` controller for each call
cost about 2 s of CPU and was most of the module tests' time; the module code is the same.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".collections"


def module_path(fqcn: str) -> Path:
    namespace, collection, module = fqcn.split(".")
    if (namespace, collection) == ("stream_sales", "platform"):
        return ROOT / "plugins" / "modules" / f"{module}.py"
    import ansible_collections

    for base in ansible_collections.__path__:
        found = Path(base) / namespace / collection / "plugins" / "modules" / f"{module}.py"
        if found.is_file():
            return found
    raise FileNotFoundError(fqcn)


def run_module(endpoint: str, name: str, args: dict, check: bool = False, diff: bool = False) -> dict:
    args = dict(args, endpoint_url=endpoint, region="us-east-1", access_key="testing", secret_key="testing")
    fqcn = name if "." in name else f"stream_sales.platform.{name}"  # ours, or e.g. amazon.aws.rds_instance
    payload = {"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check, _ansible_diff=diff,
                                           _ansible_module_name=fqcn)}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(COLLECTIONS), *sys.path[1:]]))
    proc = subprocess.run([sys.executable, str(module_path(fqcn))], input=json.dumps(payload), cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"{fqcn} printed no result (rc={proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}") from exc
    # The controller turns the module's warning and deprecation summaries into their messages.
    for key in ("warnings", "deprecations"):
        if key in result:
            result[key] = [item["event"]["msg"] if isinstance(item, dict) and "event" in item else item
                           for item in result[key]]
    result["_stdout"] = proc.stdout
    return result


def faults(endpoint: str, spec: str = "") -> dict:
    """Set the emulator front door's faults (empty: none) and count its calls from zero."""
    req = urllib.request.Request(f"{endpoint}/_stream_sales/faults", data=json.dumps({"spec": spec, "seed": 1}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=10).read())


def counters(endpoint: str) -> dict:
    """The front door's counters since the faults were last set: calls by service.Operation, faults by kind."""
    return json.loads(urllib.request.urlopen(f"{endpoint}/_stream_sales/faults", timeout=10).read())["counters"]


def calls_of(endpoint: str, prefix: str) -> dict:
    """{service.Operation: requests} of the calls whose name starts with prefix, since the faults were last set."""
    return {k: v["requests"] for k, v in counters(endpoint)["calls"].items() if k.startswith(prefix)}
