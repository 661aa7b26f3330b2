"""The chaos harness: playbooks against a hostile emulator, then real state counted past its faults.

- `chaos.faults(spec, seed)` puts faults on the emulator's front door (scripts/fault_front.py), which
  the playbooks talk to; `census()` counts resources by type through `aws_direct_url`, moto
  itself, never faulted.
- `play(name, *args)` runs a playbook the way the Makefile does (mitogen's strategy unless
  MITOGEN=0); `play_and_kill(name, task, ...)` kills -9 its ansible-playbook when the given task
  number starts, and reports what survived it: processes (this test process is the subreaper of
  everything it starts, so orphans stay visible) and AWS calls made after the kill.
- CHAOS_SEEDS=N (`make chaos SEEDS=N`) runs the long suite (tests marked `chaos_long`); without
  it, only the quick subset runs (inside `make test`). CHAOS_CLOCK=1/60 runs them all under the
  scaled AWS clock.

Failures name the calls that were faulted: the front door's log (faults.log) is attached.
"""
from __future__ import annotations

import ctypes
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from playbook_run import Run as PlaybookRun

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
SEEDS = int(os.environ.get("CHAOS_SEEDS", "0") or 0)
# The AWS clock of the runs (scripts/emulator_fixes/clock.py), e.g. CHAOS_CLOCK=1/60; none by default.
CLOCK = os.environ.get("CHAOS_CLOCK") or None
# The deploy's optional parts are in: alarms need an address.
DEPLOY_ARGS = ("-e", "alarm_email=oncall@example.com")


def pytest_configure(config):
    config.addinivalue_line("markers", "chaos_long: the long fault suite, run by `make chaos SEEDS=N`")


def pytest_collection_modifyitems(config, items):
    if SEEDS:
        return
    skip = pytest.mark.skip(reason="long fault suite: make chaos SEEDS=N")
    for item in items:
        if "chaos_long" in item.keywords:
            item.add_marker(skip)


def seeds(quick: int = 1) -> list[int]:
    return list(range(1, (SEEDS or quick) + 1))


# --- the emulator ------------------------------------------------------------------------------

def control(endpoint: str, name: str, payload: dict | None = None) -> dict:
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(f"{endpoint}/_stream_sales/{name}", data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=30).read())


