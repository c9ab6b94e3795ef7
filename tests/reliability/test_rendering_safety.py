"""Names and texts from the platforms are shown, never obeyed (issue 16): post links built from handles are
percent-encoded, and direction overrides and other invisible controls are made visible wherever names and texts
are rendered (briefs, CLI tables; the console's own tests cover its pages), with one function for all
(`ingest.textsafe.inert`). CLI tables also never read a post's text as Rich markup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.briefs import event_brief
from ingest.cli.demo import rutte_event_id
from ingest.events import group_window
from ingest.models import Post, RawRecord
from ingest.normalize.telegram import normalize_message
from ingest.normalize.x import normalize_page
from ingest.run.imports import import_files
from ingest.textsafe import BIDI, CTRL, inert, telegram_post_url, x_post_url
from ingest.warehouse.brief_inputs import ChannelInfo
from tests.reliability.test_bad_inputs import BAD

HOSTILE_HANDLE = "evil name/../x?y=1#z"
ENCODED = "evil%20name%2F..%2Fx%3Fy%3D1%23z"
#: Right-to-left override, a first-strong isolate, a zero-width space, an escape sequence that clears a terminal.
HOSTILE_TEXT = "\u202egnp.exe\u2066 pay\u200bload \x1b[2J [/bold] [red]not markup[/red]"


def test_inert_makes_every_hidden_control_visible():
    out = inert(HOSTILE_TEXT + "\tkept\nkept")
    assert not BIDI.search(out) and not CTRL.search(out)
    assert "[U+202E]gnp.exe[U+2066]" in out and "pay[U+200B]load" in out and "\tkept\nkept" in out


def test_post_links_built_from_handles_are_percent_encoded():
    good = json.loads((BAD / "telethon" / "bool_id.jsonl").read_bytes().splitlines()[0])
    channel = good["peer_id"]["channel_id"]
    (tg,) = normalize_message(RawRecord("telethon_jsonl", good, "f:1", context={"handle": HOSTILE_HANDLE}))
    assert isinstance(tg, Post) and tg.url == f"https://t.me/{ENCODED}/100", tg
    page = {
        "data": [{"id": "1600000000000000001", "text": "hi", "author_id": "7", "created_at": "2022-12-06T10:00:00Z"}],
        "includes": {"users": [{"id": "7", "username": HOSTILE_HANDLE, "name": "n"}]},
    }  # fmt: skip
    (x,) = normalize_page(RawRecord("x_v2_jsonl", page, "f:1"))
    assert isinstance(x, Post) and x.url == f"https://x.com/{ENCODED}/status/1600000000000000001", x
    assert ChannelInfo("telegram", channel, HOSTILE_HANDLE).url == f"https://t.me/{ENCODED}"
    assert ChannelInfo("x", 7, HOSTILE_HANDLE).url == f"https://x.com/{ENCODED}"


def test_one_link_builder_serves_normalisers_and_briefs():
    """Posts and the briefs' forward and repost links come from the same builders: by handle, else the
    channel's private t.me/c link (a forward from a channel known only by id), else nothing."""
    assert telegram_post_url(HOSTILE_HANDLE, 5, 9) == f"https://t.me/{ENCODED}/9"
    assert telegram_post_url(None, 1234, 9) == "https://t.me/c/1234/9"
    assert telegram_post_url(None, None, 9) is None
    assert x_post_url(None, 77) == "https://x.com/i/web/status/77"
    assert x_post_url(HOSTILE_HANDLE, 77) == f"https://x.com/{ENCODED}/status/77"


@pytest.fixture
def hostile_demo(conn, repo_root):
    """The demo day with a channel title and the Rutte posts' texts carrying hidden controls."""
    import_files(conn, [repo_root / "seeds" / "demo"])
    group_window(conn, None, None)
    eid = rutte_event_id(conn)
    conn.execute("UPDATE channels SET title = %s WHERE handle = 'intelslava'", ("Intel \u202eZ avalS",))
    conn.execute(
        "UPDATE posts p SET text = %s || p.text FROM event_posts e WHERE e.event_id = %s"
        " AND (e.platform, e.channel_id, e.post_id) = (p.platform, p.channel_id, p.post_id)",
        (HOSTILE_TEXT + " ", eid),
    )
    conn.commit()
    return conn, eid


def test_briefs_show_hidden_controls_as_visible_marks(hostile_demo):
    conn, eid = hostile_demo
    md = event_brief(conn, eid, save=False)["markdown"]
    assert "[U+202E]" in md, md[:2000]
    assert not BIDI.search(md) and not CTRL.search(md), [c for c in md if BIDI.match(c) or CTRL.match(c)]


def _cli(dsn: str, repo_root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "wirewatch"), "--dsn", dsn, *args],
        cwd=repo_root, env={**os.environ, "COLUMNS": "400"}, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    "args", [("posts", "--limit", "60"), ("search", "Rutte"), ("events",), ("brief", "{eid}", "--no-save")]
)
def test_cli_output_shows_hidden_controls_and_markup_as_text(hostile_demo, db, repo_root, args):
    conn, eid = hostile_demo
    out = _cli(db, repo_root, *(a.format(eid=eid) for a in args))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    assert not BIDI.search(out.stdout) and not CTRL.search(out.stdout), out.stdout[:1000]
    if args[0] in ("posts", "brief"):
        assert "[U+202E]" in out.stdout and "[/bold]" in out.stdout, out.stdout[:3000]
