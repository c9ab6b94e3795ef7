"""Entry points shared by the CLI and the Airflow DAG: ingest watched channels for a window or incrementally."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import psycopg
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from ingest import config as cfg
from ingest.models import ChannelSpec
from ingest.run.channel import ChannelSummary, failed_before_fetch, run_channel
from ingest.run.imports import IMPORT_BATCH, ImportSummary, SplitPart, import_files, import_shard
from ingest.sources.base import SourceError
from ingest.sources.formats import get_format
from ingest.sources.registry import build_source
from ingest.warehouse import faults
from ingest.warehouse.db import connect

log = logging.getLogger(__name__)


def watched_channels(names: list[str] | None = None) -> list[ChannelSpec]:
    return cfg.select(cfg.load_config(), names)


def ingest_channel(
    dsn: str,
    spec: ChannelSpec,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    rescan_hours: float | None = None,
    kind: str = "ingest",
    source=None,
    force: bool = False,
) -> ChannelSummary:
    """One pass over one channel with its configured source (what `wirewatch ingest` and each mapped DAG task
    run). Opens its own connection so parallel tasks never share one. `force`: normalise every record, even one
    stored from the very same bytes."""
    if rescan_hours is None:
        rescan_hours = float(spec.options.get("rescan_hours", cfg.load_config().rescan_hours))
    own = source is None
    if source is None:
        try:
            source = build_source(spec.source, spec.account)
        except SourceError as exc:
            # Missing credentials fail this channel alone, with a run that says so; the other channels run.
            error = str(exc)
            log.error("channel %s:%s via %s: %s", spec.platform, spec.handle, spec.source, error)
            return with_reconnect(
                dsn, lambda conn: failed_before_fetch(conn, spec, error, kind=kind, window=(since, until))
            )
    try:
        summary = with_reconnect(
            dsn,
            lambda conn: run_channel(
                conn,
                spec,
                source,
                since=since,
                until=until,
                rescan_hours=rescan_hours,
                kind=kind,
                force=force,
            ),
        )
    finally:
        # A Telethon source holds the session lock and a connection: release them now, not at GC.
        if own and hasattr(source, "close"):
            source.close()
    log.info(
        "channel %s:%s via %s: %s (+%d new, %d updated, %d unchanged, %d rejected)",
        spec.platform, spec.handle, spec.source, summary.status, summary.stats.inserted, summary.stats.updated,
        summary.stats.unchanged, summary.stats.rejected,
    )  # fmt: skip
    return summary


def import_paths(
    dsn: str,
    paths: Sequence[Path],
    fmt: str = "auto",
    *,
    batch_size: int = IMPORT_BATCH,
    on_progress=None,
    skip_unchanged: bool = False,
) -> list[ImportSummary]:
    """`import_files` on its own connection, started again on a new one if the database goes away (a restart,
    a failover) or a deadlock with another writer rolls a batch back. Safe because an import is idempotent: what
    committed before comes back unchanged. The summaries count the work of every attempt."""
    attempts: list[list[ImportSummary]] = []

    def attempt(conn: psycopg.Connection) -> list[ImportSummary]:
        attempts.append([])
        return import_files(
            conn, paths, fmt, batch_size=batch_size, on_progress=on_progress, into=attempts[-1],
            skip_unchanged=skip_unchanged,
        )  # fmt: skip

    final = with_reconnect(dsn, attempt)
    return _merge_attempts(attempts[:-1], final)


def import_shard_path(
    dsn: str,
    path: Path,
    fmt: str,
    part: SplitPart,
    *,
    batch_size: int = IMPORT_BATCH,
    on_progress=None,
    skip_unchanged: bool = False,
) -> ImportSummary:
    """`imports.import_shard` on its own connection, started again on a new one as `import_paths` does."""
    file_format = get_format(fmt)
    attempts: list[list[ImportSummary]] = []

    def attempt(conn: psycopg.Connection) -> list[ImportSummary]:
        attempts.append([])
        return [
            import_shard(
                conn, path, file_format, part, batch_size=batch_size, on_progress=on_progress,
                skip_records=skip_unchanged, into=attempts[-1],
            )
        ]  # fmt: skip

    final = with_reconnect(dsn, attempt)
    return _merge_attempts(attempts[:-1], final)[0]


def _merge_attempts(earlier: list[list[ImportSummary]], final: list[ImportSummary]) -> list[ImportSummary]:
    """Add what earlier, interrupted attempts committed to the final summaries. Rows they wrote come back as
    unchanged in the final attempt, so those are taken off its unchanged count; rejects count the input (every
    attempt refuses the same records), so the final attempt's count stands."""
    if not earlier:
        return final
    by_path = {s.path: s for s in final}
    for summaries in earlier:
        for s in summaries:
            target = by_path.get(s.path)
            if target is None:
                continue
            done = s.stats
            target.stats.unchanged = max(0, target.stats.unchanged - done.inserted - done.updated)
            for name in ("inserted", "updated", "versions", "metrics", "deleted"):
                setattr(target.stats, name, getattr(target.stats, name) + getattr(done, name))
            target.attempts += 1
    return final


def _retryable(exc: BaseException) -> bool:
    return faults.classify(exc) in (faults.CONNECTION, faults.CONFLICT)


def _log_retry(rs: RetryCallState, attempts: int) -> None:
    exc = rs.outcome.exception() if rs.outcome else None
    what = "database connection lost"
    if exc is not None and faults.classify(exc) == faults.CONFLICT:
        what = f"database {'deadlock' if faults.sqlstate(exc) == '40P01' else 'serialization failure'}"
    log.warning("%s; retry %d of %d", what, rs.attempt_number, attempts - 1)


def with_reconnect(dsn: str, fn, attempts: int = 4):
    """Run `fn(conn)` and, if the database connection is lost (a server restart, a failover) or a transaction
    lost a deadlock or serialization conflict, retry with a new connection after a randomised exponential wait
    (two writers that collided do not collide again in step). Safe because a pass is idempotent: committed
    batches come back as unchanged rows and the cursor only ever moved with them. Any other database fault (a
    full disk, a timeout, too many connections) is not retried: it is raised as a `faults.DatabaseFault` naming
    the cause and the next step."""
    retrying = Retrying(
        retry=retry_if_exception(_retryable),
        wait=wait_random_exponential(multiplier=0.5, max=15),
        stop=stop_after_attempt(attempts),
        reraise=True,
        before_sleep=lambda rs: _log_retry(rs, attempts),
    )
    try:
        for attempt in retrying:
            with attempt, connect(dsn) as conn:
                return fn(conn)
    except psycopg.Error as exc:
        if faults.classify(exc) in (faults.RESOURCE, faults.CONFLICT):
            raise faults.DatabaseFault(faults.describe(exc), faults.sqlstate(exc)) from exc
        raise
    raise AssertionError("unreachable")
