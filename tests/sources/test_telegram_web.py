"""Tests for ingest/sources/telegram_web.py: the page parser, saved-page import, and the live source driven
through httpx.MockTransport (the real httpx code path) and ingest.run against the real PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import psycopg
import pytest

from ingest.models import ChannelSpec, Cursor, FetchWindow, RawRecord
from ingest.run.channel import run_channel
from ingest.run.imports import import_files
from ingest.sources.base import Batch, Deferred, Listed, SourceError
from ingest.sources.formats import detect_format
from ingest.sources.telegram_web import (
    PageResult,
    TelegramWebError,
    TelegramWebSource,
    parse_page,
    read_saved_page,
)
from ingest.warehouse import runs
from ingest.warehouse.queries import table_checksums

DUROV_ID = 1006503122
NOW = datetime(2026, 8, 10, 12, 0, tzinfo=timezone.utc)  # two days after the newest post on the real page
SPEC = ChannelSpec(platform="telegram", handle="durov", source="telegram_web")
WRAP = '<div class="tgme_widget_message_wrap js-widget_message_wrap">'


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def durov_path(shared_data: Path) -> Path:
    return shared_data / "telegram_web" / "channel_feed_durov.html"


@pytest.fixture(scope="module")
def landing_path(shared_data: Path) -> Path:
    return shared_data / "telegram_web" / "tme_channel_durov_landing.html"


@pytest.fixture(scope="module")
def durov_html(durov_path: Path) -> str:
    return durov_path.read_text(encoding="utf-8")


def variant(html: str, keep: Callable[[int], bool] = lambda _: True, before: int | None = 519,
            edit: Callable[[str], str] | None = None) -> str:  # fmt: skip
    """The real page with some widgets removed and the older-page cursor rewritten (None: the oldest page).
    Cut by plain string operations so the parser under test is not used to build its own input."""
    start = html.index(WRAP)
    end = html.index("</section>", start)
    chunks = [WRAP + c for c in html[start:end].split(WRAP)[1:]]
    kept = [c for c in chunks if keep(int(re.search(r'data-post="durov/(\d+)"', c).group(1)))]
    head, tail = html[:start], html[end:]
    if before is None:
        head = re.sub(r'<link rel="prev" href="[^"]*">\n?', "", head)
        head = re.sub(r'<div class="tgme_widget_message_centered js-messages_more_wrap">.*?</div>', "", head)
    else:
        head = head.replace("before=519", f"before={before}").replace(
            'data-before="519"', f'data-before="{before}"'
        )
    body = "".join(kept)
    return head + (edit(body) if edit else body) + tail


class FakeClock:
    """Monotonic time that moves only when the source sleeps: sleeps are exact and recorded."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.t += seconds

    def monotonic(self) -> float:
        return self.t


class Site:
    """A fake t.me: answers from a table of (path, before) -> response or list of responses (one per call)."""

    def __init__(self, routes: dict[tuple[str, int | None], object]):
        self.routes = {k: (list(v) if isinstance(v, list) else v) for k, v in routes.items()}
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        before = request.url.params.get("before")
        key = (request.url.path, int(before) if before else None)
        self.requests.append(f"{request.url.path}?before={before}" if before else request.url.path)
        assert request.headers["User-Agent"].startswith("wirewatch/")
        answer = self.routes.get(key)
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if answer is None:
            return httpx.Response(404, text="not found")
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, text=str(answer), headers={"Content-Type": "text/html; charset=utf-8"})


def make_source(site: Site, clock: FakeClock | None = None, **kw: object) -> TelegramWebSource:
    clock = clock or FakeClock()
    client = httpx.Client(transport=httpx.MockTransport(site), base_url="https://t.me")
    settings = {"delay": 2.0, "sleep": clock.sleep, "monotonic": clock.monotonic, "now": lambda: NOW, **kw}
    return TelegramWebSource(client, **settings)


def split_site(html: str, **extra: object) -> Site:
    """Two real pages: 529..539 (newest, older cursor 529), 519..528 (cursor 519), then the channel start."""
    return Site({
        ("/s/durov", None): variant(html, lambda i: i >= 529, before=529),
        ("/s/durov", 529): variant(html, lambda i: i < 529, before=519),
        ("/s/durov", 519): variant(html, lambda _: False, before=None),
        **extra,
    })  # fmt: skip


