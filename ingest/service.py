"""Entry points shared by the CLI and the Airflow DAG: ingest watched channels for a window or incrementally."""

from __future__ import annotations

import logging
from datetime import datetime

from ingest import config as cfg
from ingest.pipeline import ChannelSummary, run_channel
from ingest.sources.base import ChannelSpec
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
    source = source or build_source(spec.source, spec.account)
    with connect(dsn) as conn:
        summary = run_channel(conn, spec, source, since=since, until=until, rescan_hours=rescan_hours, kind=kind)
    log.info(
        "channel %s:%s via %s: %s (+%d new, %d updated, %d unchanged, %d rejected)",
        spec.platform, spec.handle, spec.source, summary.status, summary.stats.inserted, summary.stats.updated,
        summary.stats.unchanged, summary.stats.rejected,
    )  # fmt: skip
    return summary


def ingest_channels(
    dsn: str,
    names: list[str] | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    rescan_hours: float | None = None,
) -> list[ChannelSummary]:
    return [
        ingest_channel(dsn, spec, since=since, until=until, rescan_hours=rescan_hours)
        for spec in watched_channels(names)
    ]
