"""`XSource`: one X account's timeline through `tweepy.Client` (see `ingest.sources.x` for how the cursor stays
behind committed data)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
import tweepy
from requests.adapters import HTTPAdapter

from ingest.models import ChannelSpec, Cursor, FetchWindow, RawRecord, positive_id
from ingest.normalize.x import snowflake_time
from ingest.sources.base import Batch, Batches, Deferred, SourceError
from ingest.sources.x.credentials import REDACT, bearer_token_from_env
from ingest.sources.x.timeline import (
    Walk,
    author_tweet_count,
    billed_reads,
    data_ids,
    end_time,
    iso,
    max_none,
    parse_iso,
)

log = logging.getLogger(__name__)

LIVE_SOURCE = "x_api"

#: X user timelines return only the 3,200 most recent posts, whatever since_id/start_time asks for.
TIMELINE_CAP = 3200
#: The timeline's earliest allowed start_time.
MIN_START_TIME = datetime(2010, 11, 6, tzinfo=timezone.utc)
PAGE_SIZE = 100
WALK_KEY = "x_walk"
RESCAN_KEY = "x_rescan_at"
#: Wait out a 429 when its window resets within this many seconds; defer the channel otherwise.
DEFAULT_MAX_WAIT = 60.0
#: Without an x-rate-limit-reset header, assume X's 15-minute window.
DEFAULT_DEFER = timedelta(minutes=15)
#: Re-read recent posts for counts and edits at most this often per channel (each rescan is billed per post).
DEFAULT_RESCAN_INTERVAL_HOURS = 6.0
DEFAULT_FIRST_RUN_HOURS = 48.0
SERVER_RETRIES = 3
REQUEST_TIMEOUT = 30.0

TWEET_FIELDS = [
    "created_at", "author_id", "lang", "public_metrics", "entities", "referenced_tweets", "conversation_id",
    "edit_history_tweet_ids", "attachments", "in_reply_to_user_id", "withheld", "note_tweet",
]  # fmt: skip
EXPANSIONS = ["author_id", "referenced_tweets.id", "attachments.media_keys", "referenced_tweets.id.author_id"]
MEDIA_FIELDS = ["type", "url", "preview_image_url", "alt_text", "width", "height", "duration_ms", "variants"]
USER_FIELDS = ["username", "name", "public_metrics", "withheld"]


class _TimeoutAdapter(HTTPAdapter):
    """tweepy sends requests without a timeout; a hung connection must not hang the run."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def send(self, request, **kwargs):  # noqa: ANN001 - requests' signature
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class XSource:
    """One X account's timeline through `tweepy.Client` (bearer token, app-only auth).

    Costs: X bills per post read; every page's data + includes.tweets count goes to `Batch.api_reads` (and so
    to ingest_runs.api_reads). Budget knobs (constructor or the channel's options in channels.toml):
    `max_pages` per walk, `first_run_hours` (how far back a channel's first run reads), `rescan_interval_hours`
    (how often recent posts are re-read for counts and edits; 0 disables rescans).
    """

    name = LIVE_SOURCE
    platform = "x"

    def __init__(
        self,
        bearer_token: str,
        *,
        max_wait: float = DEFAULT_MAX_WAIT,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] | None = None,
        max_pages: int | None = None,
        page_size: int = PAGE_SIZE,
        first_run_hours: float = DEFAULT_FIRST_RUN_HOURS,
        rescan_interval_hours: float = DEFAULT_RESCAN_INTERVAL_HOURS,
        timeout: float = REQUEST_TIMEOUT,
    ):
        if not bearer_token:
            raise SourceError("X bearer token is empty")
        REDACT.tokens.add(bearer_token)
        self.client = tweepy.Client(bearer_token=bearer_token, return_type=dict, wait_on_rate_limit=False)
        adapter = _TimeoutAdapter(timeout)
        self.client.session.mount("https://", adapter)
        self.max_wait = max_wait
        self.sleep = sleep
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.max_pages = max_pages
        self.page_size = page_size
        self.first_run_hours = first_run_hours
        self.rescan_interval_hours = rescan_interval_hours

    def __repr__(self) -> str:  # never show the token
        return f"XSource(max_pages={self.max_pages}, max_wait={self.max_wait})"

    @classmethod
    def from_env(cls, account: str = "default", **kwargs: Any) -> XSource:
        token = bearer_token_from_env(account)
        if not token:
            suffix = re.sub(r"[^A-Za-z0-9]", "_", account).upper()
            var = "X_BEARER_TOKEN" if account == "default" else f"X_{suffix}_BEARER_TOKEN"
            raise SourceError(
                f"no X bearer token for account {account!r}: set {var} or AIRFLOW_CONN_X_{suffix}"
            )
        return cls(token, **kwargs)

    # -------------------------------------------------------------------------------------------- calls

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One API call: wait out a short 429, defer on a long one, retry 5xx and network errors a few times,
        and turn refusals (401/403/404/other 4xx) into SourceError."""
        waits = failures = 0
        while True:
            try:
                return fn(*args, **kwargs)
            except tweepy.TooManyRequests as exc:
                now = self.now()
                reset = self._reset_time(exc)
                if reset is None:
                    raise Deferred(
                        now + DEFAULT_DEFER, "X rate limit (429) without x-rate-limit-reset"
                    ) from None
                wait = (reset - now).total_seconds()
                if wait <= self.max_wait and waits < 3:
                    waits += 1
                    log.info("X rate limit: waiting %.0f s for the window to reset", max(wait, 0) + 1)
                    self.sleep(max(wait, 0.0) + 1.0)
                    continue
                raise Deferred(reset, f"X rate limit (429): window resets at {reset.isoformat()}") from None
            except (tweepy.TwitterServerError, requests.ConnectionError, requests.Timeout) as exc:
                failures += 1
                if failures >= SERVER_RETRIES:
                    raise SourceError(f"X API unavailable after {failures} tries: {_describe(exc)}") from None
                self.sleep(2.0**failures)
            except tweepy.HTTPException as exc:
                raise SourceError(f"X API refused the request: {_describe(exc)}") from None

    @staticmethod
    def _reset_time(exc: tweepy.TooManyRequests) -> datetime | None:
        reset = getattr(exc, "reset_time", None)
        if reset is None:
            try:
                reset = int(exc.response.headers.get("x-rate-limit-reset"))
            except (AttributeError, TypeError, ValueError):
                return None
        return datetime.fromtimestamp(int(reset), tz=timezone.utc)

    def _timeline(self, user_id: int, *, pagination_token: str | None = None, **params: Any) -> Any:
        return self._call(
            self.client.get_users_tweets, user_id, pagination_token=pagination_token,
            max_results=params.pop("max_results", self.page_size), tweet_fields=TWEET_FIELDS,
            expansions=EXPANSIONS, media_fields=MEDIA_FIELDS, user_fields=USER_FIELDS,
            poll_fields=["options", "voting_status", "end_datetime"],
            **{k: v for k, v in params.items() if v is not None},
        )  # fmt: skip

    # ---------------------------------------------------------------------------------------- protocol

    def resolve(self, spec: ChannelSpec) -> tuple[int, str | None, str | None]:
        """Handle -> (user id, username, name), one users/by/username call."""
        resp = self._call(
            self.client.get_user, username=spec.handle.lstrip("@"), user_fields=["username", "name"]
        )
        data = resp.get("data") if isinstance(resp, dict) else None
        if not isinstance(data, dict) or data.get("id") is None:
            errors = resp.get("errors") if isinstance(resp, dict) else None
            detail = "; ".join(
                str(e.get("detail") or e.get("title")) for e in errors or () if isinstance(e, dict)
            )
            raise SourceError(f"X account @{spec.handle} not found: {detail or 'no data in the response'}")
        try:
            user_id = positive_id(data["id"], "user id")
        except ValueError as exc:
            raise SourceError(f"X account @{spec.handle}: {exc}") from None
        return user_id, data.get("username"), data.get("name")

    def fetch(
        self, spec: ChannelSpec, channel_id: int, cursor: Cursor | None, window: FetchWindow
    ) -> Batches:
        """New posts since the cursor (or the window [since, until)), oldest page first, then a rescan."""
        since, until, rescan_since = window.since, window.until, window.rescan_since
        opts = spec.options or {}
        max_pages = opts.get("max_pages", self.max_pages)
        ctx = {"author_id": str(channel_id), "handle": spec.handle}
        state = dict(cursor.state) if cursor else {}
        read_ids: list[int] = []
        if since is None and until is None:
            complete, covered_from = yield from self._incremental(
                channel_id, cursor, state, ctx, max_pages, opts, read_ids
            )
        else:
            complete = yield from self._window(channel_id, since, until, ctx, max_pages, read_ids)
            # The window read every post from `since` on; without a start it read all the timeline holds.
            covered_from = since if since is not None else MIN_START_TIME
        if complete:  # a walk that stopped early spends nothing more this run
            yield from self._rescan(channel_id, state, ctx, opts, rescan_since, covered_from, read_ids)

    # ---------------------------------------------------------------------------------------- walking

    def _walk(self, user_id: int, ctx: dict, max_pages: int | None, **params: Any) -> Walk:
        """All pages of one timeline query, newest first; stops (incomplete) on an error or the page budget."""
        walk = Walk()
        token: str | None = None
        while True:
            if max_pages is not None and len(walk.pages) >= max_pages:
                return walk
            try:
                page = self._timeline(user_id, pagination_token=token, **params)
            except Exception as exc:  # noqa: BLE001 - the pages already read are paid for: keep them
                walk.error = exc
                return walk
            origin = f"x_api:/2/users/{user_id}/tweets" + (f"?pagination_token={token}" if token else "")
            walk.pages.append(RawRecord(LIVE_SOURCE, page, origin, self.now(), context=ctx))
            meta = page.get("meta") if isinstance(page, dict) else None
            token = meta.get("next_token") if isinstance(meta, dict) else None
            if not token:
                walk.complete = True
                return walk

    def _oldest_first(
        self, walk: Walk, final: Cursor | None, notes: dict | None = None, *, advance: bool = True
    ) -> Iterator[Batch]:
        """A complete walk as batches, oldest page first, each advancing the cursor (unless `advance` is off) to
        the newest id it holds."""
        pages = list(reversed(walk.pages))
        for i, page in enumerate(pages):
            ids = data_ids(page.payload) if advance else []
            cursor = Cursor(last_post_id=max(ids), last_posted_at=snowflake_time(max(ids))) if ids else None
            last = i == len(pages) - 1
            if last and final is not None:
                cursor = final
            yield Batch(
                [page],
                cursor=cursor,
                api_reads=billed_reads(page.payload),
                notes=(notes or {}) if last else {},
            )

    def _incremental(
        self,
        user_id: int,
        cursor: Cursor | None,
        state: dict,
        ctx: dict,
        max_pages: int | None,
        opts: dict,
        read_ids: list[int],
    ) -> Iterator[Batch]:
        """Everything newer than the cursor (finishing an interrupted walk first). Returns (complete, covered_from):
        whether every walk reached its end, and for a first run the time from which it read every post."""
        committed = cursor.last_post_id if cursor else None
        covered_from: datetime | None = None
        pending = state.get(WALK_KEY)
        while True:
            if pending:
                since_id = max_none(pending.get("since_id"), committed)
                start_time = parse_iso(pending.get("start_time"))
                until_id, newest = pending.get("until_id"), pending.get("newest_id")
            else:
                since_id, until_id, newest, start_time = committed, None, None, None
                if since_id is None:  # first run: a bounded look back, not 3,200 billed posts
                    hours = float(opts.get("first_run_hours", self.first_run_hours))
                    start_time = max(self.now() - timedelta(hours=hours), MIN_START_TIME)
            walk = self._walk(
                user_id, ctx, max_pages, since_id=since_id, until_id=until_id, start_time=start_time
            )
            ids = walk.ids()
            read_ids.extend(ids)
            newest_all = max_none(newest, *ids)
            if not walk.complete:
                yield from self._interrupted(walk, ids, pending, since_id, start_time, newest_all, max_pages)
                return False, None
            if since_id is None and start_time is not None:
                covered_from = start_time if covered_from is None else min(covered_from, start_time)
            notes = {}
            if len(ids) >= TIMELINE_CAP:
                notes["backfill_incomplete"] = (
                    f"{len(ids)} posts since the cursor: X timelines return only the {TIMELINE_CAP} most recent, "
                    "so older posts since the last run are out of reach"
                )
            final = None
            if newest_all is not None and newest_all != committed:
                final = Cursor(last_post_id=newest_all, last_posted_at=snowflake_time(newest_all),
                               state={WALK_KEY: None} if pending else {})  # fmt: skip
            elif pending:
                final = Cursor(state={WALK_KEY: None})
            yield from self._oldest_first(walk, final, notes)
            if not pending:
                return True, covered_from
            committed, pending = newest_all, None  # the gap is closed: now read what is new since then

    def _interrupted(
        self,
        walk: Walk,
        ids: list[int],
        pending: dict | None,
        since_id: int | None,
        start_time: datetime | None,
        newest_all: int | None,
        max_pages: int | None,
    ) -> Iterator[Batch]:
        """Commit the pages of a cut-short walk without moving last_post_id; remember the gap in the state."""
        if walk.pages:
            resume = pending
            if ids:
                resume = {"since_id": since_id, "start_time": iso(start_time), "until_id": min(ids),
                          "newest_id": newest_all}  # fmt: skip
            why = (
                f"{type(walk.error).__name__}: {walk.error}"
                if walk.error
                else f"max_pages={max_pages} reached"
            )
            yield Batch(
                walk.pages, cursor=Cursor(state={WALK_KEY: resume}) if resume else None,
                api_reads=walk.reads(), notes={"x_walk_incomplete": why[:300]},
            )  # fmt: skip
        if walk.error is not None:
            raise walk.error

    def _window(
        self,
        user_id: int,
        since: datetime | None,
        until: datetime | None,
        ctx: dict,
        max_pages: int | None,
        read_ids: list[int],
    ) -> Iterator[Batch]:
        """The posts published in [since, until). A window never moves the cursor: a backfill of an older or
        later range must not let the incremental cursor skip what lies between."""
        start = max(since, MIN_START_TIME) if since else None
        end = end_time(until) if until else None
        walk = self._walk(user_id, ctx, max_pages, start_time=start, end_time=end)
        ids = walk.ids()
        read_ids.extend(ids)
        if not walk.complete:
            if walk.pages:
                why = f"{type(walk.error).__name__}: {walk.error}" if walk.error else f"max_pages={max_pages}"
                yield Batch(
                    walk.pages,
                    api_reads=walk.reads(),
                    notes={"backfill_incomplete": f"walk stopped: {why}"[:300]},
                )
            if walk.error is not None:
                raise walk.error
            return False
        yield from self._oldest_first(walk, None, advance=False)
        if since is not None:
            note, probe_reads = self._reach_check(user_id, since, until, walk, ids)
            if note or probe_reads:
                yield Batch([], api_reads=probe_reads, notes=note)
        return True

    def _reach_check(
        self, user_id: int, since: datetime, until: datetime | None, walk: Walk, ids: list[int]
    ) -> tuple[dict, int]:
        """Does the timeline reach back to `since`? It serves only the 3,200 most recent posts, silently. When
        the account may have more than that and nothing older than the window's oldest post came back, one
        5-post probe just before that post answers it: posts there mean the window is complete."""
        tweet_count = author_tweet_count(walk.pages, user_id)
        if tweet_count is not None and tweet_count <= TIMELINE_CAP:
            return {}, 0
        oldest = snowflake_time(min(ids)) if ids else None
        edge = oldest or until
        if edge is None or edge <= since:
            return {}, 0
        probe = self._timeline(user_id, max_results=5, end_time=end_time(edge))
        if data_ids(probe):
            return {}, billed_reads(probe)
        return {
            "backfill_incomplete": {
                "reason": f"X user timelines return only the {TIMELINE_CAP} most recent posts; "
                          "nothing older than the oldest post returned is reachable",
                "window_start": since.isoformat(),
                "oldest_reached": iso(oldest),
                "tweet_count": tweet_count,
            }
        }, billed_reads(probe)  # fmt: skip

    def _rescan(
        self,
        user_id: int,
        state: dict,
        ctx: dict,
        opts: dict,
        rescan_since: datetime | None,
        covered_from: datetime | None,
        read_ids: list[int],
    ) -> Iterator[Batch]:
        """Re-read posts from `rescan_since` for changed counts and edits. A timeline page is not a complete id
        range, so no Listed: deletions are not inferred. What this run just read is skipped (`covered_from`: it
        read every post from then on; `read_ids`: the new posts), and a channel is rescanned at most every
        `rescan_interval_hours`, since every re-read post is billed."""
        if rescan_since is None:
            return
        interval = float(opts.get("rescan_interval_hours", self.rescan_interval_hours))
        if interval <= 0:
            return
        now = self.now()
        last = parse_iso(state.get(RESCAN_KEY))
        if last is not None and now - last < timedelta(hours=interval):
            return
        params: dict[str, Any] = {"start_time": max(rescan_since, MIN_START_TIME)}
        if covered_from is not None:
            if covered_from - rescan_since < timedelta(minutes=1):
                return  # this run already read the whole rescan range
            params["end_time"] = end_time(covered_from)
        if read_ids:
            params["until_id"] = min(read_ids)
        walk = self._walk(user_id, ctx, opts.get("max_pages", self.max_pages), **params)
        done = Cursor(state={RESCAN_KEY: now.isoformat()})
        for i, page in enumerate(walk.pages):
            last_page = i == len(walk.pages) - 1
            notes = {}
            if last_page and not walk.complete:
                notes["rescan_incomplete"] = (f"{type(walk.error).__name__}: {walk.error}" if walk.error
                                              else "max_pages reached")[:300]  # fmt: skip
            yield Batch(
                [page], cursor=done if last_page and walk.complete else None, api_reads=billed_reads(page.payload),
                rescan=True, notes=notes,
            )  # fmt: skip
        if walk.error is not None:
            raise walk.error


def _describe(exc: Exception) -> str:
    """An API error for logs and run records: status and X's messages, never request headers."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    messages = getattr(exc, "api_messages", None) or [str(exc)]
    return (f"HTTP {status}: " if status else "") + "; ".join(str(m) for m in messages)[:300]
