"""`TelegramWebSource`: the live source over HTTP, newest page to older, politely paced and retried."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from ingest.models import ChannelSpec, Cursor, FetchWindow, Post, RawRecord
from ingest.normalize.telegram_web import (
    normalize_widget,
    widget_post_id,
    widget_posted_at,
)
from ingest.sources.base import Batch, Batches, Deferred, Listed, SourceError
from ingest.sources.telegram_web.page import SOURCE, PageResult, parse_page

log = logging.getLogger(__name__)

BASE_URL = "https://t.me"
DEFAULT_USER_AGENT = "wirewatch/0.1 (+t.me/s public preview reader; one request every few seconds)"


def _normalises(record: RawRecord) -> bool:
    return all(isinstance(item, Post) for item in normalize_widget(record))


class _Transient(Exception):
    """A response worth retrying (429, 5xx, network error)."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class TelegramWebError(SourceError):
    """t.me kept failing (5xx, network) after every retry, or answered something that is not a preview."""


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r} must not be negative")
    return value


def _advances(page: PageResult, fetched_before: int | None) -> bool:
    """Whether a page fetched with ?before=B moved the walk: it lists a post older than B and its own cursor,
    if any, is below B."""
    if fetched_before is None:
        return True
    ids = page.post_ids
    if not ids:
        return (
            page.before is None
        )  # an empty page ends the walk; an empty page that points on does not advance
    return ids[0] < fetched_before and (page.before is None or page.before < fetched_before)


@dataclass(frozen=True)
class _Walk:
    """What one fetch reads: which widgets are new, when the walk back through older pages may stop, and whether
    the cursor may advance."""

    window: FetchWindow
    last_id: int | None  # the cursor's post id (incremental runs only)
    advance: bool

    @classmethod
    def of(cls, cursor: Cursor | None, window: FetchWindow) -> _Walk:
        since, until = window.since, window.until
        last_id = cursor.last_post_id if cursor is not None and not window.windowed else None
        if window.windowed:
            # A window advances the cursor only when it reaches the present and starts at or before the cursor:
            # otherwise posts between the cursor and the window would be skipped for good.
            known = cursor.last_posted_at if cursor is not None else None
            advance = until is None and (
                cursor is None or since is None or (known is not None and since <= known)
            )
        else:
            advance = True
        return cls(window, last_id, advance)

    @property
    def since(self) -> datetime | None:
        return self.window.since

    @property
    def until(self) -> datetime | None:
        return self.window.until

    @property
    def rescan_since(self) -> datetime | None:
        return self.window.rescan_since

    @property
    def windowed(self) -> bool:
        return self.window.windowed

    def keep(self, rec: RawRecord) -> bool:
        pid, at = widget_post_id(rec.payload), widget_posted_at(rec.payload)
        if pid is None or at is None:
            return True  # malformed: let the normaliser reject it with the reason
        if self.windowed:
            return (self.since is None or at >= self.since) and (self.until is None or at < self.until)
        return self.last_id is None or pid > self.last_id

    def done(self, page: PageResult) -> bool:
        if not page.records or page.before is None:
            return True  # the channel's first post
        times, ids = page.times, page.post_ids
        if self.windowed:
            return self.since is not None and bool(times) and times[0] < self.since
        if self.last_id is not None:
            return bool(ids) and ids[0] <= self.last_id
        return self.rescan_since is None or (bool(times) and times[0] < self.rescan_since)


