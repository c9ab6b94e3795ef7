"""A throw-away PostgreSQL cluster a test owns, so it can restart it (or kill it) mid-load.

Uses the system's initdb/pg_ctl (`ingest.warehouse.embedded.find_bindir`); as root they run as the `postgres` OS
user through runuser, as embedded.py does, because PostgreSQL refuses to run as root. The cluster lives in a
temporary directory, listens on 127.0.0.1 on a free port only, trusts local connections, and is removed by
`destroy()`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

from ingest.warehouse.embedded import find_bindir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnServer:
    def __init__(self) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError("no initdb/pg_ctl on this machine")
        self.bindir = bindir
        self.run_as = "postgres" if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="ww-own-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        if self.run_as:
            shutil.chown(self.root, self.run_as)
        self._pg(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
            "--no-sync",
        )  # fmt: skip
        with (self.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.data}'\n"
                "fsync = off\nmax_connections = 30\n"
            )
        self.start()

    def _pg(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / tool), *args]
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"{tool} failed ({out.returncode}): {out.stderr.strip()[-800:]}")
        return out

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname} connect_timeout=5"

    def start(self) -> None:
        self._pg(
            "pg_ctl", "-D", str(self.data), "-l", str(self.data / "server.log"), "-w", "-t", "60", "start"
        )

    def restart(self, mode: str = "fast") -> None:
        """Stop (terminating every session, as a failover or `systemctl restart` does) and start again."""
        # Not `pg_ctl restart`: without -l the new postmaster would inherit (and hold open) our output pipes.
        self.stop(mode)
        self.start()

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def create_db(self, name: str) -> str:
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
