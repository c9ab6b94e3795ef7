"""Fixtures of the console tests: one scratch warehouse of their own (so that other tests' truncations cannot
touch it) holding the demo day, hostile posts, a rejected record, a deferred channel and a failed run whose error
names a DSN password; a read-only analyst group role unique to the session; the console app over it."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests import scratch

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "seeds" / "demo"
ARTIFACTS = Path(os.environ.get("WIREWATCH_ARTIFACTS", REPO / ".artifacts")) / "console"

HOSTILE_ID = 1999999901
HOSTILE_HANDLE = "hostile_demo"
LATE_ID = 1999999902
#: A password that appears in a failed run's error: no page, API answer or log may show it.
LEAKED_PASSWORD = "hunter2-Sekret-pw"

XSS_SCRIPT = "<script>window.__xss = 1; alert('xss')</script> Breaking: drill at the port"
XSS_IMG = '<img src=x onerror="window.__xss = 2; alert(2)"> photo of the harbour'
RLO_TEXT = "Invoice attached \u202egnp.exe for the port authority"
# Telegram Markdown as Telethon dumps keep it in texts: shown as formatting, a javascript: link as its label only, an
# unpaired mark as written.
MD_TEXT = (
    "**Ferry** timetable [changed](javascript:window.__xss=5) — see [the notice](https://example.org/ferry) "
    "~~today~~, 2**3 seats"
)


def _msg(mid: int, at: datetime, text, **extra) -> dict:
    return {
        "id": mid, "type": "message", "date": at.strftime("%Y-%m-%dT%H:%M:%S"),
        "date_unixtime": str(int(at.timestamp())), "from": "x", "from_id": f"channel{HOSTILE_ID}", "text": text,
        **extra,
    }  # fmt: skip


def write_export(path: Path, channel_id: int, handle: str, title: str, messages: list[dict]) -> Path:
    """A Telegram Desktop export (result.json) in the exporter's UTC clock."""
    path.mkdir(parents=True, exist_ok=True)
    doc = {
        "name": title,
        "type": "public_channel",
        "id": channel_id,
        "username": handle,
        "messages": messages,
    }
    (path / "result.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return path / "result.json"


def hostile_export(folder: Path) -> Path:
    t = datetime(2026, 6, 26, 22, 0, tzinfo=UTC)
    return write_export(
        folder / HOSTILE_HANDLE,
        HOSTILE_ID,
        HOSTILE_HANDLE,
        '<img src=x onerror="window.__xss = 3">Evil \u202eTitle',
        [
            _msg(1, t, XSS_SCRIPT),
            _msg(2, t + timedelta(minutes=7), XSS_IMG),
            _msg(
                3,
                t + timedelta(minutes=14),
                [
                    "Read the full statement ",
                    {"type": "text_link", "text": "here", "href": "javascript:window.__xss = 4"},
                    " about the ferry timetable change",
                ],
            ),  # fmt: skip
            _msg(4, t + timedelta(minutes=21), RLO_TEXT),
            _msg(5, t + timedelta(minutes=28), 42),  # not a text: rejected
            _msg(6, t + timedelta(minutes=35), MD_TEXT),
        ],
    )


def late_export(folder: Path, text: str, minutes: int = 90) -> Path:
    """One new post after everything else (the live-update test's new event)."""
    at = datetime(2026, 6, 26, 22, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    msg = _msg(7, at, text)
    msg["from_id"] = f"channel{LATE_ID}"
    return write_export(folder / "late_demo", LATE_ID, "late_demo", "Late Desk (demo)", [msg])


def add_posts_and_group(dsn: str, paths: list[Path]) -> None:
    """What the pipeline does when new posts arrive: import, group, write briefs."""
    from ingest.briefs import brief_window
    from ingest.events import group_window
    from ingest.run.imports import import_files

    with psycopg.connect(dsn) as conn:
        import_files(conn, paths)
        group_window(conn, None, None)
        conn.commit()
        brief_window(conn, None, None)


@pytest.fixture(scope="session")
def console_dsn(admin_dsn: str, tmp_path_factory) -> Iterator[str]:
    """A warehouse of the console tests' own: the demo day plus the hostile channel, grouped and briefed."""
    from ingest.warehouse import runs

    with scratch.scratch_db(admin_dsn, f"ww_console_{os.getpid()}") as url:
        add_posts_and_group(url, [DEMO, hostile_export(tmp_path_factory.mktemp("hostile"))])
        with psycopg.connect(url) as conn:
            run_id = runs.start_run(conn, "ingest", "telethon", f"telegram:{HOSTILE_HANDLE}")
            runs.finish_run(
                conn, run_id, "failed",
                error=f"connection failed: host=db user=wirewatch password={LEAKED_PASSWORD} dbname=w; "
                      f"postgresql://wirewatch:{LEAKED_PASSWORD}@db/w",
            )  # fmt: skip
            run_id = runs.start_run(conn, "ingest", "telethon", "telegram:intelslava")
            until = datetime.now(UTC) + timedelta(hours=3)
            runs.defer_cursor(conn, "telegram", 1263512207, "telethon", until, run_id)
            runs.finish_run(conn, run_id, "deferred", error="FloodWait 10800 s", deferred_until=until)
            conn.commit()
        yield url


@pytest.fixture(scope="session")
def analyst_role(console_dsn: str) -> Iterator[str]:
    """A NOLOGIN read-only group role (unique to this session) with SELECT on schema analyst only."""
    from ingest.warehouse.analyst import create_analyst_role

    role = f"ww_console_ro_{secrets.token_hex(4)}"
    with psycopg.connect(console_dsn) as conn:
        report = create_analyst_role(conn, role)
    assert report.problems == []
    yield role
    scratch.drop_roles(console_dsn, role)


@pytest.fixture(scope="session")
def console_settings(console_dsn: str, analyst_role: str):
    from ingest.console import ConsoleSettings
    from ingest.console.app import LOOPBACK_HOSTS

    return ConsoleSettings(
        dsn=console_dsn, role=analyst_role, poll_seconds=1, allowed_hosts=[*LOOPBACK_HOSTS, "testserver"]
    )


@pytest.fixture(scope="session")
def client(console_settings):
    from fastapi.testclient import TestClient

    from ingest.console import create_app

    with TestClient(create_app(console_settings)) as c:
        yield c


@pytest.fixture(scope="session")
def rutte_id(console_dsn: str) -> int:
    from ingest.cli.demo import rutte_event_id

    with psycopg.connect(console_dsn) as conn:
        eid = rutte_event_id(conn)
    assert eid is not None
    return eid
