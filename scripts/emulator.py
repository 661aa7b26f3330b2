"""The embedded emulator: moto's server and a real PostgreSQL server on loopback.

    emulator.py start [--faults SPEC] [--seed N] [--clock FACTOR]
                         start what is not running yet (idempotent), print its state; the
                         options (or STREAM_SALES_FAULTS, STREAM_SALES_FAULT_SEED,
                         STREAM_SALES_CLOCK) also reconfigure a running emulator
    emulator.py stop     stop exactly what `start` started, nothing else
    emulator.py status   exit 0 when both are up
    emulator.py env      shell exports for the running emulator
    emulator.py reset    wipe moto's state (with its DB clusters' servers; the shared one keeps running)
    emulator.py faults [SPEC|off] [--seed N]   show (or set) the faults and their counters
    emulator.py clock [FACTOR|off]             show (or set) the AWS clock factor

The product talks to `aws_endpoint_url`: the front door (scripts/fault_front.py), which can
throttle, lose answers and add latency like AWS on a busy day, e.g.
`--faults throttle=0.2,lost=0.05,latency=50ms --seed 7`. Tests that must read real state without
faults use `aws_direct_url`, moto itself. `--clock 1/60` makes slow resources pass through their
real states for their typical AWS durations / 60 (scripts/emulator_fixes/clock.py).

State lives in a git-ignored folder (default `.state/` at the repo root, or
$STREAM_SALES_STATE_DIR): `emulator.json` records ports and the pids we own.
PostgreSQL (scripts/postgres_server.py) serves TLS with the emulator's certificate
(`tls/server.crt`); each RDS cluster gets a server of its own under `rds/clusters/`, started
and stopped by moto's server (scripts/emulator_fixes/rds.py).
Lambda functions run with the machine's Node.js; what Lambda's runtime ships beside a function
(the AWS SDK for JavaScript v3) is installed once into scripts/lambda_runtime/node_modules.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import postgres_server  # scripts/postgres_server.py

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("STREAM_SALES_STATE_DIR", ROOT / ".state")).resolve()
STATE_FILE = STATE / "emulator.json"
PG_DIR = STATE / "postgres"
PG_ADMIN = postgres_server.ADMIN
# One PostgreSQL server per RDS cluster (scripts/emulator_fixes/rds.py), owned by moto's server.
RDS_CLUSTERS = STATE / "rds" / "clusters"
LAMBDA_RUNTIME = ROOT / "scripts" / "lambda_runtime"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # A zombie or a recycled pid is not ours: check the command line.
    try:
        return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") < 0
    except OSError:
        return False


def _load() -> dict:
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return {}


def _save(state: dict) -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    tmp = STATE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    tmp.replace(STATE_FILE)


def _wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:  # noqa: BLE001 - any failure means "not up yet"
            if time.monotonic() > deadline:
                raise SystemExit(f"emulator: {url} did not come up in {timeout:.0f}s")
            time.sleep(0.2)


def pg_bindir() -> Path:
    """PostgreSQL server binaries: $PG_BINDIR, the system's, or the pgserver wheel's."""
    return postgres_server.bindir()


def forget_rds_servers() -> None:
    """The cluster servers of a moto that is gone: stopped, and their data removed (moto's state,
    which they belong to, lived in its memory)."""
    postgres_server.stop_all(RDS_CLUSTERS)
    shutil.rmtree(RDS_CLUSTERS.parent, ignore_errors=True)


def start_moto(state: dict, hostile: dict) -> None:
    if _alive(state.get("moto_pid")) and not state.get("front_port"):
        # Started by an emulator.py without the front door: the product and the tests expect it.
        print("emulator: restarting moto to add the front door (its state is lost)", file=sys.stderr)
        _kill(state.get("moto_pid"))
    if _alive(state.get("moto_pid")):
        if hostile:
            configure(state, hostile)
        return
    forget_rds_servers()
    port, front = _free_port(), _free_port()
    log = open(STATE / "moto.log", "ab")
    # moto's server with the fixes of scripts/moto_server.py (where moto judges unlike AWS), and
    # the front door (scripts/fault_front.py) in the same process. The fixes
    # (scripts/emulator_fixes) learn the database server and state folder from here.
    env = dict(os.environ, STREAM_SALES_PG_ADMIN_URL=state.get("pg_admin_url", ""), STREAM_SALES_STATE_DIR=str(STATE),
               STREAM_SALES_FRONT_PORT=str(front), STREAM_SALES_FAULTS=hostile.get("faults") or "",
               STREAM_SALES_FAULT_SEED=str(hostile.get("seed") or 0), STREAM_SALES_CLOCK=hostile.get("clock") or "")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "moto_server.py"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env,
    )
    direct, url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{front}"
    state.update(moto_pid=proc.pid, moto_port=port, front_port=front, aws_endpoint_url=url, aws_direct_url=direct,
                 faults=hostile.get("faults") or "off", fault_seed=int(hostile.get("seed") or 0),
                 clock=hostile.get("clock") or "off")
    _save(state)
    _wait_http(direct + "/moto-api/data.json")
    _wait_http(url + "/_stream_sales/faults")


def _control(state: dict, name: str, payload: dict | None = None) -> dict:
    """GET (or POST payload to) the front door's control endpoint /_stream_sales/<name>."""
    url = f"http://127.0.0.1:{state['front_port']}/_stream_sales/{name}"
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    try:
        return json.loads(urllib.request.urlopen(req, timeout=10).read())
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"emulator: {name}: {json.loads(exc.read()).get('error', exc)}")


