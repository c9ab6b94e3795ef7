"""The one flow every entry point calls: source -> normalise -> load, with cursor and run record committed
together. The CLI (`wirewatch import`, `ingest`, `backfill`) and the Airflow DAG are thin wrappers over
`import_files` and `run_channel`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import psycopg

from ingest.models import ChannelSpec, Deletion, Normalizer, Post, RawRecord, Rejected
from ingest.normalize.common import album_member_ids, check_post, merge_albums
from ingest.sources.base import Batch, Deferred, LiveSource, SourceError
from ingest.sources.formats import FileFormat, detect_format, get_format
from ingest.warehouse import runs
from ingest.warehouse.loader import Loader, LoadStats, record_channel
from ingest.warehouse.queries import find_channel

log = logging.getLogger(__name__)

IMPORT_BATCH = 5000
DEFAULT_RESCAN_HOURS = 48


def normalize_records(
    records: Iterable[RawRecord], normalizer: Normalizer
) -> list[Post | Rejected | Deletion]:
    """Normalise raw records, turning a normaliser's crash into a reject rather than a lost batch."""
    out: list[Post | Rejected | Deletion] = []
    now = datetime.now(UTC)
    for rec in records:
        try:
            items = list(normalizer(rec))
        except Exception as exc:  # noqa: BLE001 - one bad record must not sink the batch
            out.append(
                Rejected(
                    source=rec.source,
                    reason=f"normaliser error: {type(exc).__name__}: {exc}"[:500],
                    payload=rec.payload,
                    origin=rec.origin,
                    raw_text=rec.raw_text,
                )  # fmt: skip
            )
            continue
        for item in items:
            out.append(check_post(item, now) if isinstance(item, Post) else item)
    posts = merge_albums(i for i in out if isinstance(i, Post))
    return [*posts, *(i for i in out if not isinstance(i, Post))]


# --------------------------------------------------------------------------------------------------- imports


@dataclass
class ImportSummary:
    path: str
    format: str
    stats: LoadStats = field(default_factory=LoadStats)
    records: int = 0
    error: str | None = None

    def as_dict(self) -> dict:
        return {"path": self.path, "format": self.format, "records": self.records, **self.stats.as_dict(),
                "error": self.error}  # fmt: skip


