"""An analyst cannot hurt the pipeline (issue 16): the login role carries timeouts, a temp file limit and a
connection limit, cannot create temp tables even in a read-write transaction, and holding one of wirewatch's
advisory locks (grouping, migrations, a channel's write lock) makes `wirewatch group`, `db upgrade` or `import`
give up with a clear message after a bounded wait instead of hanging."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ingest.warehouse import analyst as wa
from ingest.warehouse import migrate
from ingest.warehouse.events import GROUP_LOCK
from ingest.warehouse.locks import channel_lock_key
from tests import scratch
from tests.reliability.streams import generate_stream, write_jsonl


@pytest.fixture
def roles(dsn) -> Iterator[tuple[str, str]]:
    with scratch.analyst_roles(dsn, "ww_test") as names:
        yield names


def test_analyst_login_has_limits_and_no_temp(db, conn, roles):
    group, user = roles
    report = wa.grant_user(
        conn, user, role=group, limits=wa.Limits(statement_timeout="2min", connection_limit=3)
    )
    assert report.problems == []
    limit = conn.execute("SELECT rolconnlimit FROM pg_roles WHERE rolname = %s", (user,)).fetchone()[0]
    settings = conn.execute(
        """SELECT unnest(setconfig) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
           WHERE r.rolname = %s AND s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())""",
        (user,),
    ).fetchall()
    conn.commit()
    assert limit == 3
    assert {r[0] for r in settings} >= {
        "default_transaction_read_only=on", "statement_timeout=2min", "idle_in_transaction_session_timeout=10min",
        "temp_file_limit=1GB",
    }  # fmt: skip
    with psycopg.connect(scratch.login_dsn(db, user)) as a:
        assert a.execute("SHOW statement_timeout").fetchone()[0] == "2min"
        a.rollback()
        a.execute("BEGIN READ WRITE")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute("CREATE TEMP TABLE t (x int)")
        a.rollback()
        a.execute("BEGIN READ WRITE")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute("CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS 'select 1'")
        a.rollback()
    # The pipeline's own role still stages rows in a temp table.
    conn.execute("CREATE TEMP TABLE still_allowed (x int)")
    conn.rollback()


def test_create_role_applies_limits_to_existing_logins(db, conn, roles):
    group, user = roles
    wa.grant_user(conn, user, role=group)
    wa.create_analyst_role(conn, group, limits=wa.Limits(connection_limit=2))
    assert conn.execute("SELECT rolconnlimit FROM pg_roles WHERE rolname = %s", (user,)).fetchone()[0] == 2
    conn.commit()


def test_an_analyst_holding_the_grouping_lock_makes_group_give_up_clearly(db, conn, roles, repo_root):
    group, user = roles
    wa.grant_user(conn, user, role=group)
    env = {**os.environ, "WIREWATCH_LOCK_WAIT_SECONDS": "2"}
    with psycopg.connect(scratch.login_dsn(db, user), autocommit=True) as a:
        a.execute("SELECT pg_advisory_lock(%s)", (GROUP_LOCK,))
        started = time.monotonic()
        out = subprocess.run(
            [str(Path(sys.executable).parent / "wirewatch"), "--dsn", db, "group"],
            cwd=repo_root, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert out.returncode == 5, (out.returncode, out.stderr)
    assert "grouping lock" in out.stderr and "gave up after 2 s" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    assert elapsed < 60


def _capture(tmp_path: Path) -> tuple[Path, int]:
    stream = generate_stream(18, messages=30, epochs=1, channel_id=1_700_000_018)
    path = tmp_path / "capsynth_1700000018.jsonl"
    write_jsonl(stream, 0, path)
    return path, channel_lock_key("telegram", 1_700_000_018)


@pytest.mark.parametrize(
    ("what", "key", "command"),
    [
        ("migration", migrate._LOCK_KEY, ["db", "upgrade"]),
        ("channel write", None, ["import", "--format", "telethon-jsonl"]),
    ],
)
def test_an_analyst_holding_the_other_locks_makes_wirewatch_give_up_clearly(
    db, conn, roles, repo_root, tmp_path, what, key, command
):
    """The migration lock (`wirewatch db upgrade`) and a channel's write lock (`wirewatch import`), held by an
    analyst's session: wirewatch waits at most the bound, then exits 5 naming the lock."""
    group, user = roles
    wa.grant_user(conn, user, role=group)
    conn.commit()
    if key is None:
        path, key = _capture(tmp_path)
        command = [*command, str(path)]
    env = {**os.environ, "WIREWATCH_LOCK_WAIT_SECONDS": "2"}
    with psycopg.connect(scratch.login_dsn(db, user), autocommit=True) as a:
        a.execute("SELECT pg_advisory_lock(%s)", (key,))
        started = time.monotonic()
        out = subprocess.run(
            [str(Path(sys.executable).parent / "wirewatch"), "--dsn", db, *command],
            cwd=repo_root, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert out.returncode == 5, (out.returncode, out.stderr)
    assert f"gave up after 2 s waiting for the {what} lock" in out.stderr, out.stderr
    assert "pg_terminate_backend" in out.stderr and "Traceback" not in out.stderr
    assert elapsed < 60