class TelegramWebSource:
    """LiveSource over https://t.me/s/<handle>: no credentials, public channels with a web preview only."""

    name = SOURCE
    platform = "telegram"

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        base_url: str = BASE_URL,
        delay: float = 2.0,
        timeout: float = 20.0,
        user_agent: str = DEFAULT_USER_AGENT,
        max_attempts: int = 5,
        backoff_base: float = 2.0,
        backoff_max: float = 60.0,
        max_retry_wait: float = 120.0,
        max_pages: int = 200,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._owns_client = client is None
        self.client = client or httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)
        self.base_url = base_url.rstrip("/")
        self.delay = delay
        self.user_agent = user_agent
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_wait = max_retry_wait
        self.max_pages = max(1, max_pages)
        self._sleep = sleep
        self._monotonic = monotonic
        self._now = now
        self._last_request: float | None = None
        self.requests = 0  # HTTP requests sent, retries included

    @classmethod
    def from_env(cls, **overrides: Any) -> TelegramWebSource:
        """Settings from the environment: WIREWATCH_WEB_DELAY (seconds between requests, default 2),
        WIREWATCH_WEB_TIMEOUT (default 20), WIREWATCH_WEB_USER_AGENT, WIREWATCH_WEB_MAX_PAGES (default 200),
        WIREWATCH_WEB_MAX_RETRY_WAIT (longest Retry-After slept through before deferring, default 120),
        WIREWATCH_TELEGRAM_WEB_BASE_URL (a proxy or mirror of https://t.me)."""
        settings: dict[str, Any] = {
            "delay": _env_float("WIREWATCH_WEB_DELAY", 2.0),
            "timeout": _env_float("WIREWATCH_WEB_TIMEOUT", 20.0),
            "max_retry_wait": _env_float("WIREWATCH_WEB_MAX_RETRY_WAIT", 120.0),
            "max_pages": int(_env_float("WIREWATCH_WEB_MAX_PAGES", 200)),
        }
        base = os.environ.get("WIREWATCH_TELEGRAM_WEB_BASE_URL", "").strip()
        if base:
            settings["base_url"] = base.rstrip("/")
        ua = os.environ.get("WIREWATCH_WEB_USER_AGENT")
        if ua and ua.strip():
            settings["user_agent"] = ua.strip()
        settings.update(overrides)
        return cls(**settings)

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> TelegramWebSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP

    def _pause(self) -> None:
        """Keep at least `delay` seconds between two requests to t.me."""
        if self._last_request is not None and self.delay > 0:
            wait = self.delay - (self._monotonic() - self._last_request)
            if wait > 0:
                self._sleep(wait)

    def _backoff(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return exc.retry_after
        return min(self.backoff_max, self.backoff_base * 2 ** (state.attempt_number - 1))

    def _retry_after(self, resp: httpx.Response) -> float | None:
        raw = resp.headers.get("Retry-After")
        if not raw:
            return None
        raw = raw.strip()
        if raw.isdigit():
            return float(raw)
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - self._now()).total_seconds())

    def _get_once(self, url: str) -> httpx.Response:
        self._pause()
        self.requests += 1
        try:
            resp = self.client.get(
                url,
                headers={"User-Agent": self.user_agent, "Accept-Language": "en", "Accept": "text/html"},
                follow_redirects=False,
            )
        except httpx.TransportError as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        finally:
            self._last_request = self._monotonic()
        if resp.status_code == 429 or resp.status_code >= 500:
            wait = self._retry_after(resp)
            if wait is not None and wait > self.max_retry_wait:
                raise Deferred(
                    self._now() + timedelta(seconds=wait),
                    f"t.me answered HTTP {resp.status_code} with Retry-After {int(wait)} s for {url}",
                )
            raise _Transient(f"HTTP {resp.status_code}", resp.status_code, wait)
        return resp

    def get(self, url: str) -> httpx.Response:
        """GET with the polite delay and bounded retries on 429/5xx/network errors (exponential backoff,
        Retry-After honoured). A 429 that outlasts the retries defers the channel; a 5xx fails it."""
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self.max_attempts),
                wait=self._backoff,
                retry=retry_if_exception_type(_Transient),
                sleep=self._sleep,
                reraise=True,
                before_sleep=lambda s: log.info(
                    "t.me retry %d for %s: %s",
                    s.attempt_number,
                    url,
                    s.outcome.exception() if s.outcome else None,
                ),  # fmt: skip
            ):
                with attempt:
                    return self._get_once(url)
        except _Transient as exc:
            if exc.status == 429:
                wait = exc.retry_after if exc.retry_after is not None else self.backoff_max
                raise Deferred(
                    self._now() + timedelta(seconds=wait),
                    f"t.me kept answering HTTP 429 (too many requests) for {url} after {self.max_attempts} attempts",
                ) from exc
            raise TelegramWebError(f"{url}: {exc} after {self.max_attempts} attempts") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def page_url(self, handle: str, before: int | None = None) -> str:
        url = f"{self.base_url}/s/{handle}"
        return f"{url}?before={before}" if before is not None else url

    def fetch_page(self, handle: str, before: int | None = None, channel_id: int | None = None) -> PageResult:
        """One t.me/s page. A redirect away from /s/ (no public preview), a landing page, a 4xx -> SourceError."""
        handle = handle.lstrip("@")
        url = self.page_url(handle, before)
        for _ in range(4):
            resp = self.get(url)
            if resp.is_redirect:
                target = urljoin(url, resp.headers.get("Location", ""))
                if urlsplit(target).path.startswith("/s/"):
                    url = target  # canonical spelling of the same preview
                    continue
                raise SourceError(
                    f"https://t.me/s/{handle} redirects to {target}: @{handle} has no public web preview "
                    "(private, restricted or not a channel); read it with the telethon source"
                )
            break
        else:
            raise TelegramWebError(f"https://t.me/s/{handle}: too many redirects")
        if resp.status_code == 404:
            raise SourceError(f"https://t.me/s/{handle}: not found (404): no channel @{handle}")
        if resp.status_code >= 400:
            raise SourceError(f"https://t.me/s/{handle}: HTTP {resp.status_code}")
        page = parse_page(resp.text, url=url, fetched_at=self._now(), channel_id=channel_id)
        if page.kind != "channel":
            raise SourceError(f"{url}: {page.problem}")
        if channel_id is not None and page.channel_id is not None and page.channel_id != channel_id:
            raise SourceError(
                f"{url} now shows channel {page.channel_id}, not {channel_id}: the handle @{handle} changed "
                "hands; resolve the channel again"
            )
        return page

    # -- LiveSource

    def resolve(self, spec: ChannelSpec) -> tuple[int, str | None, str | None]:
        """Fetch t.me/s/<handle> once and read the numeric id from the widgets' data-view."""
        page = self.fetch_page(spec.handle)
        if page.channel_id is None:
            raise SourceError(
                f"https://t.me/s/{spec.handle.lstrip('@')} shows no post with a readable data-view, so its numeric "
                "id is unknown; set channel_id in seeds/channels.toml"
            )
        return page.channel_id, (page.handle or spec.handle).lower(), page.title

    def fetch(
        self, spec: ChannelSpec, channel_id: int, cursor: Cursor | None, window: FetchWindow
    ) -> Batches:
        """Walk newest -> older pages until the cursor (incremental), past `since` (window), or back to
        `rescan_since` (first run: at least the newest page). Yield new posts oldest first, one batch per page,
        each with the cursor it reaches; then the pages back to `rescan_since` as complete listings."""
        handle = spec.handle.lstrip("@")
        walk = _Walk.of(cursor, window)
        rescan_since = window.rescan_since
        pages: list[tuple[PageResult, int | None]] = []  # (page, the ?before= it was fetched with)
        notes: dict[str, Any] = {}
        try:
            self._walk_back(handle, channel_id, walk, pages, notes)
        except (Deferred, SourceError):
            # Keep what was read before the failure, without moving the cursor: the next run reads it again.
            yield from self._new_post_batches(pages, walk.keep, advance=False, notes={})
            raise
        yield from self._new_post_batches(pages, walk.keep, advance=walk.advance, notes=notes)
        if rescan_since is not None:
            yield from self._rescan_batches(handle, channel_id, pages, rescan_since)

    def _walk_back(
        self,
        handle: str,
        channel_id: int,
        walk: _Walk,
        pages: list[tuple[PageResult, int | None]],
        notes: dict[str, Any],
    ) -> None:
        """Fetch pages newest -> older into `pages` until `walk` is done, a page makes no progress or `max_pages`
        is reached (both said in `notes`). Pages read before a failure stay in `pages`."""
        before: int | None = None
        while True:
            page = self.fetch_page(handle, before, channel_id)
            pages.append((page, before))
            if not _advances(page, before):
                # A server (or a proxy) that answers ?before=B with posts no older than B would be walked
                # until max_pages: the request pattern that gets a client blocked. Its page repeats what was
                # read, so it is dropped.
                pages.pop()
                notes["no_progress"] = (
                    f"t.me/s/{handle}: the page before id {before} lists no older post; the walk stopped there"
                )
                return
            if walk.done(page):
                return
            if len(pages) >= self.max_pages:
                oldest = page.post_ids[0] if page.post_ids else page.before
                notes["backfill_incomplete"] = (
                    f"t.me/s/{handle}: stopped after {len(pages)} pages (WIREWATCH_WEB_MAX_PAGES); posts "
                    f"older than id {oldest}"
                    + (f" and newer than id {walk.last_id}" if walk.last_id else "")
                    + " were not read: run a backfill window over them"
                )
                return
            before = page.before

    def _rescan_batches(
        self,
        handle: str,
        channel_id: int,
        pages: list[tuple[PageResult, int | None]],
        rescan_since: datetime,
    ) -> Iterator[Batch]:
        """The pages back to `rescan_since`, oldest first, each a complete listing of its id range (unless a
        widget on it is unreadable); the walk is extended back if it stopped short."""
        while (
            pages
            and pages[-1][0].records
            and pages[-1][0].before is not None
            and pages[-1][0].times
            and pages[-1][0].times[0] >= rescan_since
            and len(pages) < self.max_pages
            and _advances(*pages[-1])
        ):
            before = pages[-1][0].before
            pages.append((self.fetch_page(handle, before, channel_id), before))
        for page, fetched_before in reversed(pages):
            ids, times = page.post_ids, page.times
            if not ids or not times or times[-1] < rescan_since:
                continue
            high = fetched_before - 1 if fetched_before is not None else ids[-1]
            unreadable = [r.origin for r in page.records if not _normalises(r)]
            if unreadable:
                # A widget the normaliser rejects would look deleted: claim no complete listing for this page.
                note = {
                    "rescan_unlisted": f"{page.url}: {len(unreadable)} widget(s) unreadable, e.g. {unreadable[0]}"
                }
                yield Batch(records=list(page.records), rescan=True, notes=note)
                continue
            yield Batch(records=list(page.records), rescan=True, listed=Listed(ids[0], max(high, ids[-1])))

    def _new_post_batches(
        self,
        pages: list[tuple[PageResult, int | None]],
        keep: Callable[[RawRecord], bool],
        *,
        advance: bool,
        notes: dict[str, Any],
    ) -> Iterator[Batch]:
        first = True
        for page, _ in reversed(pages):  # oldest page first; widgets within a page are oldest first
            records = sorted(
                (r for r in page.records if keep(r)),
                key=lambda r: (widget_post_id(r.payload) is None, widget_post_id(r.payload) or 0),
            )
            if not records:
                continue
            reached = None
            dated = [(widget_post_id(r.payload), widget_posted_at(r.payload)) for r in records]
            dated = [(i, t) for i, t in dated if i is not None and t is not None]
            if advance and dated:
                top_id, top_at = max(dated, key=lambda x: x[0])
                reached = Cursor(last_post_id=top_id, last_posted_at=top_at)
            yield Batch(records=records, cursor=reached, notes=notes if first else {})
            first = False
        if first and notes:
            yield Batch(records=[], notes=notes)