@dataclass
class Emulator:
    state: dict
    state_dir: Path

    @property
    def front(self) -> str:
        return self.state["aws_endpoint_url"]

    @property
    def direct(self) -> str:
        return self.state["aws_direct_url"]

    def reset(self) -> None:
        self.faults("")
        control(self.front, "clock", {"factor": CLOCK})
        req = urllib.request.Request(self.direct + "/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=60).read()

    def faults(self, spec: str, seed: int = 0) -> dict:
        return control(self.front, "faults", {"spec": spec, "seed": seed})

    def requests(self) -> int:
        return control(self.front, "faults")["counters"]["requests"]

    def fault_log(self, since: int = 0) -> list[dict]:
        log = self.state_dir / "faults.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [json.loads(line) for line in lines[since:]]

    def fault_log_length(self) -> int:
        log = self.state_dir / "faults.log"
        return len(log.read_text().splitlines()) if log.exists() else 0

    def client(self, service: str, region: str = "us-east-1"):
        import boto3

        return boto3.client(service, endpoint_url=self.direct, region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="session")
def chaos(emulator) -> Emulator:
    if "aws_direct_url" not in emulator:
        pytest.fail("the emulator has no front door: restart it (scripts/emulator.py stop; start)")
    state_dir = Path(os.environ.get("STREAM_SALES_STATE_DIR", ROOT / ".state"))
    return Emulator(emulator, state_dir)


# --- counting real state -------------------------------------------------------------------------

def _all(client, method: str, key: str, **kwargs) -> list:
    if client.can_paginate(method):
        return [i for page in client.get_paginator(method).paginate(**kwargs) for i in page.get(key, [])]
    return getattr(client, method)(**kwargs).get(key, [])


def _has_url(lam, name: str) -> int:
    # moto has no ListFunctionUrlConfigs; our functions have at most one URL (unqualified).
    try:
        lam.get_function_url_config(FunctionName=name)
        return 1
    except lam.exceptions.ResourceNotFoundException:
        return 0


def census(chaos: Emulator) -> dict:
    """Resources by type, as moto holds them (never through the faults)."""
    ec2, lam, rds = chaos.client("ec2"), chaos.client("lambda"), chaos.client("rds")
    vpcs = [v["VpcId"] for v in _all(ec2, "describe_vpcs", "Vpcs") if not v.get("IsDefault")]
    in_vpcs = [{"Name": "vpc-id", "Values": vpcs}] if vpcs else None
    functions = _all(lam, "list_functions", "Functions")
    counts = {
        "vpc": len(vpcs),
        "subnet": len(_all(ec2, "describe_subnets", "Subnets", Filters=in_vpcs)) if vpcs else 0,
        "route_table": len(_all(ec2, "describe_route_tables", "RouteTables", Filters=in_vpcs)) if vpcs else 0,
        "nat_gateway": len([n for n in _all(ec2, "describe_nat_gateways", "NatGateways") if n["State"] != "deleted"]),
        "eip": len(ec2.describe_addresses()["Addresses"]),
        "security_group": len(_all(ec2, "describe_security_groups", "SecurityGroups", Filters=in_vpcs)) if vpcs else 0,
        "vpc_endpoint": len(_all(ec2, "describe_vpc_endpoints", "VpcEndpoints")),
        "secret": len(_all(chaos.client("secretsmanager"), "list_secrets", "SecretList")),
        "bucket": len(chaos.client("s3").list_buckets()["Buckets"]),
        "cluster": len(_all(rds, "describe_db_clusters", "DBClusters")),
        "instance": len(_all(rds, "describe_db_instances", "DBInstances")),
        "function": len(functions),
        "version": sum(len([v for v in _all(lam, "list_versions_by_function", "Versions", FunctionName=f["FunctionName"])
                            if v["Version"] != "$LATEST"]) for f in functions),
        "url": sum(_has_url(lam, f["FunctionName"]) for f in functions),
        "distribution": len(chaos.client("cloudfront").list_distributions()["DistributionList"].get("Items") or []),
        "alarm": len(_all(chaos.client("cloudwatch"), "describe_alarms", "MetricAlarms")),
        "log_group": len(_all(chaos.client("logs"), "describe_log_groups", "logGroups")),
        "role": len(_all(chaos.client("iam"), "list_roles", "Roles")),
        "topic": len(_all(chaos.client("sns"), "list_topics", "Topics")),
        "queue": len(chaos.client("sqs").list_queues().get("QueueUrls", [])),
        "table": len(_all(chaos.client("dynamodb"), "list_tables", "TableNames")),
        "parameter": len(_all(chaos.client("ssm"), "describe_parameters", "Parameters")),
    }
    return counts


def differences(got: dict, expected: dict) -> dict:
    return {k: (got.get(k), expected.get(k)) for k in sorted(set(got) | set(expected)) if got.get(k) != expected.get(k)}


# --- running playbooks ---------------------------------------------------------------------------

@dataclass
class Run(PlaybookRun):
    name: str = ""
    seconds: float = 0.0
    faults: list = field(default_factory=list)

    @property
    def tasks(self) -> int:
        return len(re.findall(r"^TASK \[", self.out, re.M))

    def failure(self) -> str:
        """The failed task and its message, and the faults injected during the run."""
        found = list(re.finditer(r"^(?:fatal|failed): \[[^\]]+\](?: \(item=([^)]*)\))?", self.out, re.M))
        if not found:
            return (f"{self.name} (rc={self.rc}), no failed task: {self.out[-1500:]}\n"
                    f"faults injected during the run: {summary(self.faults)}")
        last = found[-1]
        tasks = re.findall(r"^TASK \[([^\]]+)\]", self.out[:last.start()], re.M)
        body = self.out[last.end():last.end() + 6000]
        msg = re.search(r"^\s+msg: ((?:.|\n\s{6,}\S)*)", body, re.M)
        item = f" (item {last.group(1)})" if last.group(1) else ""
        detail = " ".join(msg.group(1).split())[:1200] if msg else body[:1200]
        return (f"{self.name} (rc={self.rc}) failed at [{tasks[-1] if tasks else '?'}]{item}: {detail}\n"
                f"faults injected during the run: {summary(self.faults)}")


def summary(faults: list) -> str:
    counts: dict = {}
    for f in faults:
        key = f"{f['service']}.{f['operation']}:{f['fault']}"
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{k}x{v}" for k, v in sorted(counts.items())) or "none"


def _env() -> dict:
    # The default callback prints every task (the concise one only changes and failures), so
    # that kill points are counted over all of a playbook's tasks, not its changed ones.
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_PYTHON_INTERPRETER=str(BIN / "python"))
    if os.environ.get("MITOGEN", "1") == "1":
        import ansible_mitogen

        env.update(ANSIBLE_STRATEGY_PLUGINS=str(Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"),
                   ANSIBLE_STRATEGY="mitogen_linear")
    return env


def _command(name: str, args) -> list[str]:
    return [str(BIN / "ansible-playbook"), f"playbooks/{name}.yml", "-i", "inventories/local", *args]


def run_playbook(chaos: Emulator, name: str, *args: str, timeout: int = 1800) -> Run:
    """Run playbooks/<name>.yml on the local inventory (the emulator's front door).

    The output is also kept in .state/chaos-runs/ (named after the test), for the post-mortem.
    """
    since, start = chaos.fault_log_length(), time.monotonic()
    proc = subprocess.run(_command(name, args), cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)
    run = Run(proc.returncode, proc.stdout + proc.stderr, name, time.monotonic() - start, chaos.fault_log(since))
    keep = chaos.state_dir / "chaos-runs"
    keep.mkdir(exist_ok=True)
    test = re.sub(r"[^\w.-]+", "_", os.environ.get("PYTEST_CURRENT_TEST", "run").split(" ")[0].split("::")[-1])
    (keep / f"{time.strftime('%H%M%S')}-{test}-{name}-rc{run.rc}.log").write_text(run.out)
    return run


@pytest.fixture
def play(chaos):
    """play(name, *args): run_playbook on the session's emulator."""
    return lambda name, *args, **kwargs: run_playbook(chaos, name, *args, **kwargs)


# --- kill -9 -------------------------------------------------------------------------------------

PR_SET_CHILD_SUBREAPER = 36


def descendants() -> set[int]:
    procs = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                procs[int(pid)] = (int(fields[1]), fields[0])
            except (OSError, IndexError):
                pass
    mine, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {p for p, (ppid, ignored) in procs.items() if ppid in frontier} - mine
        mine |= frontier
    return {p for p in mine if procs[p][1] != "Z"}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:160]
    except OSError:
        return "?"