def ids_of(batch: Batch) -> list[int]:
    return [int(r.payload["post"].split("/")[1]) for r in batch.records]


# ---------------------------------------------------------------------------------------------- parsing


def test_parse_page_reads_widgets_header_and_cursor(durov_html: str) -> None:
    at = datetime(2026, 8, 9, 0, 0, tzinfo=timezone.utc)
    page = parse_page(durov_html, url="https://t.me/s/durov", fetched_at=at)
    assert page.kind == "channel" and page.problem is None
    assert (page.handle, page.title, page.channel_id, page.before) == ("durov", "Pavel Durov", DUROV_ID, 519)
    assert len(page.records) == 20 and page.post_ids == [*range(519, 530), *range(531, 540)]
    rec = page.records[0]
    assert rec.source == "telegram_web" and rec.fetched_at == at
    assert rec.origin == "https://t.me/s/durov#durov/519"
    assert rec.context == {"handle": "durov", "title": "Pavel Durov", "channel_id": DUROV_ID,
                           "page_url": "https://t.me/s/durov"}  # fmt: skip
    assert page.times[0] == datetime(2026, 5, 20, 15, 38, 10, tzinfo=timezone.utc)


def test_the_oldest_page_has_no_cursor_and_an_empty_page_no_records(durov_html: str) -> None:
    oldest = parse_page(variant(durov_html, lambda i: i < 525, before=None))
    assert oldest.before is None and oldest.post_ids == list(range(519, 525))
    empty = parse_page(variant(durov_html, lambda _: False, before=None))
    assert empty.kind == "channel" and empty.records == [] and empty.handle == "durov"


def test_landing_page_is_recognised(landing_path: Path) -> None:
    page = parse_page(landing_path.read_text(encoding="utf-8"), url="https://t.me/durov")
    assert page.kind == "landing" and page.records == []
    assert page.handle == "durov" and page.title == "Pavel Durov"
    assert "landing page of @durov" in page.problem and "https://t.me/s/durov" in page.problem


def test_other_html_is_not_a_post_list() -> None:
    page = parse_page("<html><head><title>My blog</title></head><body><p>hello</p></body></html>")
    assert page.kind == "other" and "not a t.me/s channel page" in page.problem and "My blog" in page.problem


def test_read_saved_page(durov_path: Path, landing_path: Path, tmp_path: Path) -> None:
    records = list(read_saved_page(durov_path))
    assert len(records) == 20 and all(r.origin.startswith(str(durov_path)) for r in records)
    [landing] = list(read_saved_page(landing_path))
    assert landing.payload["page_kind"] == "landing" and landing.origin == str(landing_path)
    binary = tmp_path / "photo.html"
    binary.write_bytes(b"\xff\xd8\xff\xe0 not text")
    with pytest.raises(ValueError, match="not UTF-8"):
        list(read_saved_page(binary))
    assert detect_format(durov_path).name == "telegram-web"


# ------------------------------------------------------------------------------------------------- HTTP


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREWATCH_WEB_DELAY", "5.5")
    monkeypatch.setenv("WIREWATCH_WEB_TIMEOUT", "7")
    monkeypatch.setenv("WIREWATCH_WEB_USER_AGENT", "wirewatch-test/1")
    monkeypatch.setenv("WIREWATCH_WEB_MAX_PAGES", "3")
    src = TelegramWebSource.from_env()
    try:
        assert (src.delay, src.user_agent, src.max_pages) == (5.5, "wirewatch-test/1", 3)
        assert src.client.timeout.read == 7
        assert (src.name, src.platform) == ("telegram_web", "telegram")
    finally:
        src.close()
    monkeypatch.delenv("WIREWATCH_WEB_DELAY")
    with TelegramWebSource.from_env() as default:
        assert default.delay == 2.0
    monkeypatch.setenv("WIREWATCH_WEB_DELAY", "soon")
    with pytest.raises(ValueError, match="WIREWATCH_WEB_DELAY"):
        TelegramWebSource.from_env()


def test_resolve_reads_the_numeric_id(durov_html: str) -> None:
    site = Site({("/s/durov", None): durov_html})
    assert make_source(site).resolve(SPEC) == (DUROV_ID, "durov", "Pavel Durov")
    assert site.requests == ["/s/durov"]