def configure(state: dict, hostile: dict) -> None:
    """Apply faults and clock to the running emulator (only what is given)."""
    if "faults" in hostile or "seed" in hostile:
        spec = hostile.get("faults", state.get("faults", ""))
        answer = _control(state, "faults", {"spec": "" if spec == "off" else spec, "seed": int(hostile.get("seed") or 0)})
        state.update(faults=answer["spec"], fault_seed=int(hostile.get("seed") or 0))
    if "clock" in hostile:
        answer = _control(state, "clock", {"factor": hostile["clock"]})
        state.update(clock=hostile["clock"] if answer["factor"] else "off")
    _save(state)


def hostile_options(argv: list[str]) -> dict:
    """--faults/--seed/--clock from the command line, else from the environment; only what is set."""
    import argparse

    parser = argparse.ArgumentParser(prog="emulator.py start")
    parser.add_argument("--faults", help="e.g. throttle=0.2,lost=0.05,latency=50ms (off: none)")
    parser.add_argument("--seed", type=int, help="seed of the fault decisions (default 0)")
    parser.add_argument("--clock", help="AWS clock factor, e.g. 1/60 (off: instant)")
    opts = parser.parse_args(argv)
    found = {}
    for key, env in (("faults", "STREAM_SALES_FAULTS"), ("seed", "STREAM_SALES_FAULT_SEED"), ("clock", "STREAM_SALES_CLOCK")):
        value = getattr(opts, key)
        if value is None:
            value = os.environ.get(env) or None
        if value is not None:
            found[key] = value
    return found


def start_postgres(state: dict) -> None:
    if _alive(state.get("pg_pid")):
        return
    bindir = pg_bindir()
    postgres_server.open_for_traversal(STATE)
    data = PG_DIR / "data"
    if not (data / "PG_VERSION").exists():
        postgres_server.initdb(data, bindir, STATE)
    postgres_server.ensure_tls(data, STATE)
    port = _free_port()
    log = PG_DIR / "postgres.log"
    proc = postgres_server.start(data, port, bindir, log, ("-c", "max_connections=200"))
    state.update(pg_pid=proc.pid, pg_port=port, pg_host="127.0.0.1", pg_admin_user=PG_ADMIN,
                 pg_admin_url=f"postgresql://{PG_ADMIN}@127.0.0.1:{port}/postgres",
                 pg_bindir=str(bindir), pg_ca_file=str(postgres_server.tls_files(STATE)[0]))
    _save(state)
    try:
        postgres_server.wait_ready(bindir, port, proc, log)
    except RuntimeError as exc:
        raise SystemExit(f"emulator: {exc}") from None


def ensure_lambda_runtime() -> None:
    """`npm ci` of scripts/lambda_runtime when its lock file changed since the last install.

    Several emulators may start at once (one per pytest worker): a file lock lets one install.
    """
    if not shutil.which("node") or not shutil.which("npm"):
        raise SystemExit("emulator: Lambda functions run with Node.js; install nodejs and npm (Node 20 or newer)")
    lock = (LAMBDA_RUNTIME / "package-lock.json").read_bytes()
    stamp = LAMBDA_RUNTIME / "node_modules" / ".stream-sales-installed"
    wanted = hashlib.sha256(lock).hexdigest()
    with open(LAMBDA_RUNTIME / ".install.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == wanted:
            return
        done = subprocess.run(["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=LAMBDA_RUNTIME, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"emulator: npm ci in {LAMBDA_RUNTIME} failed:\n{done.stdout}{done.stderr}")
        stamp.write_text(wanted)


def start(hostile: dict | None = None) -> dict:
    STATE.mkdir(parents=True, exist_ok=True)
    ensure_lambda_runtime()
    state = _load()
    # PostgreSQL first: its binaries, certificate and URL are handed to moto's server.
    start_postgres(state)
    start_moto(state, hostile or {})
    return state


def _kill(pid: int | None) -> None:
    if not _alive(pid):
        return
    try:
        os.killpg(pid, signal.SIGTERM)  # our children run in their own session
    except OSError:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)


def stop() -> None:
    state = _load()
    _kill(state.get("moto_pid"))
    postgres_server.stop_all(RDS_CLUSTERS)
    _kill(state.get("pg_pid"))
    STATE_FILE.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "status"
    if cmd == "start":
        print(json.dumps(start(hostile_options(argv[2:])), indent=2, sort_keys=True))
    elif cmd == "stop":
        stop()
    elif cmd == "status":
        state = _load()
        up = _alive(state.get("moto_pid")) and _alive(state.get("pg_pid"))
        print(json.dumps(state, indent=2, sort_keys=True) if up else "emulator: not running")
        return 0 if up else 1
    elif cmd == "env":
        state = _load()
        print(f"export STREAM_SALES_AWS_ENDPOINT={state['aws_endpoint_url']}")
        print(f"export STREAM_SALES_AWS_DIRECT_ENDPOINT={state.get('aws_direct_url', state['aws_endpoint_url'])}")
        print(f"export STREAM_SALES_PG_ADMIN_URL={state['pg_admin_url']}")
    elif cmd == "reset":
        url = _load()["aws_endpoint_url"] + "/moto-api/reset"
        urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10).read()
    elif cmd in ("faults", "clock"):
        state = _load()
        if not state.get("front_port") or not _alive(state.get("moto_pid")):
            print("emulator: not running (or started without the front door)")
            return 1
        args = argv[2:]
        if args:
            value = args[0]
            hostile = {"faults": value} if cmd == "faults" else {"clock": value}
            if cmd == "faults":
                hostile["seed"] = hostile_options(args[1:]).get("seed", 0)
            configure(state, hostile)
        print(json.dumps(_control(state, cmd), indent=2, sort_keys=True))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