def _album_safe_batches(items: Iterator[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    """Batches of raw records that never split a run of records sharing an album (grouped_id) key."""
    carry: list[RawRecord] = []
    while True:
        fresh: list[RawRecord] = []
        try:
            for rec in islice(items, size):
                fresh.append(rec)
        except (OSError, ValueError):
            # The input broke mid-batch (a truncated file): load what it gave before the damage, then report it.
            if carry or fresh:
                yield carry + fresh
            raise
        chunk = carry + fresh
        if not chunk:
            return
        if len(chunk) <= len(carry):  # source exhausted
            yield chunk
            return
        tail_key = _album_key(chunk[-1])
        cut = len(chunk)
        if tail_key is not None:
            while cut > 0 and _album_key(chunk[cut - 1]) == tail_key:
                cut -= 1
            if cut == 0:
                cut = len(chunk)
        carry = chunk[cut:]
        yield chunk[:cut]


def _album_key(rec: RawRecord) -> object | None:
    p = rec.payload
    if isinstance(p, dict):
        return p.get("grouped_id")
    return None


def import_files(
    conn: psycopg.Connection,
    paths: Sequence[Path],
    fmt: str = "auto",
    *,
    batch_size: int = IMPORT_BATCH,
    on_progress: Callable[[int], None] | None = None,
) -> list[ImportSummary]:
    """Import files (or directories of them). Each batch commits with its run counters; a bad record lands
    in rejected_records, an unreadable file is reported and the other files still load."""
    summaries: list[ImportSummary] = []
    for path in _expand(paths):
        try:
            file_format = detect_format(path) if fmt == "auto" else get_format(fmt)
        except (ValueError, OSError) as exc:
            summaries.append(_refuse_file(conn, path, fmt, exc))
            continue
        summaries.append(import_file(conn, path, file_format, batch_size=batch_size, on_progress=on_progress))
    return summaries


def _expand(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        path = Path(path)
        if path.is_dir():
            if (path / "result.json").is_file():  # a Telegram Desktop export folder
                yield path / "result.json"
                continue
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in (".json", ".jsonl", ".html", ".htm")
            )
            if not files:
                yield path  # reported as unreadable below
            yield from files
        else:
            yield path


def _refuse_file(conn: psycopg.Connection, path: Path, fmt: str, exc: Exception) -> ImportSummary:
    summary = ImportSummary(str(path), fmt, error=f"{type(exc).__name__}: {exc}")
    run_id = runs.start_run(conn, "import", fmt, str(path))
    loader = Loader(conn, run_id=run_id)
    n = loader.load_rejects(
        [Rejected(source=f"file:{fmt}", reason=f"unreadable input: {exc}", origin=str(path))]
    )
    summary.stats.rejected += n
    runs.add_counts(conn, run_id, summary.stats.as_dict())
    runs.finish_run(conn, run_id, "failed", error=summary.error)
    return summary


def import_file(
    conn: psycopg.Connection,
    path: Path,
    file_format: FileFormat,
    *,
    batch_size: int = IMPORT_BATCH,
    on_progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    summary = ImportSummary(str(path), file_format.name)
    run_id = runs.start_run(conn, "import", file_format.name, str(path))
    # A capture that does not say when it was fetched was fetched before its file was last written: stamping its
    # counts with the load time would let an old capture, imported again later, pass for the newest observation.
    observed = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC) if path.is_file() else None
    loader = Loader(conn, run_id=run_id, observed_at=observed)
    try:
        size = min(batch_size, file_format.records_per_batch or batch_size)
        for chunk in _album_safe_batches(iter(file_format.read(path)), size):
            items = normalize_records(chunk, file_format.normalize)
            stats = loader.load(items)
            runs.add_counts(conn, run_id, stats.as_dict())
            conn.commit()
            summary.stats.add(stats)
            summary.records += len(chunk)
            if on_progress:
                on_progress(len(chunk))
    except psycopg.OperationalError:
        _finish_after_error(conn, run_id, "database connection lost")
        raise
    except (OSError, ValueError) as exc:
        # The file itself is unreadable past this point (truncated, not the format it claims): what loaded
        # stays loaded; the rest is reported.
        conn.rollback()
        summary.error = f"{type(exc).__name__}: {exc}"
        summary.stats.rejected += loader.load_rejects(
            [Rejected(source=file_format.name, reason=f"unreadable input: {exc}"[:500], origin=str(path))]
        )
        runs.add_counts(conn, run_id, {**LoadStats().as_dict(), "rejected": 1})
        runs.finish_run(conn, run_id, "partial" if summary.records else "failed", error=summary.error)
        return summary
    except BaseException as exc:
        _finish_after_error(conn, run_id, f"{type(exc).__name__}: {exc}")
        raise
    runs.finish_run(conn, run_id, "succeeded")
    return summary


def _finish_after_error(conn: psycopg.Connection, run_id: int, error: str, status: str = "failed") -> None:
    """Mark a run failed if the connection still works. If the server went away, the run row stays 'running'
    until the next run's reaper sees its database session is gone and marks it failed."""
    try:
        conn.rollback()
        runs.finish_run(conn, run_id, status, error=error[:2000])
    except psycopg.Error:
        log.warning(
            "could not record the end of run %s (connection lost); the next run will mark it failed", run_id
        )


# ------------------------------------------------------------------------------------------------- live runs


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
) -> ChannelSummary:
    """One pass over one channel.

    Without a window: everything newer than the committed cursor, then a rescan of the last `rescan_hours`.
    With a window [since, until): the posts published in it, then a rescan that refreshes (edits, deletions,
    counts) posts already stored from the `rescan_hours` before `until`. Every batch commits with its cursor.
    """
    now = now or datetime.now(UTC)
    summary = ChannelSummary(spec.platform, spec.handle, spec.source)
    try:
        channel_id = resolve_channel(conn, spec, source)
    except Deferred as exc:
        conn.rollback()
        summary.status, summary.deferred_until, summary.error = "deferred", exc.until, exc.reason
        run_id = runs.start_run(conn, kind, spec.source, f"{spec.platform}:{spec.handle}", (since, until))
        runs.finish_run(conn, run_id, "deferred", error=exc.reason, deferred_until=exc.until)
        summary.run_id = run_id
        return summary
    except psycopg.OperationalError:
        raise  # the warehouse went away: the caller reconnects
    except Exception as exc:  # SourceError, or a network error the source did not turn into one
        conn.rollback()
        error = str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"
        summary.status, summary.error = "failed", error
        run_id = runs.start_run(conn, kind, spec.source, spec.handle, (since, until))
        runs.finish_run(conn, run_id, "failed", error=error[:2000])
        summary.run_id = run_id
        if not isinstance(exc, SourceError):
            log.exception("channel %s:%s could not be resolved", spec.platform, spec.handle)
        return summary
    summary.channel_id = channel_id
    cursor, deferred_until = runs.get_cursor(conn, spec.platform, channel_id, spec.source)
    conn.commit()  # end the read: a skipped channel must not leave a transaction open
    if deferred_until and deferred_until > now and not ignore_deferral:
        summary.status, summary.deferred_until = "deferred", deferred_until
        summary.error = "rate-limited earlier; skipped until the deferral passes"
        return summary
    windowed = since is not None or until is not None
    rescan_since = None
    if rescan_hours and rescan_hours > 0:
        rescan_since = (until or now) - timedelta(hours=rescan_hours)
    run_id = runs.start_run(
        conn, kind, spec.source, f"{spec.platform}:{spec.handle}", (since, until),
        notes={"channel_id": channel_id, "rescan_since": rescan_since.isoformat() if rescan_since else None},
    )  # fmt: skip
    summary.run_id = run_id
    loader = Loader(conn, run_id=run_id)
    try:
        for batch in source.fetch(
            spec, channel_id, cursor, since=since, until=until, rescan_since=rescan_since
        ):
            _load_batch(
                conn,
                loader,
                spec,
                channel_id,
                batch,
                run_id,
                summary,
                only_existing=windowed and batch.rescan,
            )
    except Deferred as exc:
        conn.rollback()
        runs.defer_cursor(conn, spec.platform, channel_id, spec.source, exc.until, run_id)
        runs.finish_run(conn, run_id, "deferred", error=exc.reason, deferred_until=exc.until)
        summary.status, summary.deferred_until, summary.error = "deferred", exc.until, exc.reason
        return summary
    except psycopg.OperationalError:
        _finish_after_error(conn, run_id, "database connection lost")
        raise  # the caller decides whether to retry with a new connection
    except Exception as exc:
        _finish_after_error(conn, run_id, f"{type(exc).__name__}: {exc}")
        summary.status, summary.error = "failed", f"{type(exc).__name__}: {exc}"
        log.exception("channel %s:%s failed", spec.platform, spec.handle)
        return summary
    except BaseException:
        _finish_after_error(conn, run_id, "interrupted")
        raise
    runs.finish_run(conn, run_id, "succeeded")
    return summary


def _load_batch(
    conn: psycopg.Connection,
    loader: Loader,
    spec: ChannelSpec,
    channel_id: int,
    batch: Batch,
    run_id: int,
    summary: ChannelSummary,
    *,
    only_existing: bool,
) -> None:
    items = normalize_records(batch.records, _normalizer_for(spec.source))
    stats = loader.load(items, only_existing=only_existing)
    when = datetime.now(UTC)
    posts = [i for i in items if isinstance(i, Post) and i.channel_id == channel_id]
    seen = {pid for p in posts for pid in album_member_ids(p)}
    # A post whose newer copy was rejected still exists: never mark it deleted for that.
    seen |= {
        r.post_id
        for r in items
        if isinstance(r, Rejected) and r.channel_id == channel_id and r.post_id is not None
    }
    if batch.listed is not None:
        stats.deleted += loader.mark_missing(
            spec.platform, channel_id, batch.listed.low, batch.listed.high, seen, when
        )
    if batch.rescan:
        loader.touch_seen(spec.platform, channel_id, seen, when)
    if batch.cursor is not None:
        runs.save_cursor(conn, spec.platform, channel_id, spec.source, batch.cursor, run_id)
    runs.add_counts(conn, run_id, stats.as_dict(), batch.api_reads, notes=batch.notes)
    conn.commit()
    summary.stats.add(stats)
    summary.api_reads += batch.api_reads


def _normalizer_for(source_name: str) -> Normalizer:
    from ingest.sources.registry import normalizer_for

    return normalizer_for(source_name)
