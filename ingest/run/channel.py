"""One pass over one channel (`run_channel`): source -> normalise -> load, every batch committed with its cursor
and the run's counters (a batch that only confirms stored posts is held and committed with the next one that
writes, see `_Held`). `wirewatch ingest`, `wirewatch backfill` and the hourly DAG all come here through
`ingest.run.reconnecting.ingest_channel`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from ingest.config import DEFAULT_RESCAN_HOURS
from ingest.models import ChannelSpec, Cursor, FetchWindow, Normalizer, Post, Rejected
from ingest.normalize.common import album_member_ids
from ingest.run import interrupts
from ingest.run.records import load_batch
from ingest.sources.base import Batch, Deferred, LiveSource, SourceError
from ingest.sources.fingerprint import Fingerprinter
from ingest.warehouse import faults, runs
from ingest.warehouse.channels import record_channel
from ingest.warehouse.db import FINISH_APP, reconnector
from ingest.warehouse.loader import Loader, LoadStats
from ingest.warehouse.queries import find_channel
from ingest.warehouse.runs import finish_after_error

log = logging.getLogger(__name__)


@dataclass
class ChannelSummary:
    platform: str
    handle: str
    source: str
    channel_id: int | None = None
    status: str = "succeeded"
    stats: LoadStats = field(default_factory=LoadStats)
    api_reads: int = 0
    deferred_until: datetime | None = None
    error: str | None = None
    run_id: int | None = None

    def as_dict(self) -> dict:
        return {
            "platform": self.platform, "handle": self.handle, "source": self.source,
            "channel_id": self.channel_id, "status": self.status, **self.stats.as_dict(),
            "api_reads": self.api_reads,
            "deferred_until": self.deferred_until.isoformat() if self.deferred_until else None,
            "error": self.error, "run_id": self.run_id,
        }  # fmt: skip


def resolve_channel(conn: psycopg.Connection, spec: ChannelSpec, source: LiveSource) -> int:
    """The channel's numeric id: configured, else known in `channels` by handle, else resolved once through
    the platform (resolution calls are what get Telegram accounts banned, so they are cached)."""
    if spec.channel_id is not None:
        record_channel(
            conn, spec.platform, spec.channel_id, spec.handle, spec.title, watched=True, source=spec.source,
            configured=True,
        )  # fmt: skip
        conn.commit()
        return spec.channel_id
    known = find_channel(conn, spec.platform, spec.handle)
    if known is not None:
        return known
    channel_id, handle, title = source.resolve(spec)
    record_channel(
        conn, spec.platform, channel_id, handle or spec.handle, title or spec.title, watched=True,
        source=spec.source, resolved=True,
    )  # fmt: skip
    conn.commit()
    return channel_id


def run_channel(
    conn: psycopg.Connection,
    spec: ChannelSpec,
    source: LiveSource,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    rescan_hours: float = DEFAULT_RESCAN_HOURS,
    kind: str = "ingest",
    now: datetime | None = None,
    ignore_deferral: bool = False,
    force: bool = False,
) -> ChannelSummary:
    """One pass over one channel.

    Without a window: everything newer than the committed cursor, then a rescan of the last `rescan_hours`.
    With a window [since, until): the posts published in it, then a rescan that refreshes (edits, deletions,
    counts) posts already stored from the `rescan_hours` before `until`. Every batch that writes commits with its
    cursor; one that only confirms stored posts is held until then (`_Held`). Records whose post is stored from the
    very same bytes are not normalised again (`force`: they are).
    """
    now = now or datetime.now(UTC)
    summary = ChannelSummary(spec.platform, spec.handle, spec.source)
    resolved = _resolve(conn, spec, source, summary, kind, (since, until))
    if isinstance(resolved, ChannelSummary):
        return resolved
    channel_id = summary.channel_id = resolved
    cursor, deferred_until = runs.get_cursor(conn, spec.platform, channel_id, spec.source)
    conn.commit()  # end the read: a skipped channel must not leave a transaction open
    if deferred_until and deferred_until > now and not ignore_deferral:
        summary.status, summary.deferred_until = "deferred", deferred_until
        summary.error = "rate-limited earlier; skipped until the deferral passes"
        return summary
    rescan_since = None
    if rescan_hours and rescan_hours > 0:
        rescan_since = (until or now) - timedelta(hours=rescan_hours)
    window = FetchWindow(since, until, rescan_since)
    # Where to record the run's end if Ctrl-C leaves `conn` mid-COPY (see `runs.finish_after_error`).
    reconnect = reconnector(conn, application_name=FINISH_APP)
    with interrupts.hold() as interrupted:  # from the run's start to the try that ends it
        run_id = runs.start_run(
            conn, kind, spec.source, run_target(spec), (since, until),
            notes={"channel_id": channel_id, "rescan_since": rescan_since.isoformat() if rescan_since else None},
        )  # fmt: skip
        summary.run_id = run_id
        loader = Loader(conn, run_id=run_id)
        fingerprinter = _fingerprinter_for(spec.source)
        if fingerprinter is not None and not force:
            loader.probe_ahead(spec.platform, channel_id)
        held = _Held()
        this = _Pass(conn, loader, spec, channel_id, run_id, summary)
    try:
        interrupted.release()
        for batch in source.fetch(spec, channel_id, cursor, window):
            held = _load_batch(
                this,
                batch,
                held,
                only_existing=window.windowed and batch.rescan,
                fingerprinter=fingerprinter,
                skip=not force,
            )
        held = _confirm(this, held)
    except Deferred as exc:
        _confirm_before_end(this, held)
        return _end_pass(conn, spec, summary, "deferred", exc.reason, kind=kind, run_id=run_id,
                         deferred_until=exc.until, defer_channel=channel_id)  # fmt: skip
    except psycopg.OperationalError as exc:
        finish_after_error(conn, run_id, faults.describe(exc), reconnect=reconnect)
        raise  # the caller decides whether to retry with a new connection
    except Exception as exc:
        log.exception("channel %s:%s failed", spec.platform, spec.handle)
        _confirm_before_end(this, held)
        return _end_pass(
            conn, spec, summary, "failed", f"{type(exc).__name__}: {exc}", kind=kind, run_id=run_id
        )
    except BaseException:
        finish_after_error(conn, run_id, "interrupted", reconnect=reconnect)
        raise
    runs.finish_run(conn, run_id, "succeeded")
    return summary


def _resolve(
    conn: psycopg.Connection,
    spec: ChannelSpec,
    source: LiveSource,
    summary: ChannelSummary,
    kind: str,
    window: tuple[datetime | None, datetime | None],
) -> int | ChannelSummary:
    """The channel's id, or the ended pass when it cannot be told (deferred by a rate limit, or failed)."""
    try:
        return resolve_channel(conn, spec, source)
    except Deferred as exc:
        return _end_pass(conn, spec, summary, "deferred", exc.reason, kind=kind, window=window,
                         deferred_until=exc.until)  # fmt: skip
    except psycopg.OperationalError:
        raise  # the warehouse went away: the caller reconnects
    except Exception as exc:  # SourceError, or a network error the source did not turn into one
        error = str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, SourceError):
            log.exception("channel %s:%s could not be resolved", spec.platform, spec.handle)
        return _end_pass(conn, spec, summary, "failed", error, kind=kind, window=window)


