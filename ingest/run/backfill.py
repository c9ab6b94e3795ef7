"""Backfill without a scheduler: the hourly DAG's task code over a long window, chunk by chunk, resumable.

`wirewatch backfill --from A --to B` cuts [A, B) into chunks (an hour by default, so each chunk is exactly one
hourly DAG run's window) and runs `ingest.run.reconnecting.ingest_channel(kind="backfill")` per channel per chunk, oldest
chunk first. Every chunk records a run in `ingest_runs`; a chunk that already has a succeeded run for the same
source, channel and window (from an earlier, interrupted backfill or from the DAG) is skipped, so the same command
after Ctrl-C or a crash resumes where it stopped. A channel the platform rate-limits is deferred for the rest of
the invocation (its cursor kept); running the command again later fills its remaining chunks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ingest.models import ChannelSpec
from ingest.run.channel import ChannelSummary

log = logging.getLogger(__name__)

#: Backfill windows are history: re-reading the hours before each chunk (the rescan of live runs) would only
#: repeat reads (X bills each one). Pass rescan_hours to change it.
BACKFILL_RESCAN_HOURS = 0.0


@dataclass(frozen=True)
class Chunk:
    spec: ChannelSpec
    since: datetime
    until: datetime

    @property
    def target(self) -> str:
        return f"{self.spec.platform}:{self.spec.handle}"


@dataclass
class Plan:
    pending: list[Chunk]
    done: int  # chunks skipped because a succeeded run covers them
    total: int


@dataclass
class Outcome:
    succeeded: int = 0
    failed: list[dict] = field(default_factory=list)
    deferred: dict[str, str] = field(default_factory=dict)  # channel -> deferred until (ISO)
    skipped_deferred: int = 0
    stats: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, summary: ChannelSummary) -> None:
        for k, v in summary.stats.as_dict().items():
            self.stats[k] = self.stats.get(k, 0) + v
        self.stats["api_reads"] = self.stats.get("api_reads", 0) + summary.api_reads

    def as_dict(self) -> dict:
        return {"succeeded": self.succeeded, "failed": self.failed, "deferred": self.deferred,
                "skipped_deferred": self.skipped_deferred, **self.stats, "seconds": round(self.seconds, 3)}  # fmt: skip


def chunk_windows(since: datetime, until: datetime, hours: float) -> list[tuple[datetime, datetime]]:
    """[since, until) cut into consecutive windows of `hours` (the last one shorter if it must be)."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("backfill bounds must be aware datetimes")
    if until <= since:
        raise ValueError(f"empty backfill window: {since.isoformat()} is not before {until.isoformat()}")
    if hours <= 0:
        raise ValueError("chunk hours must be positive")
    step = timedelta(hours=hours)
    out, start = [], since
    while start < until:
        end = min(start + step, until)
        out.append((start, end))
        start = end
    return out


def plan(
    conn,
    specs: list[ChannelSpec],
    since: datetime,
    until: datetime,
    chunk_hours: float = 1.0,
    *,
    redo: bool = False,
) -> Plan:
    """Every (channel, chunk) in time order, minus those a succeeded run already covers (unless `redo`)."""
    from ingest.warehouse.backfill_state import succeeded_windows

    windows = chunk_windows(since, until, chunk_hours)
    chunks = [Chunk(spec, s, e) for s, e in windows for spec in specs]
    if redo:
        return Plan(chunks, 0, len(chunks))
    done = succeeded_windows(conn, sorted({(c.spec.source, c.target) for c in chunks}), since, until)
    conn.commit()
    pending = [c for c in chunks if (c.spec.source, c.target, c.since, c.until) not in done]
    return Plan(pending, len(chunks) - len(pending), len(chunks))


def run(
    dsn: str,
    backfill_plan: Plan,
    *,
    rescan_hours: float | None = BACKFILL_RESCAN_HOURS,
    on_chunk: Callable[[Chunk, ChannelSummary | None], None] | None = None,
    ingest: Callable[..., ChannelSummary] | None = None,
) -> Outcome:
    """Run the pending chunks in order. `on_chunk(chunk, summary)` reports progress (summary None when a chunk
    is skipped because its channel was deferred earlier in this invocation). Ctrl-C propagates after the run in
    flight is recorded as failed, so the next invocation redoes exactly that chunk."""
    if ingest is None:
        from ingest.run.reconnecting import ingest_channel as ingest
    outcome = Outcome()
    started = time.monotonic()
    try:
        for chunk in backfill_plan.pending:
            if chunk.target in outcome.deferred:
                outcome.skipped_deferred += 1
                if on_chunk:
                    on_chunk(chunk, None)
                continue
            summary = ingest(dsn, chunk.spec, since=chunk.since, until=chunk.until, rescan_hours=rescan_hours,
                             kind="backfill")  # fmt: skip
            outcome.add(summary)
            if summary.status == "succeeded":
                outcome.succeeded += 1
            elif summary.status == "deferred":
                until = summary.deferred_until.isoformat() if summary.deferred_until else "unknown"
                outcome.deferred[chunk.target] = until
                log.warning(
                    "%s deferred until %s: its remaining chunks wait for the next run", chunk.target, until
                )
            else:
                outcome.failed.append({"channel": chunk.target, "since": chunk.since.isoformat(),
                                       "until": chunk.until.isoformat(), "error": summary.error})  # fmt: skip
            if on_chunk:
                on_chunk(chunk, summary)
    finally:
        outcome.seconds = time.monotonic() - started
    return outcome
