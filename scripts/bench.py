"""The benchmark (`make bench`): what a deploy costs, on the emulator's AWS clock and call counts.

    .venv/bin/python scripts/bench.py [--inventory production] [--runs 2] [--clock 1/60]
                                      [--latency 50ms] [--baseline REV | --baseline none]

Reports, in one run, each on an emulator of its own (a temporary state folder; `.state/` is never
touched):
1. a fresh deploy under the scaled AWS clock (`--clock`, scripts/emulator_fixes/clock_times.toml)
   with `--latency` per AWS call: wall time against the critical path of the same table
   (scripts/critical_path.py), when the distribution was deployed and when the Aurora instances
   were available (read from moto every half second), and the same deploy's wall time with the
   clock off (what Ansible itself costs: the floor no graph can remove);
2. no-change reruns (clock off, no latency), `--runs` of each way to run them, interleaved: the
   README's plain command (ansible.cfg's strategy), plain `linear`, and `--baseline`'s tree (a git
   worktree of REV on its own emulator: the main of the day the performance issue was filed);
   for each: wall time, tasks, AWS calls (the emulator's front door counts them), calls per
   top-level resource (what the tagging API lists for the environment) and repeated calls (the
   same call twice in one run);
3. the teardown under the clock.
The figures are the lowest of the runs (the machine's noise only adds). A task timeline per run
(each task's seconds and AWS calls) is written next to the report for a closer look.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(ROOT / "scripts"))
from critical_path import _factor, critical_path, resources  # noqa: E402 pylint: disable=wrong-import-position

ACCOUNT = "123456789012"  # moto's
# The main of 2026-12-04 morning, when the performance issue was measured and filed.
BASELINE = "1179766"


class Emulator:
    """An emulator of one tree, on a temporary state folder."""

    def __init__(self, tree: Path, state: Path):
        self.tree, self.state = tree, state
        self.env = dict(os.environ, STREAM_SALES_STATE_DIR=str(state), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        state.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([sys.executable, str(tree / "scripts" / "emulator.py"), "start"], env=self.env, cwd=tree,
                              capture_output=True, text=True, check=False)
        if proc.returncode:
            sys.exit(f"the emulator of {tree} did not start:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        info = json.loads(proc.stdout)
        self.endpoint = info["aws_endpoint_url"]
        self.direct = info.get("aws_direct_url", self.endpoint)
        self.counted = "aws_direct_url" in info  # a front door that counts calls

    def stop(self) -> None:
        subprocess.run([sys.executable, str(self.tree / "scripts" / "emulator.py"), "stop"], env=self.env,
                       cwd=self.tree, capture_output=True, check=False)

    def control(self, name: str, payload: dict | None = None) -> dict:
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(f"{self.endpoint}/_stream_sales/{name}", data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=30).read())

    def hostile(self, clock: str | None, latency: str = "") -> None:
        """Set the clock and the latency; resets the call counters."""
        if self.counted:
            self.control("clock", {"factor": clock})
            self.control("faults", {"spec": f"latency={latency}" if latency else "", "seed": 0})

    def reset(self) -> None:
        """An empty account again."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=60).read()

    def reset_counters(self) -> None:
        """Count from zero (a repeat is a call made twice in one run), faults and clock kept."""
        if self.counted:
            self.control("faults", {"spec": self.control("faults")["spec"], "seed": 0})

    def counters(self) -> dict:
        if not self.counted:
            return {}
        c = self.control("faults")["counters"]
        return {"calls": c["requests"], "repeats": sum(c.get("repeats", {}).values())}

    def client(self, service: str, region: str = "us-east-1"):
        import boto3

        return boto3.client(service, endpoint_url=self.direct, region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def top_level_resources(self, env: str) -> int:
        """What the tagging API lists for the environment (the Environment tag), in each region."""
        arns = set()
        for region in ("us-east-1", "eu-west-1", "us-west-2"):
            paginator = self.client("resourcegroupstaggingapi", region).get_paginator("get_resources")
            for page in paginator.paginate(TagFilters=[{"Key": "Environment", "Values": [env]}]):
                arns |= {r["ResourceARN"] for r in page["ResourceTagMappingList"]}
        return len(arns)


class Watch(threading.Thread):
    """When the distribution is deployed and the Aurora instances are available, from moto itself."""

    def __init__(self, emulator: Emulator, prefix: str):
        super().__init__(daemon=True)
        self.emulator, self.prefix = emulator, prefix
        self.start_time = time.monotonic()
        self.seen: dict = {}
        self.done = threading.Event()
        self.both = threading.Event()  # the distribution deployed and the instances available

    def run(self) -> None:
        cf, rds = self.emulator.client("cloudfront"), self.emulator.client("rds")
        while not self.done.is_set():
            now = round(time.monotonic() - self.start_time, 1)
            try:
                items = cf.list_distributions()["DistributionList"].get("Items") or []
                if any(d["Comment"] == self.prefix and d["Status"] == "Deployed" for d in items):
                    self.seen.setdefault("distribution deployed", now)
                ours = [i for i in rds.describe_db_instances()["DBInstances"]
                        if i.get("DBClusterIdentifier", "").startswith(self.prefix)]
                if ours and all(i["DBInstanceStatus"] == "available" for i in ours):
                    self.seen.setdefault("instances available", now)
                if len(self.seen) == 2:
                    self.both.set()
            except Exception:  # noqa: BLE001 - a busy emulator: read again next time
                pass
            self.done.wait(0.5)


def run(emulator: Emulator, playbook: str, inventory: str, *extra: str, strategy: str | None = None,
        timeline: Path | None = None) -> dict:
    cmd = [str(BIN / "ansible-playbook"), f"playbooks/{playbook}.yml", "-i", f"inventories/{inventory}",
           "-e", f"aws_endpoint_url={emulator.endpoint}", *extra]
    if inventory != "local":
        # the emulator's account (staging and production are pinned to one), the approval of
        # security-broadening changes (a first deploy is all of them), alarms on
        cmd += ["-e", f"aws_account_id={ACCOUNT}", "-e", "approve=broadening", "-e", "alarm_email=ops@example.com"]
        if playbook == "teardown":
            cmd += ["-e", f"confirm_teardown=stream-sales-{inventory}", "-e", "purge_data=true",
                    "-e", "disable_deletion_protection=true"]
    env = dict(emulator.env)
    if strategy:
        env["ANSIBLE_STRATEGY"] = strategy
    if strategy == "mitogen_linear":
        env["ANSIBLE_STRATEGY_PLUGINS"] = str(next(BIN.parent.glob("lib/python3*/site-packages/ansible_mitogen/plugins/strategy")))
    if timeline is not None:
        timeline.unlink(missing_ok=True)
        enabled = "stream_sales.platform.plan,stream_sales.platform.controller_pid,bench_timeline"
        env.update(ANSIBLE_CALLBACK_PLUGINS=str(ROOT / "scripts" / "bench_callback"), ANSIBLE_CALLBACKS_ENABLED=enabled,
                   BENCH_TIMELINE=str(timeline),
                   BENCH_COUNTERS_URL=f"{emulator.endpoint}/_stream_sales/faults" if emulator.counted else "")
    emulator.reset_counters()
    before = emulator.counters()
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=emulator.tree, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed (in {emulator.tree}):\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    recap = dict(re.findall(r"(\w+)=(\d+)", (re.findall(r"^\S+\s+: (ok=.*)$", proc.stdout, re.M) or [""])[-1]))
    after = emulator.counters()
    result = {"seconds": round(seconds, 1), "changed": int(recap.get("changed", -1)),
              "tasks": sum(int(recap.get(k, 0)) for k in ("ok", "skipped", "failed"))}
    if timeline is not None and timeline.exists():
        result["tasks"] = len(timeline.read_text().splitlines())
    if after:
        result.update(calls=after["calls"] - before["calls"], repeats=after["repeats"] - before["repeats"])
    return result


def baseline_tree(rev: str, where: Path) -> Path:
    """A worktree of REV beside this one, sharing its venv and the example build."""
    tree = where / f"baseline-{rev}"
    subprocess.run(["git", "worktree", "add", "--detach", "--force", str(tree), rev], cwd=ROOT, check=True,
                   capture_output=True)
    (tree / ".venv").unlink(missing_ok=True)
    (tree / ".venv").symlink_to(ROOT / ".venv")
    build = ROOT / "example-app" / ".open-next"
    if build.exists() and not (tree / "example-app" / ".open-next").exists():
        (tree / "example-app" / ".open-next").symlink_to(build)
    return tree


def lowest(runs: list[dict]) -> dict:
    best = min(runs, key=lambda r: r["seconds"])
    return dict(best, runs=[r["seconds"] for r in runs])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", default="production")
    parser.add_argument("--runs", type=int, default=2, help="no-change reruns of each way to run them")
    parser.add_argument("--clock", default="1/60", help="AWS clock factor of the fresh deploy and the teardown")
    parser.add_argument("--latency", default="50ms", help="per-call latency of the fresh deploy")
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare the no-change rerun with, or none")
    parser.add_argument("--out", default="", help="folder for the report (JSON) and the task timelines")
    parser.add_argument("--watch-after", default="120", help="seconds to watch for the distribution and the instances after the deploy")
    opts = parser.parse_args()
    inv = opts.inventory
    prefix = f"stream-sales-{inv}"
    work = Path(tempfile.mkdtemp(prefix="stream-sales-bench-"))
    work.chmod(0o755)  # PostgreSQL runs as its own user: it must reach the state folders
    out = Path(opts.out) if opts.out else work / "report"
    out.mkdir(parents=True, exist_ok=True)
    emulators: list[Emulator] = []
    report: dict = {"inventory": inv, "clock": opts.clock, "latency": opts.latency}
    try:
        here = Emulator(ROOT, work / "state")
        emulators.append(here)
        base = None
        if opts.baseline != "none":
            base = Emulator(baseline_tree(opts.baseline, work), work / "baseline-state")
            emulators.append(base)

        # 1. the deploy's floor (clock off), then a fresh deploy on the scaled clock with latency
        here.hostile(None)
        report["fresh deploy, clock off"] = run(here, "deploy", inv, timeline=out / "fresh-clock-off.jsonl")
        here.reset()
        here.hostile(opts.clock, opts.latency)
        watch = Watch(here, prefix)
        watch.start()
        fresh = run(here, "deploy", inv, timeline=out / "fresh-clock.jsonl")
        # The deploy does not wait for the instances (nor the distribution): watch on until both are
        # up, so that the report says when, after the deploy.
        watch.done.wait(0) or watch.both.wait(float(opts.watch_after))
        watch.done.set()
        watch.join()
        path = critical_path(resources(inv), _factor(opts.clock), float(opts.latency.rstrip("ms")) / 1000)
        fresh.update(watch.seen, critical_path=path["seconds"], critical_path_nodes=path["path"],
                     critical_site_live=path["site_live"], critical_instances_ready=path["instances_ready"])
        report["fresh deploy, clock and latency"] = fresh

        # 2. no-change reruns, clock off, interleaved
        here.hostile(None)
        if base:
            run(base, "deploy", inv)
        ways = {"plain command (ansible.cfg)": (here, None), "linear strategy": (here, "linear")}
        if base:
            # its fastest way: the Makefile's mitogen strategy (its ansible.cfg ran plain linear)
            ways[f"baseline {opts.baseline} (mitogen, as its Makefile)"] = (base, "mitogen_linear")
        times: dict = {name: [] for name in ways}
        for i in range(opts.runs):
            for name, (emu, strategy) in ways.items():
                slug = re.sub(r"\W+", "-", name).strip("-")
                times[name].append(run(emu, "deploy", inv, strategy=strategy, timeline=out / f"rerun-{slug}-{i + 1}.jsonl"))
        resources_here = here.top_level_resources(inv)
        for name, runs in times.items():
            r = lowest(runs)
            if "calls" in r:
                r["top_level_resources"] = resources_here
                r["calls_per_resource"] = round(r["calls"] / max(resources_here, 1), 2)
            report[f"no-change rerun, {name}"] = r

        (out / "bench.json").write_text(json.dumps(report, indent=2))  # kept if the teardown fails

        # 3. teardown on the clock
        here.hostile(opts.clock)
        report["teardown, clock"] = run(here, "teardown", inv, timeline=out / "teardown-clock.jsonl")
    finally:
        for emu in emulators:
            emu.stop()
        if opts.baseline != "none":
            subprocess.run(["git", "worktree", "remove", "--force", str(work / f"baseline-{opts.baseline}")], cwd=ROOT,
                           capture_output=True, check=False)
    (out / "bench.json").write_text(json.dumps(report, indent=2))
    print_report(report, opts)
    print(f"\nreport and task timelines: {out}")
    if not opts.out:
        shutil.rmtree(work / "state", ignore_errors=True)
    return 0


def print_report(report: dict, opts) -> None:
    print(f"inventory {report['inventory']}; clock {report['clock']}, latency {report['latency']} on the fresh deploy")
    print(f"{'':48} {'seconds':>8} {'tasks':>6} {'changed':>8} {'calls':>6} {'repeats':>8} {'calls/res':>9}")
    for name, r in report.items():
        if not isinstance(r, dict):
            continue
        print(f"{name:48} {r['seconds']:>8} {r['tasks']:>6} {r['changed']:>8} {r.get('calls', '-'):>6} "
              f"{r.get('repeats', '-'):>8} {r.get('calls_per_resource', '-'):>9}")
    fresh = report["fresh deploy, clock and latency"]
    floor = report["fresh deploy, clock off"]["seconds"]
    print(f"\nfresh deploy: {fresh['seconds']} s; critical path {fresh['critical_path']} s "
          f"({' -> '.join(fresh['critical_path_nodes'])}); Ansible's own floor (clock off) {floor} s")
    print(f"  waiting beyond the floor {round(fresh['seconds'] - floor, 1)} s = "
          f"{round((fresh['seconds'] - floor) / max(fresh['critical_path'], 0.1), 2)} x the critical path")
    print(f"  the deploy ended at {fresh['seconds']} s; distribution deployed at {fresh.get('distribution deployed', '?')} s "
          f"(critical path {fresh['critical_site_live']} s), Aurora instances available at "
          f"{fresh.get('instances available', '?')} s (critical path {fresh['critical_instances_ready']} s)")
    site, instances = fresh.get("distribution deployed"), fresh.get("instances available")
    print(f"  the site live before the Aurora instances: {'yes' if site is not None and (instances is None or site < instances) else 'no'}")
    plain = report["no-change rerun, plain command (ansible.cfg)"]
    linear = report["no-change rerun, linear strategy"]
    print(f"no-change rerun: plain command {plain['seconds']} s (runs {plain['runs']}), linear {linear['seconds']} s "
          f"(runs {linear['runs']}): plain / fastest = {round(plain['seconds'] / min(plain['seconds'], linear['seconds']), 2)}")
    for name, r in report.items():
        if name.startswith("no-change rerun, baseline"):
            print(f"  against the {name[17:]}: {r['seconds']} s (runs {r['runs']}): "
                  f"{round(plain['seconds'] / r['seconds'], 2)} x")


if __name__ == "__main__":
    sys.exit(main())
