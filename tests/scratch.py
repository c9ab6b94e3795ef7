"""Scratch databases and throwaway roles on a real PostgreSQL: what the test fixtures and the benchmarks
(`bench/common.py`) share.

The server: the first of the given environment variables that is set ($WIREWATCH_TEST_ADMIN_DSN for the tests),
else the local one at 127.0.0.1:5432 (database `test`), else the embedded server wirewatch starts for users.
Roles are cluster-wide, so their names carry a random tag; databases and roles are dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ingest.warehouse import migrate

LOCAL_ADMIN_DSN = "host=127.0.0.1 port=5432 dbname=test connect_timeout=3"


def admin_dsn(*env: str) -> str:
    """A DSN that may create databases and roles (see the module's docstring)."""
    for name in env or ("WIREWATCH_TEST_ADMIN_DSN",):
        if os.environ.get(name):
            return os.environ[name]
    try:
        with psycopg.connect(LOCAL_ADMIN_DSN):
            return LOCAL_ADMIN_DSN
    except psycopg.OperationalError:
        from ingest.warehouse.embedded import ensure_embedded

        return ensure_embedded()


def dsn_with(dsn: str, **params: str | None) -> str:
    """`dsn` with some connection parameters replaced (`dbname=...`, `user=...`); None removes one."""
    parts = conninfo_to_dict(dsn)
    for key, value in params.items():
        if value is None:
            parts.pop(key, None)
        else:
            parts[key] = value
    return make_conninfo(**parts)


def login_dsn(dsn: str, user: str, password: str | None = None) -> str:
    """`dsn` as login role `user`: with `password`, else none (the server trusts the host, or ~/.pgpass)."""
    return dsn_with(dsn, user=user, password=password)


@contextmanager
def scratch_db(admin: str, prefix: str, *, migrated: bool = True, keep: bool = False) -> Iterator[str]:
    """A database of its own (`prefix` and a random tag), with every migration applied unless `migrated` is
    false; its DSN, and the database dropped afterwards (its open connections ended first) unless `keep`."""
    name = f"{prefix}_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = dsn_with(admin, dbname=name)
    try:
        if migrated:
            with psycopg.connect(dsn) as conn:
                migrate.upgrade(conn)
        yield dsn
    finally:
        if keep:
            print(f"  kept database {name}: {dsn}")
        else:
            drop_db(admin, name)


def drop_db(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@contextmanager
def analyst_roles(dsn: str, prefix: str) -> Iterator[tuple[str, str]]:
    """Names for an analyst group role and a login role (`{prefix}_analyst_<tag>`, `{prefix}_user_<tag>`), unique
    to this use; whichever of them exists afterwards is dropped with what it owns in `dsn`'s database."""
    tag = secrets.token_hex(4)
    group, user = f"{prefix}_analyst_{tag}", f"{prefix}_user_{tag}"
    try:
        yield group, user
    finally:
        drop_roles(dsn, user, group)


def drop_roles(dsn: str, *roles: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for role in roles:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
