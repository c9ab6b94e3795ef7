"""Hostile input renders inert, links are http(s) only, the token guards any non-loopback bind, and the helpers
that decide what becomes a link or a highlight."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from ingest.console import present
from tests.console.conftest import HOSTILE_HANDLE, HOSTILE_ID


def _hostile_event_ids(client) -> list[int]:
    events = client.get("/api/events", params={"channel": HOSTILE_HANDLE, "window": "all"}).json()["events"]
    assert len(events) >= 3
    return [e["event_id"] for e in events]


def _assert_inert(html: str) -> None:
    assert "<script" not in html.replace('<script src="/static/console.js" defer></script>', "")
    assert "<img" not in html
    # An event handler attribute would be a tag's `on...=`: escaped text shows it as on...=&#34; only.
    assert not re.search(r"<[^>]*\son\w+\s*=", html)
    assert 'href="javascript' not in html.lower()
    assert "\u202e" not in html


def test_hostile_posts_render_as_text(client):
    pages = [f"/events/{eid}" for eid in _hostile_event_ids(client)]
    pages += ["/events?window=all", f"/channels/telegram/{HOSTILE_ID}", "/search?q=port", "/search?q=script",
              "/channels", "/health"]  # fmt: skip
    seen = ""
    for p in pages:
        r = client.get(p)
        assert r.status_code == 200, p
        _assert_inert(r.text)
        seen += r.text
    assert "&lt;script&gt;window.__xss = 1" in seen  # shown, escaped
    assert "&lt;img src=x onerror=" in seen
    assert "[U+202E]gnp.exe" in seen  # the direction override made visible
    assert 'href="javascript:' not in seen.lower()


def test_markdown_in_post_texts_is_shown_as_formatting(client):
    html = client.get(f"/channels/telegram/{HOSTILE_ID}").text
    _assert_inert(html)
    assert (
        '<span class="md-b">Ferry</span> timetable changed' in html
    )  # the javascript: link is its label only
    assert (
        '<a href="https://example.org/ferry" rel="noopener noreferrer nofollow" target="_blank" class="md-a">'
        "the notice</a>"
    ) in html
    assert '<span class="md-s">today</span>, 2**3 seats' in html  # the unpaired mark stays as written


def test_security_headers(client):
    r = client.get("/events")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "server" not in {k.lower() for k in r.headers} or "uvicorn" not in r.headers.get("server", "")


def test_foreign_host_header_is_refused(client):
    """DNS rebinding: a page on another site that resolves its name to 127.0.0.1 cannot read the console."""
    assert client.get("/api/events", headers={"host": "evil.example"}).status_code == 400


def test_no_external_resources(client, rutte_id):
    html = client.get(f"/events/{rutte_id}").text
    for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
        if ref.startswith(("http://", "https://")):
            # only the posts' own links, never a script, style or font from elsewhere
            assert re.match(r"https://(t\.me|x\.com)/", ref), ref
    assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', html) == ["/static/console.css"]
    assert re.findall(r'<script src="([^"]+)"', html) == ["/static/console.js"]


@pytest.fixture(scope="module")
def token_client(console_settings):
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from ingest.console import create_app

    with TestClient(create_app(replace(console_settings, token="t0ken-for-the-console-tests"))) as c:
        yield c


def test_token_required(token_client):
    c = token_client
    assert c.get("/api/events").status_code == 401
    assert c.get("/events").status_code == 401
    assert c.get("/static/console.css").status_code == 401
    assert (
        c.get("/api/events", headers={"authorization": "Bearer wrong-token-wrong-token"}).status_code == 401
    )
    ok = c.get("/api/events", headers={"authorization": "Bearer t0ken-for-the-console-tests"})
    assert ok.status_code == 200
    r = c.get("/events?window=all&token=t0ken-for-the-console-tests", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/events?window=all"
    cookie = r.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert c.get("/events?window=all").status_code == 200  # the cookie now
    c.cookies.clear()
    assert c.get("/events").status_code == 401


def test_serve_refuses_a_public_bind_without_a_token(monkeypatch):
    import ingest.cli.serve  # noqa: F401 - registers the command
    from ingest.cli import app

    monkeypatch.delenv("WIREWATCH_CONSOLE_TOKEN", raising=False)
    runner = CliRunner()
    r = runner.invoke(app, ["--dsn", "host=127.0.0.1 dbname=nowhere", "serve", "--host", "0.0.0.0"])
    assert r.exit_code == 2 and "needs a token" in r.output
    r = runner.invoke(
        app, ["--dsn", "host=127.0.0.1 dbname=nowhere", "serve", "--host", "0.0.0.0", "--token", "short"]
    )
    assert r.exit_code == 2 and "at least 16" in r.output


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://t.me/intelslava/71840", True),
        ("http://example.org/a?b=c", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox", False),
        ("//evil.example/x", False),
        ("/relative", False),
        ("https://user:pw@example.org/", False),
        ("https://example.org/\u202egnp.exe", False),
        ("https:///nohost", False),
        (None, False),
        (42, False),
    ],
)
def test_safe_url(url, ok):
    assert (present.safe_url(url) is not None) is ok


def test_inert_and_snippets_and_diff():
    assert present.inert("a\u202eb\u2066c") == "a[U+202E]b[U+2066]c"
    assert present.inert("bell\x07") == "bell\ufffd"
    assert present.post_text_parts("a **b** [c](https://x.org/) **d") == [
        ("a ", "", None), ("b", "md-b", None), (" ", "", None), ("c", "md-a", "https://x.org/"), (" ", "", None),
        ("**", "", None), ("d", "", None),
    ]  # fmt: skip
    assert present.post_text_parts("**bold** then plain text", limit=8) == [
        ("bold", "md-b", None),
        (" the…", "", None),
    ]
    assert "".join(p for p, _, _ in present.post_text_parts("Яндекс [объявили ](https://x.org/)на YaC")) == (
        "Яндекс объявили на YaC"  # the label's space before "]" stays
    )
    assert present.post_text_parts("[x](javascript:alert(1)) \u202e") == [
        ("x", "", None),  # an unsafe link is its label, not a link
        (") [U+202E]", "", None),
    ]
    assert present.snippet_parts("the **contracts** of **NATO**") == [
        ("the ", False), ("contracts", True), (" of ", False), ("NATO", True)
    ]  # fmt: skip
    assert present.word_diff("a b c", "a x c") == [("=", "a "), ("-", "b"), ("+", "x"), ("=", " c")]
    assert present.redact("password=abc123xyz host=h") == "password=*** host=h"
    assert present.redact("postgresql://u:abc123xyz@h/db") == "postgresql://u:***@h/db"
    assert present.redact("token s3cr3t-value here", ["s3cr3t-value"]) == "token *** here"
    assert present.parse_window("7d").days == 7 and present.parse_window("all") is None
    with pytest.raises(ValueError):
        present.parse_window("1y")
