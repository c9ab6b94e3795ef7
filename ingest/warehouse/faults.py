"""Database faults named for what they are, by SQLSTATE.

psycopg raises `OperationalError` for a lost connection, but also for deadlocks, a full disk, timeouts, out of
memory and too many connections. Only the first is worth a new connection; a deadlock or serialization failure is
worth running the transaction again; the rest need an operator, so the run fails and says what to do.
"""

from __future__ import annotations

import psycopg

CONNECTION = "connection"  # the server went away or refused to talk: reconnect and run again
CONFLICT = "conflict"  # deadlock or serialization failure: run the transaction again (with jitter)
RESOURCE = "resource"  # a server limit: fail the run, name the cause and the next step
OTHER = "other"

# Connection-level SQLSTATEs outside class 08: the server shut down, crashed, or is starting up.
_CONNECTION_STATES = {"57P01", "57P02", "57P03", "57P05"}
_CONFLICT_STATES = {"40P01", "40001"}

# SQLSTATE -> (cause, next step). Classes 53 and 54 without an entry get the class's own wording.
_RESOURCE: dict[str, tuple[str, str]] = {
    "53100": ("the database server's disk is full",
              "free space on the server's data or temp tablespace, then run the same command again"),
    "53200": ("the database server ran out of memory",
              "lower the batch size (--batch-size) or raise the server's memory, then run again"),
    "53300": ("the database server has too many connections",
              "close idle sessions or raise max_connections (or the role's CONNECTION LIMIT), then run again"),
    "53400": ("a database configuration limit was exceeded", "check the server log for the limit, then run again"),
    "57014": ("a statement ran past its statement_timeout (or was cancelled)",
              "raise statement_timeout for the pipeline's role or find what slows the server, then run again"),
    "55P03": ("a lock wait ran past its lock_timeout: another session holds a lock wirewatch needs",
              "find the session holding it (pg_locks, pg_stat_activity), end it, then run again"),
    "55006": ("an object wirewatch needs is in use by another session",
              "end the other session, then run again"),
}  # fmt: skip


class DatabaseFault(Exception):
    """A database fault that retrying will not fix: its message names the cause and the next step."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


# A refusal at connect time carries no SQLSTATE in psycopg (there is no result yet): known by the server's words.
_CONNECT_REFUSALS = (
    ("too many clients", "53300"), ("remaining connection slots are reserved", "53300"),
    ("too many connections for role", "53300"), ("too many connections for database", "53300"),
    ("no space left on device", "53100"), ("out of memory", "53200"),
)  # fmt: skip


def sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None) or getattr(getattr(exc, "diag", None), "sqlstate", None)
    if state is None and isinstance(exc, psycopg.OperationalError):
        text = str(exc).lower()
        for words, refused in _CONNECT_REFUSALS:
            if words in text:
                return refused
    return state


def classify(exc: BaseException) -> str:
    """What kind of fault `exc` is: CONNECTION, CONFLICT, RESOURCE or OTHER."""
    if isinstance(exc, DatabaseFault):
        return RESOURCE
    if not isinstance(exc, psycopg.Error):
        return OTHER
    state = sqlstate(exc)
    if state is None:
        # Raised by the client library, not the server: the connection broke (or never opened).
        return CONNECTION if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) else OTHER
    if state.startswith("08") or state in _CONNECTION_STATES:
        return CONNECTION
    if state in _CONFLICT_STATES:
        return CONFLICT
    if state in _RESOURCE or state[:2] in ("53", "54"):
        return RESOURCE
    return OTHER


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe(exc: BaseException) -> str:
    """One line for a person and for `ingest_runs.error`: the cause, the next step, the server's words."""
    if isinstance(exc, DatabaseFault):
        return str(exc)
    kind = classify(exc)
    state = sqlstate(exc)
    detail = _first_line(exc)
    if kind == CONNECTION:
        return f"database connection lost: {detail}"
    if kind == CONFLICT:
        what = "deadlock" if state == "40P01" else "serialization failure"
        return (
            f"database {what} (SQLSTATE {state}) persisted after retries: another writer keeps touching the same "
            f"rows; run the command again when the other writer has finished: {detail}"
        )
    if state in _RESOURCE:
        cause, step = _RESOURCE[state]
    elif state and state.startswith("53"):
        cause, step = "the database server ran out of a resource", "check the server log, then run again"
    elif state and state.startswith("54"):
        cause, step = (
            "a database program limit was exceeded",
            "check the server log and the input, then run again",
        )
    else:
        cause, step = "the database refused the work", "check the server log, then run again"
    return f"{cause} (SQLSTATE {state}); {step}: {detail}"
