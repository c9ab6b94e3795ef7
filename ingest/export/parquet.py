"""`wirewatch export parquet`: the warehouse as Parquet files that DuckDB, pandas, Polars and Spark read as they are.

Layout: one folder per table, partitioned by UTC month in hive style, one file per month::

    DIR/posts/month=2026-06/part-0.parquet
    DIR/events/month=2026-06/part-0.parquet
    DIR/channels/part-0.parquet                 (small, not time-bound: one file)
    DIR/_wirewatch_export.json                  (what each file holds: rows and a fingerprint per month)

Incremental: a month is rewritten only when its rows changed since the last export into DIR (a fingerprint of
every row, computed by the server), a month that lost all its rows is removed, and months outside
`--since/--until` are left as they are. Each file is written beside its place and renamed over it, and the
manifest last, so a reader sees either the old month or the new one, never half a file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.warehouse import export as wx

log = logging.getLogger(__name__)

MANIFEST = "_wirewatch_export.json"
FILE = "part-0.parquet"

_TIMESTAMP = pa.timestamp("us", tz="UTC")
_ARROW: dict[str, pa.DataType] = {
    "int8": pa.int64(),
    "int4": pa.int32(),
    "int2": pa.int16(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "bool": pa.bool_(),
    "timestamptz": _TIMESTAMP,
    "_text": pa.list_(pa.string()),
    "_int8": pa.list_(pa.int64()),
    "_int4": pa.list_(pa.int32()),
}


def arrow_type(pg_type: str) -> pa.DataType:
    """Parquet type of a column; anything without a native match (text, JSON as text, numeric) is a string."""
    return _ARROW.get(pg_type, pa.string())


@dataclass
class TableReport:
    written: list[str] = field(default_factory=list)  # months rewritten ('' for an unpartitioned table)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    rows: int = 0


@dataclass
class ExportReport:
    directory: str
    since: str | None
    until: str | None
    tables: dict[str, TableReport] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def export(
    conn: psycopg.Connection,
    directory: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    force: bool = False,
) -> ExportReport:
    """Export every table's months that start in [since, until) (widened to whole UTC months) into `directory`,
    rewriting only what changed since the last export there (`force`: all of them)."""
    started = datetime.now(UTC)
    since = wx.month_floor(since.astimezone(UTC)) if since else None
    until = until.astimezone(UTC) if until else None
    if until is not None and until != wx.month_floor(until):
        until = wx.next_month(until)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(directory)
    report = ExportReport(str(directory), since and since.isoformat(), until and until.isoformat())
    with wx.snapshot(conn):
        for table in wx.TABLES:
            cols = wx.columns(conn, table)
            schema = pa.schema([pa.field(c.name, arrow_type(c.pg_type)) for c in cols])
            done = manifest.setdefault(table.name, {})
            now = wx.month_fingerprints(conn, table, since, until)
            tr = report.tables[table.name] = TableReport()
            for month, fingerprint in sorted(now.items()):
                path = _month_dir(directory, table, month) / FILE
                if not force and done.get(month) == fingerprint and path.is_file():
                    tr.unchanged += 1
                    continue
                tr.rows += _write_month(conn, table, cols, schema, month, path)
                done[month] = fingerprint
                tr.written.append(month)
            for month in sorted(set(done) - set(now)):
                if _in_range(month, since, until):
                    shutil.rmtree(_month_dir(directory, table, month), ignore_errors=True)
                    del done[month]
                    tr.removed.append(month)
            # The manifest follows each table, so an interrupted export redoes only what it had not finished.
            _write_manifest(directory, manifest)
    report.seconds = round((datetime.now(UTC) - started).total_seconds(), 3)
    return report


def _month_dir(directory: Path, table: wx.Table, month: str) -> Path:
    base = directory / table.name
    return base / f"month={month}" if table.time_column is not None else base


def _in_range(month: str, since: datetime | None, until: datetime | None) -> bool:
    if not month:
        return True
    start = datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
    return (since is None or start >= since) and (until is None or start < until)


def _write_month(
    conn: psycopg.Connection,
    table: wx.Table,
    cols: list[wx.Column],
    schema: pa.Schema,
    month: str,
    path: Path,
) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    rows = 0
    # The month is a partition key in the path (hive style); readers add it as a column of their own.
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for batch in wx.month_rows(conn, table, cols, month):
            data = list(zip(*batch, strict=True))
            writer.write_batch(
                pa.record_batch([pa.array(data[i], type=f.type) for i, f in enumerate(schema)], schema=schema)
            )
            rows += len(batch)
    os.replace(tmp, path)
    log.info("export %s %s: %d rows", table.name, month or "(all)", rows)
    return rows


def _read_manifest(directory: Path) -> dict[str, dict[str, str]]:
    path = directory / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("%s is unreadable: every month is exported again", path)
        return {}
    return data.get("tables", {}) if data.get("version") == 1 else {}


def _write_manifest(directory: Path, tables: dict[str, dict[str, str]]) -> None:
    path = directory / MANIFEST
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"version": 1, "tables": tables}, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
