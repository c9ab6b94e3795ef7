"""Monthly partitions of raw_records and post_metrics (migration 013): months created ahead, rows that landed in
a DEFAULT partition moved into their month, and retention: raw payloads older than N months detached and dropped
a month at a time, nothing else touched. Run by `wirewatch db maintain` and the hourly DAG's maintenance task."""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

import psycopg
from psycopg import sql

from ingest.warehouse.locks import advisory_lock

__all__ = ["PARTITIONED", "RETENTION_ENV", "MaintenanceReport", "maintain", "months", "retention_from_env"]

log = logging.getLogger(__name__)

#: Partitioned table -> partition key.
PARTITIONED = {"raw_records": "fetched_at", "post_metrics": "observed_at"}
#: Only raw payloads expire: posts, versions and the count history stay.
RETAINED = ("raw_records",)
RETENTION_ENV = "WIREWATCH_RAW_RETENTION_MONTHS"
SCHEMA = "partitions"
_LOCK_KEY = 0x77706172  # "wpar": one maintenance at a time
_MONTH = re.compile(r"_p(\d{4})_(\d{2})$")


@dataclass
class MaintenanceReport:
    created: list[str] = field(default_factory=list)
    moved_from_default: dict[str, int] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    dropped_bytes: int = 0
    deleted_from_default: int = 0
    drop_seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def retention_from_env() -> int | None:
    raw = os.environ.get(RETENTION_ENV, "").strip()
    if not raw:
        return None
    try:
        months = int(raw)
    except ValueError:
        raise ValueError(f"${RETENTION_ENV} must be a whole number of months, not {raw!r}") from None
    if months < 1:
        raise ValueError(f"${RETENTION_ENV} must be at least 1")
    return months


def _month(d: date | datetime, shift: int = 0) -> date:
    n = d.year * 12 + d.month - 1 + shift
    return date(n // 12, n % 12 + 1, 1)


def months(conn: psycopg.Connection, table: str) -> dict[date, str]:
    """The monthly partitions of `table`: first day of the month -> partition name."""
    out = {}
    for (name,) in conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass",
        (table,),
    ):
        m = _MONTH.search(name)
        if m:
            out[date(int(m.group(1)), int(m.group(2)), 1)] = name
    return out


def maintain(
    conn: psycopg.Connection,
    *,
    months_ahead: int = 3,
    retention_months: int | None = None,
    now: datetime | None = None,
) -> MaintenanceReport:
    """Create this month's and the next `months_ahead` months' partitions, give rows in a DEFAULT partition their
    month, and with `retention_months` detach and drop raw_records months that ended more than that many months
    before this one (this month and the `retention_months` before it stay). Commits."""
    if months_ahead < 0:
        raise ValueError("months_ahead must be >= 0")
    if retention_months is not None and retention_months < 1:
        raise ValueError("retention_months must be at least 1")
    now = now or datetime.now(UTC)
    this = _month(now.astimezone(UTC))
    report = MaintenanceReport()
    conn.commit()
    with conn.transaction():
        advisory_lock(conn, _LOCK_KEY, "partition maintenance", xact=True)
        # Attaching a partition briefly locks the DEFAULT partition against writers; fail fast rather than queue
        # loads behind it (the next hour tries again).
        conn.execute("SET LOCAL lock_timeout = '30s'")
        for table, key in PARTITIONED.items():
            wanted = {_month(this, i) for i in range(months_ahead + 1)}
            default = f"{table}_default"
            stray = conn.execute(
                sql.SQL("SELECT DISTINCT date_trunc('month', {} AT TIME ZONE 'UTC')::date FROM {}.{}").format(
                    sql.Identifier(key), sql.Identifier(SCHEMA), sql.Identifier(default)
                )
            ).fetchall()
            in_default = {r[0] for r in stray}
            if retention_months is not None and table in RETAINED:
                # Rows too old to keep are not given a partition only to be dropped below.
                in_default = {m for m in in_default if m >= _month(this, -retention_months)}
            for m in sorted(wanted | in_default):
                before = _count_default(conn, table) if m in in_default else 0
                name = conn.execute(
                    "SELECT wirewatch_month_partition(%s::regclass, %s)", (table, m)
                ).fetchone()[0]
                if name:
                    report.created.append(f"{SCHEMA}.{name}")
                if m in in_default:
                    moved = before - _count_default(conn, table)
                    report.moved_from_default[table] = report.moved_from_default.get(table, 0) + moved
        if retention_months is not None:
            cutoff = _month(this, -retention_months)
            started = time.perf_counter()
            for table in RETAINED:
                for m, name in sorted(months(conn, table).items()):
                    if m >= cutoff:
                        continue
                    part = sql.Identifier(SCHEMA, name)
                    report.dropped_bytes += conn.execute(
                        "SELECT pg_total_relation_size(%s::regclass)", (f"{SCHEMA}.{name}",)
                    ).fetchone()[0]
                    conn.execute(
                        sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(sql.Identifier(table), part)
                    )
                    conn.execute(sql.SQL("DROP TABLE {}").format(part))
                    report.dropped.append(f"{SCHEMA}.{name}")
                key = PARTITIONED[table]
                report.deleted_from_default += conn.execute(
                    sql.SQL("DELETE FROM {}.{} WHERE {} < %s").format(
                        sql.Identifier(SCHEMA), sql.Identifier(f"{table}_default"), sql.Identifier(key)
                    ),
                    (datetime(cutoff.year, cutoff.month, 1, tzinfo=UTC),),
                ).rowcount
            report.drop_seconds = time.perf_counter() - started
    log.info("partition maintenance: %s", report.as_dict())
    return report


def _count_default(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(
        sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(SCHEMA), sql.Identifier(f"{table}_default")
        )
    ).fetchone()[0]
