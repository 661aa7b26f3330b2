"""The embedded emulator: moto's server and a real PostgreSQL server on loopback.

    emulator.py start    start what is not running yet (idempotent), print its state
    emulator.py stop     stop exactly what `start` started, nothing else
    emulator.py status   exit 0 when both are up
    emulator.py env      shell exports for the running emulator
    emulator.py reset    wipe moto's state (the database server keeps running)

State lives in a git-ignored folder (default `.state/` at the repo root, or
$STREAM_SALES_STATE_DIR): `emulator.json` records ports and the pids we own.
PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
Lambda functions run with the machine's Node.js; what Lambda's runtime ships beside a function
(the AWS SDK for JavaScript v3) is installed once into scripts/lambda_runtime/node_modules.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("STREAM_SALES_STATE_DIR", ROOT / ".state")).resolve()
STATE_FILE = STATE / "emulator.json"
PG_DIR = STATE / "postgres"
PG_ADMIN = "postgres"
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
    candidates = [os.environ.get("PG_BINDIR", "")]
    candidates += sorted((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")), reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        candidates.append(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip())
    try:
        import pgserver  # type: ignore  # optional fallback wheel

        candidates.append(str(Path(pgserver.__file__).parent / "pginstall" / "bin"))
    except ImportError:
        pass
    for cand in candidates:
        if cand and (Path(cand) / "initdb").exists() and (Path(cand) / "postgres").exists():
            return Path(cand)
    raise SystemExit("emulator: no PostgreSQL server binaries found; run scripts/ensure-postgres")


def _as_pg_user() -> list[str]:
    """Prefix that runs a command as an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def _chown_pg(path: Path) -> None:
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for p in [path, *path.rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid)


def start_moto(state: dict) -> None:
    if _alive(state.get("moto_pid")):
        return
    port = _free_port()
    log = open(STATE / "moto.log", "ab")
    # moto's server with the fixes of scripts/moto_server.py (where moto judges unlike AWS).
    # The fixes (scripts/emulator_fixes) learn the database server and state folder from here.
    env = dict(os.environ, STREAM_SALES_PG_ADMIN_URL=state.get("pg_admin_url", ""), STREAM_SALES_STATE_DIR=str(STATE))
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "moto_server.py"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    state.update(moto_pid=proc.pid, moto_port=port, aws_endpoint_url=url)
    _save(state)
    _wait_http(url + "/moto-api/data.json")


def start_postgres(state: dict) -> None:
    if _alive(state.get("pg_pid")):
        return
    bindir = pg_bindir()
    if os.geteuid() == 0:
        # The server runs as `postgres`, which must be able to reach its data folder: open our
        # own state folder for traversal, and say so if a parent folder is closed to it.
        os.chmod(STATE, os.stat(STATE).st_mode | 0o001)
        closed = [str(p) for p in STATE.parents if not os.stat(p).st_mode & 0o001]
        if closed:
            raise SystemExit(f"emulator: the postgres user cannot reach {STATE} through {closed[0]}; "
                             "choose a STREAM_SALES_STATE_DIR it can traverse")
    data = PG_DIR / "data"
    if not (data / "PG_VERSION").exists():
        PG_DIR.mkdir(parents=True, exist_ok=True)
        _chown_pg(PG_DIR)
        subprocess.run(
            [*_as_pg_user(), str(bindir / "initdb"), "-D", str(data), "-U", PG_ADMIN,
             "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--no-locale"],
            check=True, stdout=subprocess.DEVNULL,
        )
        # The administrative role stands in for the account's own access to the engine:
        # trusted on loopback. Every other role (the cluster's master user) needs its password.
        hba = data / "pg_hba.conf"
        hba.write_text(
            "local all all trust\n"
            f"host all {PG_ADMIN} 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )
        _chown_pg(PG_DIR)
    port = _free_port()
    log = PG_DIR / "postgres.log"
    proc = subprocess.Popen(
        [*_as_pg_user(), str(bindir / "postgres"), "-D", str(data), "-p", str(port),
         "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={PG_DIR}",
         "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
         "-c", "max_connections=200"],
        stdout=open(log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    state.update(pg_pid=proc.pid, pg_port=port, pg_host="127.0.0.1", pg_admin_user=PG_ADMIN,
                 pg_admin_url=f"postgresql://{PG_ADMIN}@127.0.0.1:{port}/postgres",
                 pg_bindir=str(bindir))
    _save(state)
    deadline = time.monotonic() + 30
    while subprocess.run([str(bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)], check=False).returncode:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"emulator: PostgreSQL did not start; see {log}")
        time.sleep(0.2)


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


def start() -> dict:
    STATE.mkdir(parents=True, exist_ok=True)
    ensure_lambda_runtime()
    state = _load()
    # PostgreSQL first: moto's RDS maps clusters onto it.
    start_postgres(state)
    start_moto(state)
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
    _kill(state.get("pg_pid"))
    STATE_FILE.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "status"
    if cmd == "start":
        print(json.dumps(start(), indent=2, sort_keys=True))
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
        print(f"export STREAM_SALES_PG_ADMIN_URL={state['pg_admin_url']}")
    elif cmd == "reset":
        url = _load()["aws_endpoint_url"] + "/moto-api/reset"
        urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10).read()
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