def failed_before_fetch(
    conn: psycopg.Connection,
    spec: ChannelSpec,
    error: str,
    *,
    kind: str = "ingest",
    window: tuple[datetime | None, datetime | None] = (None, None),
) -> ChannelSummary:
    """A pass that could not start because its source could not be set up (no credentials for the account, an
    unusable setting): a failed run that says why, as a pass that fails while resolving its channel gets."""
    summary = ChannelSummary(spec.platform, spec.handle, spec.source)
    return _end_pass(conn, spec, summary, "failed", error, kind=kind, window=window)


def run_target(spec: ChannelSpec) -> str:
    """The `ingest_runs.target` of a channel's runs (backfill's resume check reads it): "platform:handle"."""
    return f"{spec.platform}:{spec.handle}"


def _end_pass(
    conn: psycopg.Connection,
    spec: ChannelSpec,
    summary: ChannelSummary,
    status: str,
    error: str,
    *,
    kind: str,
    window: tuple[datetime | None, datetime | None] = (None, None),
    run_id: int | None = None,
    deferred_until: datetime | None = None,
    defer_channel: int | None = None,
) -> ChannelSummary:
    """End a pass that did not succeed (`status` deferred or failed) and say so in its summary.

    The batch in flight is rolled back; a pass that failed before it had a run record (while resolving the
    channel) gets one now; a channel deferred mid-fetch keeps its cursor, marked deferred. A failed fetch is
    recorded only if the connection still works (see `finish_after_error`)."""
    summary.status, summary.error, summary.deferred_until = status, error, deferred_until
    if run_id is not None and status == "failed":
        finish_after_error(conn, run_id, error)
        return summary
    conn.rollback()
    if run_id is None:
        run_id = runs.start_run(conn, kind, spec.source, run_target(spec), window)
    if defer_channel is not None and deferred_until is not None:
        runs.defer_cursor(conn, spec.platform, defer_channel, spec.source, deferred_until, run_id)
    runs.finish_run(conn, run_id, status, error=error[:2000], deferred_until=deferred_until)
    summary.run_id = run_id
    return summary