@dataclass
class Killed:
    run: Run
    at_task: str
    survivors: list
    calls_after: int


@pytest.fixture
def play_and_kill(chaos):
    """play_and_kill(name, task_number, delay, *args): kill -9 ansible-playbook as that task starts (+delay s)."""
    if sys.platform != "linux":
        pytest.skip("needs Linux (a child subreaper and /proc)")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    def run(name: str, task_number: int, delay: float, *args: str) -> Killed:
        base = descendants()
        log_path = chaos.state_dir / f"chaos-{name}.log"
        since, start = chaos.fault_log_length(), time.monotonic()
        with log_path.open("w") as log:
            proc = subprocess.Popen(_command(name, args), cwd=ROOT, env=_env(), stdout=log, stderr=subprocess.STDOUT)
        at = "(finished first)"
        while proc.poll() is None:
            tasks = re.findall(r"^TASK \[([^\]]+)\]", log_path.read_text(errors="replace"), re.M)
            if len(tasks) >= task_number:
                time.sleep(delay)
                at = tasks[-1]
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.1)
        proc.wait()
        time.sleep(5)  # what the run left behind has had time to notice
        left = sorted(descendants() - base)
        survivors = [f"{pid} {_cmdline(pid)}" for pid in left]
        calls = chaos.requests()
        time.sleep(10)
        calls_after = chaos.requests() - calls
        for pid in left:  # ours: never leave them to the next run
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        out = log_path.read_text(errors="replace")
        return Killed(Run(proc.returncode, out, name, time.monotonic() - start, chaos.fault_log(since)),
                      at, survivors, calls_after)

    yield run
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def lock_held(chaos: Emulator, env: str = "local") -> bool:
    ddb = chaos.client("dynamodb")
    try:
        item = ddb.get_item(TableName=f"stream-sales-{env}-locks", Key={"lock_id": {"S": f"stream-sales-{env}"}},
                            ConsistentRead=True)
    except ddb.exceptions.ResourceNotFoundException:
        return False
    return "Item" in item


def rng(*parts) -> random.Random:
    return random.Random("|".join(map(str, parts)))
