"""`wirewatch ingest` over a watch list in which one channel cannot be read (its account has no credentials): that
channel fails alone, with a run that says why, and the others run (a real PostgreSQL; the replay source over a
real Telethon capture)."""

from __future__ import annotations

import json
import shutil

import psycopg
from typer.testing import CliRunner

import ingest.cli.imports  # noqa: F401 - registers `runs`
import ingest.cli.live  # noqa: F401 - registers the command
from ingest.cli import app


def test_a_channel_without_credentials_fails_alone_with_a_run_saying_why(
    db, tmp_path, shared_data, monkeypatch
):
    capture = tmp_path / "bloomberg.jsonl"
    shutil.copy(shared_data / "telethon" / "bloomberg_1488156064.jsonl", capture)
    channels = tmp_path / "channels.toml"
    channels.write_text(
        '[[channels]]\nplatform = "x"\nhandle = "KyivPost"\nsource = "x_api"\n\n'
        '[[channels]]\nplatform = "telegram"\nhandle = "bloomberg"\nsource = "replay"\n'
        f'channel_id = 1488156064\nreplay_path = "{capture.name}"\n'
    )
    monkeypatch.setenv("WIREWATCH_CHANNELS", str(channels))
    for var in ("X_BEARER_TOKEN", "AIRFLOW_CONN_X_DEFAULT"):
        monkeypatch.delenv(var, raising=False)

    r = CliRunner().invoke(app, ["--dsn", db, "ingest", "--all", "--rescan-hours", "100000", "--json"])
    assert r.exit_code == 1, r.output  # a channel failed; no traceback
    by_handle = {s["handle"]: s for s in json.loads(r.stdout)}
    x = by_handle["kyivpost"]
    assert x["status"] == "failed" and "X_BEARER_TOKEN" in x["error"] and x["run_id"] is not None
    assert by_handle["bloomberg"]["status"] == "succeeded" and by_handle["bloomberg"]["inserted"] > 0
    with psycopg.connect(db) as conn:
        run = conn.execute(
            "SELECT status, error, source FROM ingest_runs WHERE run_id = %s AND target = 'x:kyivpost'",
            (x["run_id"],),
        ).fetchone()
    assert run is not None and run[0] == "failed" and "X_BEARER_TOKEN" in run[1] and run[2] == "x_api"

    table = CliRunner().invoke(app, ["--dsn", db, "ingest", "--channel", "KyivPost"])
    assert table.exit_code == 1 and "no X bearer token" in table.output and "Traceback" not in table.output
