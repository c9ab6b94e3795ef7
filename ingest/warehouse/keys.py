"""The warehouse's secret keys (`warehouse_keys`, migration 024): read by the writers, never by analysts."""

from __future__ import annotations

import secrets

import psycopg

RAW_HASH = "raw_hash"


class MissingKeys(RuntimeError):
    pass


def ensure_keys(conn: psycopg.Connection) -> None:
    """Give the warehouse any key it lacks (a random one): migration 024 writes the first, and `db upgrade`, which
    every command runs, writes one again into a table emptied since. A new key costs only that every stored post's
    next input is normalised once, its old hash no longer matching."""
    if conn.execute("SELECT to_regclass('warehouse_keys') IS NULL").fetchone()[0]:
        return
    # Read first: every command runs this, and a role that may read the key but not write it must still start.
    if conn.execute("SELECT 1 FROM warehouse_keys WHERE name = %s", (RAW_HASH,)).fetchone():
        return
    conn.execute(
        "INSERT INTO warehouse_keys (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
        (RAW_HASH, secrets.randbits(63)),
    )


def read_key(conn: psycopg.Connection, name: str = RAW_HASH) -> int:
    """The key `name`, read in the caller's transaction."""
    try:
        row = conn.execute("SELECT value FROM warehouse_keys WHERE name = %s", (name,)).fetchone()
    except psycopg.errors.UndefinedTable as exc:
        raise MissingKeys("the warehouse has no warehouse_keys table: run `wirewatch db upgrade`") from exc
    if row is None:
        raise MissingKeys(f"the warehouse holds no {name!r} key: run `wirewatch db upgrade`")
    return int(row[0])
