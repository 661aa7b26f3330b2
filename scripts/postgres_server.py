"""PostgreSQL servers of the embedded emulator: initdb, TLS, start, stop.

Used by scripts/emulator.py (the shared server of `pg_admin_url`) and by the RDS fix
(scripts/emulator_fixes/rds.py: one server per DB cluster, as each Aurora cluster is an engine
of its own). Every server:
- listens on 127.0.0.1 only, with no Unix socket (paths under a state folder can exceed the
  socket path limit);
- serves TLS with the emulator's self-signed certificate (STATE/tls/server.crt, CN localhost,
  SAN 127.0.0.1), so clients' sslmode=require works as against Aurora, and verify-full works
  with sslrootcert=STATE/tls/server.crt;
- trusts its administrative role `postgres` on loopback (the account's own access to the
  engine; Aurora's rdsadmin), and asks every other role for its password (SCRAM).
PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ADMIN = "postgres"
SETTINGS = ("-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off",
            "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "ssl=on")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bindir(major: str | int | None = None) -> Path:
    """Server binaries: for a major version when asked and present ($STREAM_SALES_PG<major>_BIN,
    /usr/lib/postgresql/<major>/bin), else $PG_BINDIR, the system's newest, or the pgserver wheel's."""
    candidates = []
    if major:
        candidates += [os.environ.get(f"STREAM_SALES_PG{major}_BIN", ""), f"/usr/lib/postgresql/{major}/bin"]
    candidates.append(os.environ.get("PG_BINDIR", ""))
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


def major_of(bin_dir: Path) -> str:
    out = subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=True).stdout
    return out.split()[-1].split(".")[0]


def as_pg_user() -> list[str]:
    """Prefix that runs a command as an unprivileged user when we are root."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def chown_pg(path: Path) -> None:
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for p in [path, *path.rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid, follow_symlinks=False)


def open_for_traversal(state: Path) -> None:
    """As root the server runs as `postgres`, which must reach its data folder inside `state`."""
    if os.geteuid() != 0:
        return
    os.chmod(state, os.stat(state).st_mode | 0o001)
    closed = [str(p) for p in state.parents if not os.stat(p).st_mode & 0o001]
    if closed:
        raise SystemExit(f"emulator: the postgres user cannot reach {state} through {closed[0]}; "
                         "choose a STREAM_SALES_STATE_DIR it can traverse")


def tls_files(state: Path) -> tuple[Path, Path]:
    """The emulator's self-signed server certificate and key (made once per state folder)."""
    folder = state / "tls"
    crt, key = folder / "server.crt", folder / "server.key"
    if crt.exists() and key.exists():
        return crt, key
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "stream_sales.platform emulator")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(private, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    tmp_key, tmp_crt = folder / "server.key.tmp", folder / "server.crt.tmp"
    tmp_key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    os.chmod(tmp_key, 0o600)
    tmp_crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tmp_key.replace(key)
    tmp_crt.replace(crt)
    return crt, key


def hba(force_ssl: bool = False) -> str:
    """pg_hba.conf: the administrative role trusted on loopback, every other role by password
    (only over TLS when force_ssl, as Aurora's rds.force_ssl=1 does)."""
    other = "hostssl" if force_ssl else "host"
    return (f"host all {ADMIN} 127.0.0.1/32 trust\n"
            f"{other} all all 127.0.0.1/32 scram-sha-256\n")


def initdb(data: Path, bin_dir: Path, state: Path) -> None:
    """A new data folder with TLS on: initdb, the emulator's certificate, pg_hba.conf."""
    data.parent.mkdir(parents=True, exist_ok=True)
    chown_pg(data.parent)
    subprocess.run(
        [*as_pg_user(), str(bin_dir / "initdb"), "-D", str(data), "-U", ADMIN, "--auth-local=trust",
         "--auth-host=scram-sha-256", "--encoding=UTF8", "--no-locale", "--no-sync", "--wal-segsize=1"],
        check=True, stdout=subprocess.DEVNULL,
    )
    (data / "pg_hba.conf").write_text(hba())
    ensure_tls(data, state)


def ensure_tls(data: Path, state: Path) -> None:
    """The emulator's certificate and key in the data folder (ssl=on needs them; a data folder
    made before the emulator served TLS gets them here)."""
    crt, key = tls_files(state)
    if (data / "server.crt").exists() and (data / "server.crt").read_bytes() == crt.read_bytes():
        return
    shutil.copyfile(crt, data / "server.crt")
    shutil.copyfile(key, data / "server.key")
    os.chmod(data / "server.key", 0o600)
    chown_pg(data)


def copy_data(source: Path, data: Path) -> None:
    """A data folder copied from a stopped one (a template or a snapshot), owners and modes kept."""
    data.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(source), str(data)], check=True)
    (data / "postmaster.pid").unlink(missing_ok=True)


def start(data: Path, port: int, bin_dir: Path, log: Path, extra: tuple[str, ...] = (),
          new_session: bool = True) -> subprocess.Popen:
    """Start the server on 127.0.0.1:port (not waiting; see wait_ready)."""
    return subprocess.Popen(
        [*as_pg_user(), str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), *SETTINGS, *extra],
        stdout=open(log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=new_session,
    )


def wait_ready(bin_dir: Path, port: int, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while subprocess.run([str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)], check=False).returncode:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL did not start on port {port}; see {log}")
        time.sleep(0.1)


def server_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def stop(data: Path, timeout: float = 15) -> None:
    """Fast shutdown of the server of this data folder (its open sessions are ended)."""
    pid = server_pid(data)
    if not pid or not _alive(pid):
        return
    try:
        os.kill(pid, signal.SIGINT)
    except OSError:
        return
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown
            break
        time.sleep(0.05)


def stop_all(folder: Path) -> None:
    """Stop every server whose data folder is directly under `folder`."""
    if folder.is_dir():
        for data in folder.iterdir():
            if data.is_dir():
                stop(data)
