"""Connections to the warehouse: resolve the DSN (flag, environment, or the embedded server) and connect."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

log = logging.getLogger(__name__)

DSN_ENV = "WIREWATCH_DSN"


def resolve_dsn(dsn: str | None = None, *, start_embedded: bool = True, missing: str | None = None) -> str:
    """The DSN to use: an explicit one (the CLI's --dsn, the DAG's Airflow connection), else $WIREWATCH_DSN,
    else the embedded server (started if needed). Without the embedded server, a RuntimeError says what to set
    (`missing`, or the CLI's hint)."""
    if dsn:
        return dsn
    env = os.environ.get(DSN_ENV)
    if env:
        return env
    if not start_embedded:
        raise RuntimeError(missing or f"no database: pass --dsn or set {DSN_ENV}")
    from ingest.warehouse.embedded import ensure_embedded

    return ensure_embedded()


def connect(
    dsn: str, *, autocommit: bool = False, application_name: str = "wirewatch", **kwargs
) -> psycopg.Connection:
    return psycopg.connect(dsn, autocommit=autocommit, application_name=application_name, **kwargs)


#: The application_name of a connection that records the end of a run its own connection could not.
FINISH_APP = "wirewatch-finish"


def sibling(conn: psycopg.Connection, application_name: str = "wirewatch") -> psycopg.Connection:
    """A second connection to where `conn` is connected (server, database, user, its password and options), for a
    helper thread that must not share `conn`'s transaction. Autocommit off, as `connect` makes them;
    `application_name` tells it apart in pg_stat_activity."""
    return reconnector(conn, application_name)()


def reconnector(
    conn: psycopg.Connection, application_name: str = "wirewatch"
) -> Callable[[], psycopg.Connection]:
    """A function that opens a new connection to where `conn` is connected, its parameters read now, while `conn`
    is idle: for when `conn` may later be unusable (a COPY that Ctrl-C left half-way)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(conn.info.dsn)  # libpq leaves the password out of it
    password = conn.pgconn.password
    if password:
        params["password"] = password.decode()
    params.pop("application_name", None)
    conninfo = make_conninfo(**params)
    return lambda: connect(conninfo, application_name=application_name)


@contextmanager
def connection(dsn: str, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    conn = connect(dsn, autocommit=autocommit)
    try:
        yield conn
    finally:
        conn.close()


def redact(dsn: str) -> str:
    """A DSN safe to print: the password replaced."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparseable dsn>"
    if parts.get("password"):
        parts["password"] = "***"
    return make_conninfo(**parts)