def test_no_public_preview_is_a_clear_source_error(landing_path: Path) -> None:
    moved = httpx.Response(302, headers={"Location": "https://t.me/durov"})
    with pytest.raises(
        SourceError, match=r"redirects to https://t.me/durov: @durov has no public web preview"
    ):
        make_source(Site({("/s/durov", None): moved})).resolve(SPEC)
    landing = landing_path.read_text(encoding="utf-8")
    with pytest.raises(SourceError, match="landing page of @durov"):
        make_source(Site({("/s/durov", None): landing})).resolve(SPEC)
    with pytest.raises(SourceError, match="not found"):
        make_source(Site({})).resolve(SPEC)


def test_redirect_within_the_preview_is_followed(durov_html: str) -> None:
    site = Site({
        ("/s/Durov", None): httpx.Response(302, headers={"Location": "/s/durov"}),
        ("/s/durov", None): durov_html,
    })  # fmt: skip
    assert make_source(site).resolve(ChannelSpec("telegram", "Durov", "telegram_web"))[0] == DUROV_ID
    assert site.requests == ["/s/Durov", "/s/durov"]


def test_429_then_200_is_retried(durov_html: str) -> None:
    clock = FakeClock()
    site = Site({("/s/durov", None): [httpx.Response(429), durov_html]})
    src = make_source(site, clock)
    assert src.resolve(SPEC)[0] == DUROV_ID
    assert site.requests == ["/s/durov", "/s/durov"] and src.requests == 2
    assert clock.sleeps == [2.0]  # one backoff; the polite delay is already covered by it


def test_503_is_retried_with_exponential_backoff(durov_html: str) -> None:
    clock = FakeClock()
    site = Site(
        {("/s/durov", None): [httpx.Response(503), httpx.Response(502), httpx.Response(500), durov_html]}
    )
    src = make_source(site, clock, backoff_base=1.0, delay=0.5)
    assert src.resolve(SPEC)[0] == DUROV_ID
    assert clock.sleeps == [1.0, 2.0, 4.0]
    # A backoff shorter than the polite delay is topped up to it: never two requests closer than `delay`.
    clock = FakeClock()
    site = Site({("/s/durov", None): [httpx.Response(503), durov_html]})
    make_source(site, clock, backoff_base=0.5, delay=2.0).resolve(SPEC)
    assert clock.sleeps == [0.5, 1.5]


def test_persistent_503_fails_after_the_last_attempt() -> None:
    clock = FakeClock()
    site = Site({("/s/durov", None): [httpx.Response(503)]})
    with pytest.raises(TelegramWebError, match="HTTP 503 after 3 attempts"):
        make_source(site, clock, max_attempts=3, backoff_base=1.0, delay=0).resolve(SPEC)
    assert len(site.requests) == 3 and clock.sleeps == [1.0, 2.0]


def test_network_errors_are_retried(durov_html: str) -> None:
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, text=durov_html)

    clock = FakeClock()
    src = TelegramWebSource(httpx.Client(transport=httpx.MockTransport(flaky)), sleep=clock.sleep,
                            monotonic=clock.monotonic, now=lambda: NOW)  # fmt: skip
    assert src.resolve(SPEC)[0] == DUROV_ID and calls["n"] == 2


def test_short_retry_after_is_honoured(durov_html: str) -> None:
    clock = FakeClock()
    site = Site({("/s/durov", None): [httpx.Response(429, headers={"Retry-After": "7"}), durov_html]})
    make_source(site, clock).resolve(SPEC)
    assert clock.sleeps == [7.0]


def test_an_hour_of_retry_after_defers() -> None:
    clock = FakeClock()
    site = Site({("/s/durov", None): [httpx.Response(429, headers={"Retry-After": "3600"})]})
    with pytest.raises(Deferred) as info:
        make_source(site, clock).resolve(SPEC)
    assert info.value.until == NOW + timedelta(hours=1)
    assert "Retry-After 3600" in info.value.reason
    assert clock.sleeps == [] and len(site.requests) == 1  # not slept through, not retried
    http_date = httpx.Response(503, headers={"Retry-After": "Mon, 10 Aug 2026 14:00:00 GMT"})
    with pytest.raises(Deferred) as info:
        make_source(Site({("/s/durov", None): [http_date]})).resolve(SPEC)
    assert info.value.until == datetime(2026, 8, 10, 14, 0, tzinfo=timezone.utc)


def test_429_that_outlasts_the_retries_defers() -> None:
    site = Site({("/s/durov", None): [httpx.Response(429)]})
    with pytest.raises(Deferred, match="kept answering HTTP 429"):
        make_source(site, max_attempts=2).resolve(SPEC)


