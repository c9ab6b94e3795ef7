"""ingest/warehouse/runs.py: a run that ends in an error is still recorded as failed."""

from __future__ import annotations

import threading
import time

import psycopg

from ingest.warehouse import runs
from ingest.warehouse.db import FINISH_APP, reconnector


def test_a_run_is_marked_failed_even_when_a_stray_cancel_hits_the_update(db, conn):
    """Ctrl-C during a statement makes psycopg ask the server to cancel it; a cancel that the server acts on
    late lands on the next statement, the update that records the run's end. That update is cancelled here for
    real (pg_cancel_backend while it waits for a row lock): the run still ends failed, with its error."""
    run_id = runs.start_run(conn, "import", "telethon-jsonl", "/tmp/x.jsonl")
    conn.commit()
    pid = conn.info.backend_pid
    with psycopg.connect(db) as holder, psycopg.connect(db, autocommit=True) as admin:
        holder.execute("SELECT 1 FROM ingest_runs WHERE run_id = %s FOR UPDATE", (run_id,))
        done = threading.Event()
        worker = threading.Thread(
            target=lambda: (runs.finish_after_error(conn, run_id, "KeyboardInterrupt: "), done.set())
        )
        worker.start()

        def waiting() -> bool:
            row = admin.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
            return row is not None and row[0] == "Lock"

        deadline = time.monotonic() + 10
        while not waiting():
            assert time.monotonic() < deadline, "the update never waited for the lock"
            time.sleep(0.01)
        assert admin.execute("SELECT pg_cancel_backend(%s)", (pid,)).fetchone()[0]
        # The retry waits for the lock in its turn; let it go.
        deadline = time.monotonic() + 10
        while not waiting():
            assert time.monotonic() < deadline, "the cancelled update was not tried again"
            time.sleep(0.01)
        holder.rollback()
        worker.join(10)
        assert done.is_set()
    status, error = conn.execute(
        "SELECT status, error FROM ingest_runs WHERE run_id = %s", (run_id,)
    ).fetchone()
    assert (status, error) == ("failed", "KeyboardInterrupt: ")


def test_a_run_interrupted_mid_copy_is_recorded_failed_on_a_new_connection(db, conn):
    """Ctrl-C while a COPY was being ended leaves the connection in the COPY (its writer thread still sending): it
    takes no other command, so the run's end goes through the connection `reconnect` opens."""
    run_id = runs.start_run(conn, "import", "telethon-jsonl", "/tmp/x.jsonl")
    conn.commit()
    reconnect = reconnector(conn, application_name=FINISH_APP)
    # The state Ctrl-C left: the server is in a COPY that nothing will end, psycopg's own lock released (the
    # interruption left psycopg's copy block). Made with libpq's calls, as psycopg's block would end the COPY.
    conn.pgconn.send_query(b"COPY rejected_records (source, reason) FROM STDIN")
    deadline = time.monotonic() + 10
    while True:
        conn.pgconn.consume_input()
        if not conn.pgconn.is_busy():
            break
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert conn.pgconn.get_result().status == psycopg.pq.ExecStatus.COPY_IN
    assert conn.pgconn.transaction_status == psycopg.pq.TransactionStatus.ACTIVE

    runs.finish_after_error(conn, run_id, "KeyboardInterrupt: ")  # no way round: the run stays open
    with psycopg.connect(db) as other:
        assert other.execute("SELECT status FROM ingest_runs WHERE run_id = %s", (run_id,)).fetchone() == (
            "running",
        )
    runs.finish_after_error(conn, run_id, "KeyboardInterrupt: ", reconnect=reconnect)
    with psycopg.connect(db) as other:
        row = other.execute("SELECT status, error FROM ingest_runs WHERE run_id = %s", (run_id,)).fetchone()
        assert row == ("failed", "KeyboardInterrupt: ")
        assert (
            other.execute(
                "SELECT application_name FROM pg_stat_activity WHERE application_name = 'wirewatch-finish'"
            ).fetchall()
            == []
        )  # the connection it opened is closed again
    conn.close()
