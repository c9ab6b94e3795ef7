"""The embedded default: a private PostgreSQL started (and then reused) when no DSN is configured.

Choice (measured, see README "Embedded PostgreSQL"): the system's `initdb`/`pg_ctl` when installed (1.4 s to a
first start, the same major version operators run), else the `pgserver` wheel, which bundles PostgreSQL 16.
PostgreSQL refuses to run as root: as root wirewatch runs the system binaries as the `postgres` OS user with the
cluster under /var/lib/wirewatch; it never uses pgserver as root, because pgserver would then add an OS user and
open permissions on every parent directory. The server listens on 127.0.0.1 only, with a generated password
kept in a 0600 file of the invoking user.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import psycopg

log = logging.getLogger(__name__)

USER = "wirewatch"
DB = "wirewatch"


@dataclass(frozen=True)
class Embedded:
    state_dir: Path  # per invoking user: holds embedded.json (port, password)
    data_dir: Path  # the cluster
    bindir: Path | None  # system binaries; None means pgserver
    run_as: str | None  # OS user to run the server as (root case)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def find_bindir() -> Path | None:
    """Directory of the system's initdb/pg_ctl, newest major version first."""
    env = os.environ.get("WIREWATCH_PG_BINDIR")
    if env:
        return Path(env)
    pg_config = shutil.which("pg_config")
    candidates: list[Path] = []
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates += [
        Path(p).parent for p in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    ]
    which = shutil.which("initdb")
    if which:
        candidates.append(Path(which).parent)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    return None


def layout() -> Embedded:
    state_dir = Path(os.environ.get("WIREWATCH_HOME") or platformdirs.user_data_dir("wirewatch"))
    bindir = find_bindir()
    if _is_root():
        if bindir is None:
            raise RuntimeError(
                "running as root with no system PostgreSQL (initdb/pg_ctl) installed: PostgreSQL refuses to run "
                "as root. Install Debian's postgresql package, run as a normal user, or set WIREWATCH_DSN."
            )
        # One cluster per state dir, owned by the postgres OS user (root's home is not readable by it).
        tag = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:10]
        return Embedded(state_dir, Path("/var/lib/wirewatch") / tag / "pg", bindir, "postgres")
    return Embedded(state_dir, state_dir / "pg", bindir, None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], run_as: str | None) -> None:
    if run_as:
        cmd = ["runuser", "-u", run_as, "--", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... failed ({out.returncode}): {out.stderr.strip()[-800:]}")


def _dsn(port: int, password: str) -> str:
    return f"host=127.0.0.1 port={port} user={USER} password={password} dbname={DB}"


def _reachable(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def ensure_embedded() -> str:
    """Start the embedded server if it is not running, creating it on first use; return its DSN."""
    emb = layout()
    emb.state_dir.mkdir(parents=True, exist_ok=True)
    state_file = emb.state_dir / "embedded.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    if state.get("kind") == "pgserver" and emb.bindir is None:
        return _pgserver(emb)
    if emb.bindir is None:
        return _pgserver(emb)
    if state.get("dsn") and _reachable(state["dsn"]):
        return state["dsn"]
    if not (emb.data_dir / "PG_VERSION").exists():
        state = _initdb(emb, state_file)
    _start(emb, state)
    if not _reachable(state["dsn"]):
        raise RuntimeError(f"embedded PostgreSQL in {emb.data_dir} started but does not accept connections")
    return state["dsn"]


def _initdb(emb: Embedded, state_file: Path) -> dict:
    password = secrets.token_urlsafe(24)
    port = int(os.environ.get("WIREWATCH_EMBEDDED_PORT") or _free_port())
    emb.data_dir.parent.mkdir(parents=True, exist_ok=True)
    pwfile = emb.data_dir.parent / f".pw-{os.getpid()}"
    pwfile.write_text(password)
    try:
        if emb.run_as:
            shutil.chown(emb.data_dir.parent, emb.run_as)
            shutil.chown(pwfile, emb.run_as)
        os.chmod(pwfile, 0o600)
        _run(
            [
                str(emb.bindir / "initdb"),
                "-D",
                str(emb.data_dir),
                "-U",
                USER,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            emb.run_as,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    conf = emb.data_dir / "postgresql.auto.conf"
    # Only loopback; a private socket directory so nothing lands in /var/run.
    settings = (
        f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{emb.data_dir}'\n"
        "max_connections = 50\nshared_buffers = '256MB'\nsynchronous_commit = on\n"
    )
    _run(["sh", "-c", f"cat >> '{conf}' <<'EOF'\n{settings}EOF"], emb.run_as)
    state = {"kind": "system", "data_dir": str(emb.data_dir), "port": port, "dsn": _dsn(port, password)}
    state_file.write_text(json.dumps(state))
    os.chmod(state_file, 0o600)
    log.info("initialised embedded PostgreSQL in %s (port %s)", emb.data_dir, port)
    _start(emb, state, create_db=True, password=password)
    return state


def _start(emb: Embedded, state: dict, *, create_db: bool = False, password: str | None = None) -> None:
    logfile = emb.data_dir / "server.log"
    status = subprocess.run(
        (["runuser", "-u", emb.run_as, "--"] if emb.run_as else [])
        + [str(emb.bindir / "pg_ctl"), "-D", str(emb.data_dir), "status"],
        capture_output=True,
        check=False,
    )
    if status.returncode != 0:
        _run(
            [
                str(emb.bindir / "pg_ctl"),
                "-D",
                str(emb.data_dir),
                "-l",
                str(logfile),
                "-w",
                "-t",
                "60",
                "start",
            ],
            emb.run_as,
        )
    if create_db:
        admin = state["dsn"].replace(f"dbname={DB}", "dbname=postgres")
        for _ in range(50):
            try:
                with psycopg.connect(admin, autocommit=True) as conn:
                    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone():
                        conn.execute(f"CREATE DATABASE {DB}")
                break
            except psycopg.OperationalError:
                time.sleep(0.1)


def _pgserver(emb: Embedded) -> str:
    try:
        import pgserver
    except ImportError as exc:  # pragma: no cover - depends on the platform's wheels
        raise RuntimeError("no system PostgreSQL and pgserver is not installed; set WIREWATCH_DSN") from exc
    server = pgserver.get_server(str(emb.data_dir / "pgserver"), cleanup_mode=None)
    uri = server.get_uri()
    with psycopg.connect(uri, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone():
            conn.execute(f"CREATE DATABASE {DB}")
    state_file = emb.state_dir / "embedded.json"
    dsn = server.get_uri(DB)
    state_file.write_text(json.dumps({"kind": "pgserver", "dsn": dsn}))
    return dsn


def stop() -> None:
    emb = layout()
    if emb.bindir is None:
        return
    if (emb.data_dir / "postmaster.pid").exists():
        _run([str(emb.bindir / "pg_ctl"), "-D", str(emb.data_dir), "-m", "fast", "-w", "stop"], emb.run_as)