@dataclass(frozen=True)
class _Pass:
    """What every batch of one channel pass writes with."""

    conn: psycopg.Connection
    loader: Loader
    spec: ChannelSpec
    channel_id: int
    run_id: int
    summary: ChannelSummary


@dataclass
class _Held:
    """Batches loaded but not yet confirmed: what they say about the channel's stored posts (seen, listed ranges)
    and the run's counters, written with the next batch that loads something, or once `FULL` posts are held, in
    one statement and one commit. A rescan in which nothing changed then costs one key probe per batch instead of
    five round trips; a batch that writes (or moves the cursor) confirms everything held before it commits."""

    FULL = 5_000

    seen: set[int] = field(default_factory=set)
    touched: set[int] = field(default_factory=set)
    listed: list[tuple[int, int]] = field(default_factory=list)
    stats: LoadStats = field(default_factory=LoadStats)
    api_reads: int = 0
    notes: dict = field(default_factory=dict)
    batches: int = 0

    def add(self, batch: Batch, seen: set[int], stats: LoadStats) -> None:
        self.seen |= seen
        if batch.rescan:
            self.touched |= seen
        if batch.listed is not None:
            self.listed.append((batch.listed.low, batch.listed.high))
        self.stats.add(stats)
        self.api_reads += batch.api_reads
        self.notes.update(batch.notes)
        self.batches += 1

    @property
    def full(self) -> bool:
        return len(self.seen) >= self.FULL


def _load_batch(
    p: _Pass,
    batch: Batch,
    held: _Held,
    *,
    only_existing: bool,
    fingerprinter: Fingerprinter | None = None,
    skip: bool = True,
) -> _Held:
    """Load one batch and add it to `held`; returns what is still held (a new `_Held` once confirmed)."""
    spec, channel_id = p.spec, p.channel_id
    planned, items, stats = load_batch(
        batch.records,
        fingerprinter,
        _normalizer_for(spec.source),
        p.loader,
        skip=skip,
        only_existing=only_existing,
        ahead=batch.rescan,
    )
    posts = [i for i in items if isinstance(i, Post) and i.channel_id == channel_id]
    seen = {pid for post in posts for pid in album_member_ids(post)}
    # Posts skipped as stored unchanged were returned by the platform all the same: they exist.
    seen.update(
        pid
        for u in planned.skipped
        if u.platform == spec.platform and u.channel_id == channel_id
        for pid in u.seen
    )
    # A post whose newer copy was rejected still exists: never mark it deleted for that.
    seen |= {
        r.post_id
        for r in items
        if isinstance(r, Rejected) and r.channel_id == channel_id and r.post_id is not None
    }
    held.add(batch, seen, stats)
    if items or batch.cursor is not None or held.full:
        return _confirm(p, held, cursor=batch.cursor)
    return held


def _confirm(p: _Pass, held: _Held, *, cursor: Cursor | None = None) -> _Held:
    """Write what the held batches say (deletions in their listed ranges, posts seen, the run's counters, the
    cursor of the last one) and commit them with whatever the current batch loaded."""
    if not held.batches:
        return held
    spec = p.spec
    stats = LoadStats(**held.stats.as_dict())  # `held` stays as it was if this fails half-way
    stats.deleted += p.loader.confirm_listing(
        spec.platform, p.channel_id, held.seen, datetime.now(UTC), listed=held.listed, touched=held.touched
    )
    if cursor is not None:
        runs.save_cursor(p.conn, spec.platform, p.channel_id, spec.source, cursor, p.run_id)
    runs.add_counts(p.conn, p.run_id, stats.as_dict(), held.api_reads, notes=held.notes)
    p.conn.commit()
    p.summary.stats.add(stats)
    p.summary.api_reads += held.api_reads
    return _Held()


def _confirm_before_end(p: _Pass, held: _Held) -> None:
    """Confirm the held batches of a pass that stops on an error of its source (deferred, failed): the batch in
    flight, if any, is rolled back first, as it would be anyway. A held batch wrote nothing, so if the connection
    cannot take it any more, all that is lost is its 'seen' stamps and deletions, which the next pass makes."""
    if not held.batches:
        return
    try:
        p.conn.rollback()
        _confirm(p, held)
    except psycopg.Error as exc:
        log.warning(
            "could not confirm %d held batches of %s:%s: %s",
            held.batches,
            p.spec.platform,
            p.spec.handle,
            exc,
        )


def _fingerprinter_for(source_name: str) -> Fingerprinter | None:
    from ingest.sources.registry import fingerprinter_for

    return fingerprinter_for(source_name)


def _normalizer_for(source_name: str) -> Normalizer:
    from ingest.sources.registry import normalizer_for

    return normalizer_for(source_name)
