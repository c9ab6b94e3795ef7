"""Analysts on a streaming-replication read replica: two PostgreSQL clusters on this machine, wirewatch writing to
the primary, `wirewatch search` and the analyst views reading from the replica (WIREWATCH_ANALYST_DSN), and
`wirewatch db replication` showing the lag from both ends."""

from __future__ import annotations

import json
import shutil
import time

import psycopg
import pytest
from typer.testing import CliRunner

import ingest.cli.briefs  # noqa: F401 - registers search
import ingest.cli.db  # noqa: F401 - registers db replication
from ingest.cli import app, common
from ingest.events import group_window
from ingest.run.imports import import_files
from ingest.warehouse import migrate
from tests.reliability.ownserver import OwnServer, _free_port

pytestmark = pytest.mark.slow


class Replica(OwnServer):
    """A hot standby of `primary`, cloned with pg_basebackup and streaming from it."""

    def __init__(self, primary: OwnServer) -> None:  # noqa: D107 - no initdb: the data comes from the primary
        import tempfile
        from pathlib import Path

        self.bindir, self.run_as = primary.bindir, primary.run_as
        self.root = Path(tempfile.mkdtemp(prefix="ww-own-pg-replica-"))
        self.data = self.root / "data"
        self.port = _free_port()
        if self.run_as:
            shutil.chown(self.root, self.run_as)
        # -R writes standby.signal and primary_conninfo: the clone starts as a standby streaming from the primary.
        self._pg(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "-D", str(self.data),
            "-R", "-X", "stream", "--no-sync",
        )  # fmt: skip
        with (self.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"port = {self.port}\nunix_socket_directories = '{self.data}'\nhot_standby = on\n")
        self.start()


@pytest.fixture
def servers():
    try:
        primary = OwnServer()
    except RuntimeError as exc:
        pytest.skip(f"cannot run a PostgreSQL cluster of our own here: {exc}")
    replica = None
    try:
        replica = Replica(primary)
        yield primary, replica
    finally:
        if replica is not None:
            replica.destroy()
        primary.destroy()


def _wait_caught_up(primary_dsn: str, replica_dsn: str, timeout: float = 60.0) -> None:
    with psycopg.connect(primary_dsn, autocommit=True) as p:
        target = p.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout
    with psycopg.connect(replica_dsn, autocommit=True) as r:
        while time.monotonic() < deadline:
            done = r.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (str(target),)).fetchone()[0]
            if done:
                return
            time.sleep(0.1)
    raise AssertionError("the replica did not catch up within a minute")


def test_analysts_read_the_replica(servers, repo_root, monkeypatch):
    primary, replica = servers
    primary_dsn = primary.dsn()
    with psycopg.connect(primary_dsn) as conn:
        migrate.upgrade(conn)
        import_files(conn, [repo_root / "seeds" / "demo"])
        conn.commit()
        group_window(conn, None, None)
    replica_dsn = replica.dsn()
    _wait_caught_up(primary_dsn, replica_dsn)
    run = CliRunner()
    monkeypatch.setenv("WIREWATCH_DSN", primary_dsn)
    want = run.invoke(app, ["search", "миллиардов", "--json"])
    assert want.exit_code == 0, want.output

    # The same search through the analysts' DSN reads the replica (read-only, nothing migrated there).
    monkeypatch.setenv("WIREWATCH_ANALYST_DSN", replica_dsn)
    got = run.invoke(app, ["search", "миллиардов", "--json"])
    assert got.exit_code == 0, got.output
    assert json.loads(got.output) == json.loads(want.output) != []
    with psycopg.connect(replica_dsn) as r:
        assert r.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        assert (
            r.execute("SELECT count(*) FROM analyst.events WHERE independent_sources = 5").fetchone()[0] == 1
        )

    # A post written on the primary reaches the replica's search once replayed.
    with psycopg.connect(primary_dsn) as conn:
        conn.execute(
            "UPDATE posts SET text = text || ' zyxwvutsrq' WHERE url = 'https://t.me/intelslava/71840'"
        )
    _wait_caught_up(primary_dsn, replica_dsn)
    hit = run.invoke(app, ["search", "zyxwvutsrq", "--json"])
    assert [h["url"] for h in json.loads(hit.output)] == ["https://t.me/intelslava/71840"]

    # The lag, from both ends: the primary lists its standby, the replica says how far behind it is.
    rep = run.invoke(app, ["db", "replication", "--json"])
    assert rep.exit_code == 0, rep.output
    status = json.loads(rep.output)
    assert status["warehouse"]["standby"] is False
    assert [s["state"] for s in status["warehouse"]["standbys"]] == ["streaming"]
    assert status["analysts"]["standby"] is True
    assert 0 <= status["analysts"]["replay_lag_seconds"] < 60
    text = run.invoke(app, ["db", "replication"])
    assert "analysts: a replica" in text.output and "streaming" in text.output

    # The console on the replica says it reads one, and how far behind it is; on the primary it says nothing.
    from fastapi.testclient import TestClient

    from ingest.console import ConsoleSettings, create_app

    for dsn, on_replica in ((replica_dsn, True), (primary_dsn, False)):
        settings = ConsoleSettings(dsn=dsn, role=None, allowed_hosts=["testserver"])
        with TestClient(create_app(settings)) as client:
            health = client.get("/api/health").json()
            page = client.get("/health").text
        if on_replica:
            assert health["replica"]["standby"] is True and 0 <= health["replica"]["replay_lag_seconds"] < 60
            assert "Reading a streaming replica" in page
        else:
            assert health["replica"] is None and "Reading a streaming replica" not in page

    # With the replica stopped, the analysts' search fails as unreachable (exit 3); the primary is untouched.
    replica.stop()
    down = run.invoke(app, ["search", "миллиардов", "--json"])
    assert isinstance(down.exception, common.DatabaseUnreachable), down.output
    assert run.invoke(app, ["--dsn", primary_dsn, "search", "миллиардов", "--json"]).exit_code == 0
