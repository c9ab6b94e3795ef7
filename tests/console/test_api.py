"""The console's pages and their /api/ twins against a real PostgreSQL warehouse holding the demo day."""

from __future__ import annotations

import re
from datetime import timezone

import psycopg
import pytest

from tests.console.conftest import HOSTILE_HANDLE, HOSTILE_ID, LEAKED_PASSWORD

RUTTE_WORDS = "Rutte"


def _events(client, **params):
    r = client.get("/api/events", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_events_window_anchors_on_the_demo_day_and_lists_newest_first(client, rutte_id, console_dsn):
    data = _events(client)
    assert data["window"]["anchored"] is True  # the demo day is long past: the window ends at its last post
    # The last post is the demo's, or one a browser test added later that day (tests share this warehouse).
    with psycopg.connect(console_dsn) as conn:
        last = conn.execute("SELECT max(posted_at) FROM posts").fetchone()[0]
    assert last.date().isoformat() == "2026-06-26"
    assert data["window"]["until"].startswith(last.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:"))
    events = data["events"]
    firsts = [e["first_seen_at"] for e in events]
    assert firsts == sorted(firsts, reverse=True)
    assert rutte_id in [e["event_id"] for e in events]
    html = client.get("/events").text
    assert "Nothing new in the last 24 h" in html and f'href="/events/{rutte_id}"' in html


def test_events_filters(client, rutte_id):
    only = _events(client, min_sources=3)["events"]
    assert [e["event_id"] for e in only] == [rutte_id]
    assert _events(client, sort="sources")["events"][0]["event_id"] == rutte_id
    xs = _events(client, platform="x")["events"]
    assert xs and all("x" in e["platforms"] for e in xs)
    ru = _events(client, lang="ru")["events"]
    assert rutte_id in [e["event_id"] for e in ru] and all("ru" in e["languages"] for e in ru)
    poly = _events(client, channel="@PolymarketIntel", window="all")["events"]
    assert rutte_id in [e["event_id"] for e in poly]
    assert all(
        e["event_id"] != rutte_id
        for e in _events(client, channel="kyiv_sogodni_demo", window="all")["events"]
    )
    story = _events(client, window="all")["events"]
    sid = next(e["storyline_id"] for e in story if e["event_id"] == rutte_id)
    assert rutte_id in [e["event_id"] for e in _events(client, storyline=sid, window="all")["events"]]
    assert (
        _events(client, window="all", until="2026-06-26T02:00:00Z")["events"][0]["first_seen_at"]
        < "2026-06-26T02"
    )


def test_events_paging_and_caps(client):
    first = _events(client, window="all", limit=5)
    assert len(first["events"]) == 5 and first["page"]["next_offset"] == 5
    second = _events(client, window="all", limit=5, offset=5)
    assert not {e["event_id"] for e in first["events"]} & {e["event_id"] for e in second["events"]}
    assert client.get("/api/events", params={"limit": 101}).status_code == 422
    assert client.get("/api/events", params={"offset": 10**6}).status_code == 422
    assert client.get("/api/events", params={"window": "forever"}).status_code == 422
    assert client.get("/api/events", params={"platform": "myspace"}).status_code == 422
    r = client.get("/events", params={"limit": 5000})
    assert r.status_code == 422 and "text/html" in r.headers["content-type"]


def test_event_rows_fragment_for_polling(client, rutte_id):
    r = client.get("/events/rows", params={"min_sources": 3})
    assert r.status_code == 200
    assert f'data-event-id="{rutte_id}"' in r.text and "<html" not in r.text


def test_a_first_channel_known_by_title_only_is_named_not_a_question_mark(client, rutte_id, console_dsn):
    """A channel with no handle (a Telethon dump named by a channels.csv) is shown by its title, linked by id, in
    the event list and on the storyline page (an event page names channels as its brief did when written)."""
    with psycopg.connect(console_dsn, autocommit=True) as conn:
        platform, cid, handle, title = conn.execute(
            """SELECT c.platform, c.channel_id, c.handle, c.title FROM events e
               JOIN channels c ON (c.platform, c.channel_id) = (e.origin_platform, e.origin_channel_id)
               WHERE e.event_id = %s""",
            (rutte_id,),
        ).fetchone()
        conn.execute(
            "UPDATE channels SET handle = NULL, title = 'Слава <b>Z</b>' WHERE platform = %s AND channel_id = %s",
            (platform, cid),
        )
        try:
            api = next(e for e in _events(client, min_sources=3)["events"] if e["event_id"] == rutte_id)
            assert api["first_channel"] is None and api["first_channel_id"] == cid
            assert api["first_channel_title"] == "Слава <b>Z</b>"
            sid = api["storyline_id"]
            pages = [
                client.get("/events", params={"min_sources": 3}),
                client.get("/events/rows", params={"min_sources": 3}),
                client.get(f"/storylines/{sid}"),
            ]
            for page in pages:
                assert page.status_code == 200, page.url
                assert f'href="/channels/{platform}/{cid}"' in page.text
                assert "Слава &lt;b&gt;Z&lt;/b&gt;" in page.text and "<b>Z</b>" not in page.text
        finally:
            conn.execute(
                "UPDATE channels SET handle = %s, title = %s WHERE platform = %s AND channel_id = %s",
                (handle, title, platform, cid),
            )


def test_rutte_event_brief(client, rutte_id):
    data = client.get(f"/api/events/{rutte_id}").json()
    brief = data["brief"]
    assert brief["source_count"] == 5 and data["event"]["independent_sources"] == 5
    assert [c["label"] for c in brief["single_source"]] == ["about 40 billion dollars"]
    post_urls = {t["url"] for t in data["timeline"]}
    assert len(data["timeline"]) == 8 and len(post_urls) == 8
    assert all(u.startswith(("https://t.me/", "https://x.com/")) for u in post_urls)
    (edit,) = data["edits"]
    assert edit["version"] == 2
    inserted = " ".join(t for op, t in edit["diff"] if op == "+")
    assert "July 7–8" in inserted and "renewed support for Ukraine" in inserted
    assert any(op == "-" and "to the alliance" in t for op, t in edit["diff"])
    assert len({(m["post_id"], m["observed_at"]) for m in data["metrics"]}) >= 3

    html = client.get(f"/events/{rutte_id}").text
    assert "2026-06-26 02:47:10 UTC" in html  # first seen, in UTC
    assert re.search(r'id="sources-count"><strong>5</strong>', html)
    assert "about 40 billion dollars" in html
    timeline = html[html.index('id="timeline"') : html.index('id="corroboration"')]
    links = set(re.findall(r'href="(https://(?:t\.me|x\.com)/[^"]+)"', timeline))
    assert len(links) == 8
    assert "<del>" in html and "<ins>" in html  # the edit as a diff
    assert "<svg" in html and "polyline" in html  # engagement over time


def test_unknown_event_and_storyline(client):
    assert client.get("/api/events/999999").status_code == 404
    r = client.get("/events/999999")
    assert r.status_code == 404 and "no event 999999" in r.text
    assert client.get("/storylines/999999").status_code == 404
    assert client.get("/events/notanumber").status_code == 422


def test_storyline(client, rutte_id):
    sid = client.get(f"/api/events/{rutte_id}").json()["event"]["storyline_id"]
    data = client.get(f"/api/storylines/{sid}").json()
    assert data["storyline"]["storyline_id"] == sid and rutte_id in [e["event_id"] for e in data["events"]]
    html = client.get(f"/storylines/{sid}").text
    assert "<svg" in html and f'href="/events/{rutte_id}"' in html


def test_channel(client):
    r = client.get("/channels/x/KyivPost", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/channels/x/19431467"
    data = client.get("/api/channels/x/19431467").json()
    assert data["channel"]["channel"] == "kyivpost"
    assert [h["handle"] for h in data["handles"]] == ["kyivpost"]
    assert sum(a["posts"] for a in data["activity"]) == 5
    assert data["posts"][0]["posted_at"] >= data["posts"][-1]["posted_at"]
    html = client.get("/channels/x/19431467").text
    assert "Handle history" in html and "<svg" in html and "Run health" in html
    intel = client.get("/api/channels/telegram/intelslava").json()
    assert any(c["deferred"] for c in intel["cursors"]) and intel["runs"][0]["status"] == "deferred"
    assert "Deferred by a rate limit" in client.get("/channels/telegram/1263512207").text
    assert client.get("/api/channels/telegram/nosuchchannel").status_code == 404
    assert "kyivpost" in client.get("/channels").text


def test_search(client):
    data = client.get("/api/search", params={"q": "contracts"}).json()
    assert data["results"] and all("**" in r["snippet"] for r in data["results"])
    assert {r["channel_title"] for r in data["results"]} >= {
        "Kyiv Post"
    }  # for a channel known by title alone
    ranked = client.get("/api/search", params={"q": "contracts", "sort": "rank"}).json()["results"]
    assert {r["channel_title"] for r in ranked} == {r["channel_title"] for r in data["results"]}
    html = client.get("/search", params={"q": "контрактов"}).text
    assert "<mark>" in html and "opersvodka_demo" in html
    only_x = client.get("/api/search", params={"q": "Rutte", "platform": "x"}).json()["results"]
    assert only_x and all(r["platform"] == "x" for r in only_x)
    chan = client.get("/api/search", params={"q": "Rutte", "channel": "intelslava"}).json()["results"]
    assert chan and all(r["channel"] == "intelslava" for r in chan)
    late = client.get("/api/search", params={"q": "Rutte", "since": "2026-06-26T03:20:00Z"}).json()["results"]
    assert late and all(r["posted_at"] >= "2026-06-26T03:20" for r in late)
    page = client.get("/api/search", params={"q": "Rutte", "limit": 2}).json()
    assert len(page["results"]) == 2 and page["page"]["next_offset"] == 2
    newest = client.get("/api/search", params={"q": "Rutte"}).json()["results"]
    times = [r["posted_at"] for r in newest]
    assert len(times) > 2 and times == sorted(times, reverse=True)
    assert page["results"] == newest[:2]
    second = client.get("/api/search", params={"q": "Rutte", "limit": 2, "offset": 2}).json()["results"]
    assert second == newest[2:4]
    ranked = client.get("/api/search", params={"q": "Rutte", "sort": "rank"}).json()
    ranks = [r["rank"] for r in ranked["results"]]
    assert ranked["filters"]["sort"] == "rank" and ranks == sorted(ranks, reverse=True)
    assert sorted(r["url"] for r in ranked["results"]) == sorted(r["url"] for r in newest)
    assert 'value="rank" selected' in client.get("/search", params={"q": "Rutte", "sort": "rank"}).text
    assert client.get("/api/search", params={"q": "Rutte", "sort": "bogus"}).status_code == 422
    assert client.get("/api/search", params={"q": "x" * 201}).status_code == 422
    assert client.get("/api/search", params={"q": "Rutte", "limit": 500}).status_code == 422
    # Search syntax errors are not errors: websearch_to_tsquery takes anything.
    assert client.get("/api/search", params={"q": "\" OR -- ' ; DROP TABLE posts"}).status_code == 200


def test_health(client):
    data = client.get("/api/health").json()
    assert any(d["channel"] == "intelslava" for d in data["deferred"])
    assert any(r["reason"] and r["records"] >= 1 for r in data["rejects"])
    failed = next(r for r in data["runs"] if r["target"] == f"telegram:{HOSTILE_HANDLE}")
    assert failed["status"] == "failed" and failed["channel_id"] == HOSTILE_ID
    assert LEAKED_PASSWORD not in str(data) and "password=***" in failed["error"]
    html = client.get("/health").text
    assert "Deferred channels" in html and "intelslava" in html and "Rejected records by reason" in html
    assert LEAKED_PASSWORD not in html


def test_no_password_in_any_page_or_log(client, rutte_id, caplog):
    caplog.set_level("DEBUG")
    pages = ["/events", f"/events/{rutte_id}", "/health", "/api/health", "/channels", "/search?q=port",
             f"/channels/telegram/{HOSTILE_ID}", f"/api/channels/telegram/{HOSTILE_ID}"]  # fmt: skip
    for p in pages:
        r = client.get(p)
        assert r.status_code == 200, p
        assert LEAKED_PASSWORD not in r.text, p
    assert LEAKED_PASSWORD not in caplog.text
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("ingest.console"))
    assert "GET /events 200" in ours  # the access log: method, path, status, and no query string
    assert "GET /search 200" in ours and "q=port" not in ours


def test_connection_is_read_only_and_sees_only_schema_analyst(client, analyst_role):
    wh = client.app.state.warehouse
    assert wh.session.role == analyst_role and wh.session.read_only
    with wh.connection() as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM public.raw_records").fetchone()
    with wh.connection() as conn:
        with pytest.raises((psycopg.errors.ReadOnlySqlTransaction, psycopg.errors.InsufficientPrivilege)):
            conn.execute("CREATE TABLE analyst.scribble (x int)")
    with wh.connection() as conn:
        assert conn.execute("SELECT count(*) FROM analyst.events").fetchone()[0] > 0


def test_fallback_without_role_is_read_only(console_dsn):
    from fastapi.testclient import TestClient

    from ingest.console import ConsoleSettings, create_app

    settings = ConsoleSettings(dsn=console_dsn, role=None, allowed_hosts=["testserver"])
    with TestClient(create_app(settings)) as c:
        assert c.get("/api/events").status_code == 200
        with c.app.state.warehouse.connection() as conn:
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute("CREATE TABLE scribble (x int)")


def test_analyst_login_dsn(console_dsn, analyst_role):
    """WIREWATCH_ANALYST_DSN's case: a login role made by `wirewatch analyst grant` reads everything it needs."""
    import secrets

    from ingest.console import ConsoleSettings, create_app
    from ingest.warehouse.analyst import grant_user
    from tests.scratch import drop_roles, dsn_with

    user = f"ww_console_user_{secrets.token_hex(4)}"
    with psycopg.connect(console_dsn) as conn:
        grant_user(conn, user, role=analyst_role)
    try:
        from fastapi.testclient import TestClient

        dsn = dsn_with(console_dsn, user=user)
        with TestClient(create_app(ConsoleSettings(dsn=dsn, role=None, allowed_hosts=["testserver"]))) as c:
            assert c.app.state.warehouse.session.user == user
            for p in (
                "/events",
                "/api/events?window=all&min_sources=3",
                "/health",
                "/search?q=Rutte",
                "/channels",
            ):
                assert c.get(p).status_code == 200, p
            assert c.get("/api/events?window=all&min_sources=3").json()["events"]
    finally:
        drop_roles(console_dsn, user)
