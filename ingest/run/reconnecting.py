"""Entry points shared by the CLI and the Airflow DAG: ingest watched channels for a window or incrementally."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import psycopg
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from ingest import config as cfg
from ingest.models import ChannelSpec
from ingest.run.channel import ChannelSummary, run_channel
from ingest.run.imports import IMPORT_BATCH, ImportSummary, import_files
from ingest.sources.registry import build_source
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
) -> ChannelSummary:
    """One pass over one channel with its configured source (what `wirewatch ingest` and each mapped DAG task
    run). Opens its own connection so parallel tasks never share one."""
    if rescan_hours is None:
        rescan_hours = float(spec.options.get("rescan_hours", cfg.load_config().rescan_hours))
    own = source is None
    source = source or build_source(spec.source, spec.account)
    try:
        summary = _with_reconnect(
            dsn,
            lambda conn: run_channel(
                conn, spec, source, since=since, until=until, rescan_hours=rescan_hours, kind=kind
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
    dsn: str, paths: Sequence[Path], fmt: str = "auto", *, batch_size: int = IMPORT_BATCH, on_progress=None
) -> list[ImportSummary]:
    """`import_files` on its own connection, started again on a new one if the database goes away (a restart,
    a failover). Safe because an import is idempotent: what committed before comes back unchanged."""
    return _with_reconnect(
        dsn, lambda conn: import_files(conn, paths, fmt, batch_size=batch_size, on_progress=on_progress)
    )


def _with_reconnect(dsn: str, fn, attempts: int = 4):
    """Run `fn(conn)` and, if the database connection is lost (a server restart, a failover), retry with a new
    connection and exponential backoff. Safe because a pass is idempotent: committed batches come back as
    unchanged rows and the cursor only ever moved with them."""
    retrying = Retrying(
        retry=retry_if_exception_type(psycopg.OperationalError),
        wait=wait_exponential(multiplier=0.5, max=15),
        stop=stop_after_attempt(attempts),
        reraise=True,
        before_sleep=lambda rs: log.warning(
            "database connection lost; retry %d of %d", rs.attempt_number, attempts - 1
        ),
    )
    for attempt in retrying:
        with attempt, connect(dsn) as conn:
            return fn(conn)
    raise AssertionError("unreachable")