# ---------------------------------------------------------------------------------------------- walking


def test_polite_delay_between_page_requests(durov_html: str) -> None:
    clock = FakeClock()
    site = split_site(durov_html)
    src = make_source(site, clock, delay=3.0)
    list(
        src.fetch(
            SPEC, DUROV_ID, Cursor(last_post_id=520), FetchWindow(since=None, until=None, rescan_since=None)
        )
    )
    assert site.requests == ["/s/durov", "/s/durov?before=529"]
    assert clock.sleeps == [3.0]


def test_incremental_walk_stops_at_the_cursor_and_yields_oldest_first(durov_html: str) -> None:
    site = split_site(durov_html)
    batches = list(make_source(site).fetch(SPEC, DUROV_ID, Cursor(last_post_id=524), FetchWindow(since=None, until=None, rescan_since=None)))  # fmt: skip
    assert site.requests == ["/s/durov", "/s/durov?before=529"]  # page 519..528 reaches the cursor: stop
    assert [ids_of(b) for b in batches] == [
        [525, 526, 527, 528],
        [529, 531, 532, 533, 534, 535, 536, 537, 538, 539],
    ]
    assert [b.cursor.last_post_id for b in batches] == [528, 539]
    assert batches[1].cursor.last_posted_at == datetime(2026, 8, 8, 21, 11, 14, tzinfo=timezone.utc)
    assert not any(b.rescan or b.listed for b in batches)
    for b in batches:
        assert all(r.context["channel_id"] == DUROV_ID and r.fetched_at == NOW for r in b.records)


def test_nothing_new_yields_nothing(durov_html: str) -> None:
    site = split_site(durov_html)
    got = list(make_source(site).fetch(SPEC, DUROV_ID, Cursor(last_post_id=539), FetchWindow(since=None, until=None, rescan_since=None)))  # fmt: skip
    assert got == [] and site.requests == ["/s/durov"]


def test_window_mode_keeps_posts_in_the_window(durov_html: str) -> None:
    site = split_site(durov_html)
    since = datetime(2026, 6, 1, tzinfo=timezone.utc)
    until = datetime(2026, 6, 15, 16, 0, tzinfo=timezone.utc)
    batches = list(make_source(site).fetch(SPEC, DUROV_ID, Cursor(last_post_id=539), FetchWindow(since=since, until=until, rescan_since=None)))  # fmt: skip
    assert [i for b in batches for i in ids_of(b)] == [521, 522, 523, 524, 525, 526, 527]
    assert all(b.cursor is None for b in batches)  # a window in the past must not move the cursor
    assert site.requests == ["/s/durov", "/s/durov?before=529"]  # 519 (May 20) is older than since: stop


def test_first_run_reads_back_to_rescan_since_then_rescans(durov_html: str) -> None:
    site = split_site(durov_html)
    batches = list(make_source(site).fetch(SPEC, DUROV_ID, None, FetchWindow(since=None, until=None, rescan_since=datetime(2026, 7, 20, tzinfo=timezone.utc))))  # fmt: skip
    assert site.requests == ["/s/durov"]  # the newest page already reaches back past July 20
    new, rescans = [b for b in batches if not b.rescan], [b for b in batches if b.rescan]
    assert [ids_of(b) for b in new] == [[529, 531, 532, 533, 534, 535, 536, 537, 538, 539]]
    [rescan] = rescans
    assert rescan.listed == Listed(529, 539) and rescan.cursor is None and len(rescan.records) == 10


def test_rescan_pages_list_their_whole_id_range(durov_html: str) -> None:
    site = split_site(durov_html)
    batches = list(make_source(site).fetch(SPEC, DUROV_ID, Cursor(last_post_id=539), FetchWindow(since=None, until=None, rescan_since=datetime(2026, 1, 1, tzinfo=timezone.utc))))  # fmt: skip
    assert all(b.rescan for b in batches)
    # The older page was fetched with ?before=529: it lists every post with id in [519, 528].
    assert [b.listed for b in batches] == [Listed(519, 528), Listed(529, 539)]
    assert site.requests == ["/s/durov", "/s/durov?before=529", "/s/durov?before=519"]


