"""Schema migrations: numbered plain SQL files in schemas/, applied in order, each in its own transaction."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ingest.warehouse.keys import ensure_keys
from ingest.warehouse.locks import advisory_lock

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{3,})_[\w-]+\.sql$")
# Any fixed number: serialises concurrent `db upgrade` calls (the Airflow init container and a CLI, say).
_LOCK_KEY = 0x77697265  # "wire"


def schemas_dir() -> Path:
    env = os.environ.get("WIREWATCH_SCHEMAS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "schemas"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(directory: Path | None = None) -> list[Migration]:
    directory = directory or schemas_dir()
    found = []
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if m:
            found.append(Migration(int(m.group(1)), path.stem, path))
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"two migrations share a number in {directory}")
    return found


def upgrade(conn: psycopg.Connection, directory: Path | None = None) -> list[str]:
    """Apply every migration not yet recorded; returns the names applied. Safe to run twice or concurrently."""
    applied: list[str] = []
    was_autocommit = conn.autocommit
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.commit()  # a read the caller made before; migrations need their own transactions
    conn.autocommit = True
    conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    advisory_lock(conn, _LOCK_KEY, "migration", xact=False)  # bounded: any role may take an advisory lock
    try:
        done = {
            v: (name, checksum)
            for v, name, checksum in conn.execute("SELECT version, name, checksum FROM schema_migrations")
        }
        for mig in discover(directory):
            if mig.version in done:
                if done[mig.version][1] != mig.checksum:
                    log.warning("migration %s changed after it was applied; not re-applied", mig.name)
                continue
            conn.autocommit = False
            with conn.transaction():
                conn.execute(mig.sql)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (mig.version, mig.name, mig.checksum),
                )
            conn.commit()
            conn.autocommit = True
            log.info("applied migration %s", mig.name)
            applied.append(mig.name)
        ensure_keys(conn)
    finally:
        conn.autocommit = True
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
        conn.autocommit = was_autocommit
    return applied


def current(conn: psycopg.Connection) -> list[tuple[int, str]]:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return []
    return list(conn.execute("SELECT version, name FROM schema_migrations ORDER BY version"))
