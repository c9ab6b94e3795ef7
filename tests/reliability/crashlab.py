"""Deterministic kill points without a production hook: pause triggers installed in a test's own database.

`install(conn)` adds a `crashlab` schema and triggers that call `pg_sleep` inside the server at the k-th firing
of a chosen point, while the writing process waits for the statement (or COMMIT) to return. The test sees the
backend sleeping (`pg_stat_activity.wait_event = 'PgSleep'`, with the statement text), SIGKILLs the process,
and so kills it at exactly that point:

- `posts_ins`, `raw_ins`: BEFORE INSERT row triggers on posts / raw_records. They fire per row inside `COPY ...
  FROM STDIN` (the loader's fast path for new posts), so a pause there is mid-COPY: part of the rows are in the
  table inside the open transaction, the rest still on the client;
- `posts_upd`, `versions_ins`, `metrics_ins`: row triggers inside the staged upsert's statements;
- `runs_upd`, `cursor_upd`: the run counters and the cursor, written after the upsert and before COMMIT;
- `commit`: a DEFERRABLE INITIALLY DEFERRED constraint trigger on ingest_runs, which runs during COMMIT itself.
  The server finishes that commit after the client is gone: the "did my commit happen?" case.

Firings are counted by sequences (not rolled back with the transaction), one per point, only while the point is
armed (`arm(conn, point, at_hit)`; `at_hit=-1` counts without pausing). The triggers read a control table,
which costs one lookup per row: never install them in a database other tests share.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg

POINTS = (
    "posts_ins",
    "posts_upd",
    "raw_ins",
    "versions_ins",
    "metrics_ins",
    "runs_upd",
    "cursor_upd",
    "commit",
)

_TRIGGERS = {
    "posts_ins": "BEFORE INSERT ON posts FOR EACH ROW",
    "posts_upd": "BEFORE UPDATE ON posts FOR EACH ROW",
    "raw_ins": "BEFORE INSERT ON raw_records FOR EACH ROW",
    "versions_ins": "BEFORE INSERT ON post_versions FOR EACH ROW",
    "metrics_ins": "BEFORE INSERT ON post_metrics FOR EACH ROW",
    "runs_upd": "BEFORE UPDATE ON ingest_runs FOR EACH ROW",
    "cursor_upd": "BEFORE INSERT OR UPDATE ON cursors FOR EACH ROW",
}

_LAB = """
CREATE SCHEMA IF NOT EXISTS crashlab;
CREATE TABLE IF NOT EXISTS crashlab.ctl (point text PRIMARY KEY, at_hit bigint NOT NULL, seconds float8 NOT NULL);
CREATE OR REPLACE FUNCTION crashlab.pause() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE target bigint; secs float8;
BEGIN
    SELECT at_hit, seconds INTO target, secs FROM crashlab.ctl WHERE point = TG_ARGV[0];
    IF FOUND AND nextval(('crashlab.hits_' || TG_ARGV[0])::regclass) = target THEN
        PERFORM pg_sleep(secs);
    END IF;
    IF TG_WHEN = 'BEFORE' THEN RETURN NEW; END IF;
    RETURN NULL;
END $$;
"""


def install(conn: psycopg.Connection) -> None:
    conn.execute(_LAB)
    for point in POINTS:
        conn.execute(f"CREATE SEQUENCE IF NOT EXISTS crashlab.hits_{point}")
    for point, when in _TRIGGERS.items():
        table = when.split(" ON ")[1].split()[0]
        conn.execute(f"DROP TRIGGER IF EXISTS crashlab_{point} ON {table}")
        conn.execute(f"CREATE TRIGGER crashlab_{point} {when} EXECUTE FUNCTION crashlab.pause('{point}')")
    conn.execute("DROP TRIGGER IF EXISTS crashlab_commit ON ingest_runs")
    conn.execute(
        "CREATE CONSTRAINT TRIGGER crashlab_commit AFTER INSERT OR UPDATE ON ingest_runs "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crashlab.pause('commit')"
    )
    conn.commit()


def arm(conn: psycopg.Connection, point: str, at_hit: int, seconds: float = 1.5) -> None:
    """Pause the `at_hit`-th firing of `point` (1-based) for `seconds`; -1 only counts."""
    disarm(conn)
    conn.execute(
        "INSERT INTO crashlab.ctl (point, at_hit, seconds) VALUES (%s, %s, %s)", (point, at_hit, seconds)
    )
    conn.commit()


def count_all(conn: psycopg.Connection) -> None:
    """Count every point's firings without pausing."""
    disarm(conn)
    for point in POINTS:
        conn.execute("INSERT INTO crashlab.ctl (point, at_hit, seconds) VALUES (%s, -1, 0)", (point,))
    conn.commit()


def disarm(conn: psycopg.Connection) -> None:
    conn.execute("DELETE FROM crashlab.ctl")
    for point in POINTS:
        conn.execute(f"ALTER SEQUENCE crashlab.hits_{point} RESTART")
    conn.commit()


def hits(conn: psycopg.Connection) -> dict[str, int]:
    """Firings counted since the last arm/disarm."""
    out = {}
    for point in POINTS:
        called, value = conn.execute(f"SELECT is_called, last_value FROM crashlab.hits_{point}").fetchone()
        out[point] = value if called else 0
    conn.commit()
    return out


@dataclass
class Paused:
    pid: int
    query: str


def wait_for_pause(conn: psycopg.Connection, proc, timeout: float = 90.0) -> Paused | None:
    """The backend of another session sleeping in a pause trigger, or None if `proc` ended first."""
    # pg_stat_activity copies each backend's statement text once per transaction but reads wait_event live,
    # so one read can pair a sleep that began a moment ago with the statement before it (seen in CI: a pause
    # in `UPDATE ingest_runs` reported as `RELEASE SAVEPOINT`). A second read, in a fresh transaction, that
    # still finds the same backend asleep took its copy during the sleep (one pause per arm), so its text is
    # the paused statement's.
    deadline = time.monotonic() + timeout
    seen: int | None = None
    while time.monotonic() < deadline:
        row = conn.execute(
            """SELECT pid, query FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event = 'PgSleep'"""
        ).fetchone()
        conn.commit()
        if row and row[0] == seen:
            return Paused(row[0], row[1] or "")
        if row:
            seen = row[0]
            continue
        seen = None
        if proc is not None and proc.poll() is not None:
            return None
        time.sleep(0.01)
    raise TimeoutError("the process never reached the pause point")


def wait_backend_gone(conn: psycopg.Connection, pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        gone = conn.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)", (pid,)
        ).fetchone()[0]
        conn.commit()
        if gone:
            return
        time.sleep(0.02)
    raise TimeoutError(f"backend {pid} still alive {timeout}s after its client was killed")