def test_handle_that_changed_hands_is_refused(durov_html: str) -> None:
    site = Site({("/s/durov", None): durov_html})
    with pytest.raises(SourceError, match="changed hands"):
        list(make_source(site).fetch(SPEC, 42, None, FetchWindow(since=None, until=None, rescan_since=None)))


def test_max_pages_notes_the_unread_part(durov_html: str) -> None:
    site = split_site(durov_html)
    batches = list(make_source(site, max_pages=1).fetch(SPEC, DUROV_ID, Cursor(last_post_id=500), FetchWindow(since=None, until=None, rescan_since=None)))  # fmt: skip
    assert [ids_of(b)[0] for b in batches] == [529]
    assert "stopped after 1 pages" in batches[0].notes["backfill_incomplete"]


def test_deferral_mid_walk_keeps_what_was_read_without_moving_the_cursor(durov_html: str) -> None:
    site = split_site(durov_html, **{})
    site.routes[("/s/durov", 529)] = httpx.Response(429, headers={"Retry-After": "3600"})
    gen = make_source(site).fetch(SPEC, DUROV_ID, Cursor(last_post_id=500), FetchWindow(since=None, until=None, rescan_since=None))  # fmt: skip
    first = next(gen)
    assert ids_of(first)[0] == 529 and first.cursor is None
    with pytest.raises(Deferred):
        next(gen)


# ------------------------------------------------------------------------------- pipeline (real database)


def _posts(conn: psycopg.Connection) -> dict[int, tuple]:
    rows = conn.execute(
        "SELECT post_id, channel_id, deleted_at, views, edited_at FROM posts WHERE platform = 'telegram'"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_run_channel_loads_the_real_page_and_a_second_run_changes_nothing(
    conn: psycopg.Connection, durov_html: str
) -> None:
    site = Site(
        {("/s/durov", None): durov_html, ("/s/durov", 519): variant(durov_html, lambda _: False, None)}
    )
    summary = run_channel(conn, SPEC, make_source(site), now=NOW, rescan_hours=24 * 400)
    assert summary.status == "succeeded", summary.error
    assert summary.channel_id == DUROV_ID and summary.stats.inserted == 20
    posts = _posts(conn)
    assert sorted(posts) == [*range(519, 530), *range(531, 540)]
    assert {p[0] for p in posts.values()} == {DUROV_ID}
    assert posts[519][2] == 8_670_000 and all(p[3] is None for p in posts.values())
    assert conn.execute(
        "SELECT handle, title, watched FROM channels WHERE platform = 'telegram' AND channel_id = %s",
        (DUROV_ID,),
    ).fetchone() == ("durov", "Pavel Durov", True)
    cursor, _ = runs.get_cursor(conn, "telegram", DUROV_ID, "telegram_web")
    assert cursor.last_post_id == 539
    assert conn.execute("SELECT count(*) FROM raw_records").fetchone()[0] == 20
    conn.commit()

    before = table_checksums(conn)
    again = run_channel(conn, SPEC, make_source(site), now=NOW, rescan_hours=24 * 400)
    assert again.status == "succeeded", again.error
    assert (again.stats.inserted, again.stats.updated, again.stats.deleted, again.stats.versions) == (
        0,
        0,
        0,
        0,
    )
    assert table_checksums(conn) == before


def test_a_post_missing_from_a_rescan_page_is_marked_deleted(
    conn: psycopg.Connection, durov_html: str
) -> None:
    empty = variant(durov_html, lambda _: False, None)
    first = Site({("/s/durov", None): durov_html, ("/s/durov", 519): empty})
    assert run_channel(conn, SPEC, make_source(first), now=NOW, rescan_hours=24 * 400).status == "succeeded"
    without_533 = Site(
        {("/s/durov", None): variant(durov_html, lambda i: i != 533), ("/s/durov", 519): empty}
    )
    summary = run_channel(conn, SPEC, make_source(without_533), now=NOW, rescan_hours=24 * 400)
    assert summary.status == "succeeded", summary.error
    assert summary.stats.deleted == 1
    posts = _posts(conn)
    assert posts[533][1] is not None
    assert all(p[1] is None for pid, p in posts.items() if pid != 533)
    # Seen again by a later fetch (a wrongly unlisted post): deleted_at is cleared.
    later = make_source(first, now=lambda: datetime.now(timezone.utc))
    run_channel(conn, SPEC, later, now=NOW, rescan_hours=24 * 400)
    assert _posts(conn)[533][1] is None


def test_an_edit_seen_on_a_rescan_adds_a_version(conn: psycopg.Connection, durov_html: str) -> None:
    empty = variant(durov_html, lambda _: False, None)
    site = Site({("/s/durov", None): durov_html, ("/s/durov", 519): empty})
    run_channel(conn, SPEC, make_source(site), now=NOW, rescan_hours=24 * 400)
    old = "</a> finished yesterday in"
    assert durov_html.count(old) == 1
    edited = variant(durov_html, edit=lambda body: body.replace(old, "</a> has finished yesterday in"))
    site2 = Site({("/s/durov", None): edited, ("/s/durov", 519): empty})
    summary = run_channel(conn, SPEC, make_source(site2), now=NOW, rescan_hours=24 * 400)
    assert summary.stats.updated == 1 and summary.stats.versions >= 1
    texts = [r[0] for r in conn.execute(
        "SELECT text FROM post_versions WHERE post_id = 539 ORDER BY observed_at, text"
    )]  # fmt: skip
    assert len(texts) == 2 and any("has finished" in t for t in texts)
    assert _posts(conn)[539][3] is None  # edited_at stays unknown


class CrashAfterFirstBatch:
    """Delegates to the real source, then dies after the first batch (a killed worker)."""

    def __init__(self, inner: TelegramWebSource):
        self.inner, self.name, self.platform = inner, inner.name, inner.platform

    def resolve(self, spec: ChannelSpec) -> tuple[int, str | None, str | None]:
        return self.inner.resolve(spec)

    def fetch(self, *args: object, **kwargs: object) -> Iterator[Batch]:
        gen = self.inner.fetch(*args, **kwargs)
        yield next(gen)
        raise RuntimeError("worker killed")


def test_the_cursor_advances_only_with_committed_rows(conn: psycopg.Connection, durov_html: str) -> None:
    site = split_site(durov_html)
    summary = run_channel(conn, SPEC, CrashAfterFirstBatch(make_source(site)), now=NOW, rescan_hours=24 * 400)
    assert summary.status == "failed" and "worker killed" in summary.error
    assert sorted(_posts(conn)) == list(range(519, 529))
    cursor, _ = runs.get_cursor(conn, "telegram", DUROV_ID, "telegram_web")
    assert cursor.last_post_id == 528
    # The next run picks up after 528 and the channel ends complete.
    summary = run_channel(conn, SPEC, make_source(split_site(durov_html)), now=NOW, rescan_hours=24 * 400)
    assert summary.status == "succeeded" and summary.stats.inserted == 10
    assert runs.get_cursor(conn, "telegram", DUROV_ID, "telegram_web")[0].last_post_id == 539


def test_a_long_retry_after_defers_the_channel(conn: psycopg.Connection, durov_html: str) -> None:
    site = split_site(durov_html)
    site.routes[("/s/durov", 529)] = httpx.Response(429, headers={"Retry-After": "3600"})
    summary = run_channel(conn, SPEC, make_source(site), now=NOW, rescan_hours=24 * 400)
    assert summary.status == "deferred" and summary.deferred_until == NOW + timedelta(hours=1)
    assert sorted(_posts(conn)) == [529, 531, 532, 533, 534, 535, 536, 537, 538, 539]  # kept, not lost
    cursor, deferred_until = runs.get_cursor(conn, "telegram", DUROV_ID, "telegram_web")
    assert cursor.last_post_id is None and deferred_until == NOW + timedelta(hours=1)
    status = conn.execute("SELECT status FROM ingest_runs WHERE run_id = %s", (summary.run_id,)).fetchone()[0]
    assert status == "deferred"
    # Until the deferral passes the channel is skipped without a request.
    quiet = Site({})
    skipped = run_channel(conn, SPEC, make_source(quiet), now=NOW + timedelta(minutes=5))
    assert skipped.status == "deferred" and quiet.requests == []


def test_no_public_preview_fails_the_run_with_the_reason(conn: psycopg.Connection) -> None:
    site = Site({("/s/durov", None): httpx.Response(302, headers={"Location": "https://t.me/durov"})})
    summary = run_channel(conn, SPEC, make_source(site), now=NOW)
    assert summary.status == "failed" and "no public web preview" in summary.error
    assert (
        conn.execute("SELECT error FROM ingest_runs WHERE run_id = %s", (summary.run_id,)).fetchone()[0]
        == summary.error
    )


# ------------------------------------------------------------------------------------------ file imports


def test_import_saved_page_and_landing_page(
    conn: psycopg.Connection, durov_path: Path, landing_path: Path, tmp_path: Path
) -> None:
    [summary] = import_files(conn, [durov_path], "telegram-web")
    assert summary.error is None and summary.stats.inserted == 20 and summary.stats.rejected == 0
    assert {p[0] for p in _posts(conn).values()} == {DUROV_ID}
    assert len(_posts(conn)) == 20

    [landing] = import_files(conn, [landing_path], "telegram-web")
    assert landing.error is None and landing.stats.rejected == 1 and landing.stats.inserted == 0
    reason, source, origin = conn.execute("SELECT reason, source, origin FROM rejected_records").fetchone()
    assert reason.startswith("t.me landing page of @durov") and source == "telegram_web"
    assert origin == str(landing_path)

    other = tmp_path / "notes.html"
    other.write_text("<html><head><title>Notes</title></head><body>hi</body></html>", encoding="utf-8")
    [auto] = import_files(conn, [other], "auto")
    assert auto.format == "telegram-web" and auto.stats.rejected == 1
    assert (
        conn.execute(
            "SELECT count(*) FROM rejected_records WHERE reason LIKE 'not a t.me/s channel page%%'"
        ).fetchone()[0]
        == 1
    )

    [again] = import_files(conn, [durov_path], "telegram-web")
    assert again.stats.inserted == 0 and again.stats.unchanged == 20


def test_saved_page_records_are_raw_records(durov_path: Path) -> None:
    rec = next(read_saved_page(durov_path))
    assert isinstance(rec, RawRecord) and rec.fetched_at is None
    assert isinstance(parse_page(durov_path.read_text(encoding="utf-8")), PageResult)


def test_a_page_with_an_unreadable_widget_claims_no_complete_listing(
    conn: psycopg.Connection, durov_html: str
) -> None:
    """If t.me changed its markup, unreadable widgets must not make their stored posts look deleted."""
    empty = variant(durov_html, lambda _: False, None)
    first = Site({("/s/durov", None): durov_html, ("/s/durov", 519): empty})
    run_channel(conn, SPEC, make_source(first), now=NOW, rescan_hours=24 * 400)
    assert durov_html.count(">4.1M<") == 1  # the views of post 535
    broken = variant(durov_html, lambda i: i != 533, edit=lambda body: body.replace(">4.1M<", ">lots<"))
    site = Site({("/s/durov", None): broken, ("/s/durov", 519): empty})
    batches = list(make_source(site).fetch(SPEC, DUROV_ID, Cursor(last_post_id=539), FetchWindow(since=None, until=None, rescan_since=NOW - timedelta(days=400))))  # fmt: skip
    [rescan] = batches
    assert rescan.listed is None and "1 widget(s) unreadable" in rescan.notes["rescan_unlisted"]
    summary = run_channel(conn, SPEC, make_source(site), now=NOW, rescan_hours=24 * 400)
    assert summary.status == "succeeded" and summary.stats.deleted == 0 and summary.stats.rejected == 1
    assert all(p[1] is None for p in _posts(conn).values())
    reason = conn.execute("SELECT reason FROM rejected_records").fetchone()[0]
    assert reason == "views: not a count like 954, 1.2K or 8.67M: 'lots'"


def test_a_server_that_does_not_advance_is_walked_once_not_max_pages(durov_html: str) -> None:
    """?before=529 answered with the newest page again (posts 529..539, cursor 529): the walk stops at once."""
    site = split_site(durov_html)
    site.routes[("/s/durov", 529)] = variant(durov_html, lambda i: i >= 529, before=529)
    batches = list(make_source(site).fetch(SPEC, DUROV_ID, Cursor(last_post_id=500), FetchWindow(since=None, until=None, rescan_since=None)))  # fmt: skip
    assert len(site.requests) == 2
    assert any("lists no older post" in b.notes.get("no_progress", "") for b in batches)
    ids = [i for b in batches for i in ids_of(b)]
    assert ids and len(ids) == len(set(ids)) and min(ids) == 529  # the newest page once, the repeat dropped


def test_the_base_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREWATCH_TELEGRAM_WEB_BASE_URL", "https://mirror.example/tg/")
    src = TelegramWebSource.from_env()
    try:
        assert src.page_url("durov", 10) == "https://mirror.example/tg/s/durov?before=10"
    finally:
        src.close()
