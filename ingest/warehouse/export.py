"""All SQL for exporting the warehouse as files: which tables, their columns and types, a fingerprint of each
UTC month of a table (to rewrite only the months that changed) and the rows of one month, streamed.

The export reads inside one REPEATABLE READ, READ ONLY transaction (`snapshot`), so every table and month comes
from the same moment even while imports and grouping keep writing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class Table:
    """A table to export; `time_column` splits it into UTC months (None: one unpartitioned file)."""

    name: str
    time_column: str | None
    order_by: tuple[str, ...]


# What analysts get: the posts, their history, their counts over time and the groups. Grouping state
# (hashed feature vectors and centroids) and the search index column are internal and stay out; so do raw
# payloads and rejects.
TABLES: tuple[Table, ...] = (
    Table("channels", None, ("platform", "channel_id")),
    Table("posts", "posted_at", ("posted_at", "platform", "channel_id", "post_id")),
    Table("post_versions", "version_at", ("version_at", "platform", "channel_id", "post_id")),
    Table("post_metrics", "observed_at", ("observed_at", "platform", "channel_id", "post_id")),
    Table("storylines", "first_post_at", ("first_post_at", "storyline_id")),
    Table("events", "first_post_at", ("first_post_at", "event_id")),
    Table("event_posts", "posted_at", ("posted_at", "platform", "channel_id", "post_id")),
)
INTERNAL_COLUMNS = frozenset(
    {"centroid_idx", "centroid_val", "vec_idx", "vec_val", "story_val", "search_vector"}
)


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str  # information_schema udt_name: int8, text, timestamptz, _text (an array of text), jsonb...


@contextmanager
def snapshot(conn: psycopg.Connection) -> Iterator[None]:
    """One consistent, read-only view of the warehouse for the whole export."""
    conn.rollback()
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        yield
    finally:
        conn.rollback()


def columns(conn: psycopg.Connection, table: Table) -> list[Column]:
    rows = conn.execute(
        """SELECT column_name, udt_name FROM information_schema.columns
           WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position""",
        (table.name,),
    ).fetchall()
    return [Column(n, t) for n, t in rows if n not in INTERNAL_COLUMNS]


def _select_list(cols: list[Column]) -> sql.Composable:
    # JSON goes out as its text: Parquet readers have no common JSON type, and every one of them parses a string.
    return sql.SQL(", ").join(
        sql.SQL("{}::text").format(sql.Identifier(c.name))
        if c.pg_type in ("json", "jsonb")
        else sql.Identifier(c.name)
        for c in cols
    )


def _month_expr(column: str) -> sql.Composable:
    return sql.SQL("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM')").format(sql.Identifier(column))


def month_fingerprints(
    conn: psycopg.Connection, table: Table, since: datetime | None, until: datetime | None
) -> dict[str, str]:
    """Month ('YYYY-MM', UTC) -> a fingerprint of every row of that month (count and an order-free sum of row
    hashes): equal fingerprints mean the month's file is still current. Months whose start lies in
    [since, until); `since` and `until` are whole UTC months (see `month_floor`). Unpartitioned tables have one
    key, ''. It reads every row of the months asked, as text: seconds per million rows."""
    if table.time_column is None:
        q = sql.SQL(
            "SELECT '' , count(*) || ':' || coalesce(sum(hashtextextended(t::text, 0)::numeric), 0) FROM {} t"
        ).format(sql.Identifier(table.name))
        return {m: f for m, f in conn.execute(q).fetchall() if not f.startswith("0:")}
    where, params = _range(table.time_column, since, until)
    q = sql.SQL(
        "SELECT {month}, count(*) || ':' || sum(hashtextextended(t::text, 0)::numeric) FROM {table} t {where} "
        "GROUP BY 1"
    ).format(month=_month_expr(table.time_column), table=sql.Identifier(table.name), where=where)
    return dict(conn.execute(q, params).fetchall())


def _range(column: str, since: datetime | None, until: datetime | None) -> tuple[sql.Composable, list]:
    parts, params = [], []
    if since is not None:
        parts.append(sql.SQL("{} >= %s").format(sql.Identifier(column)))
        params.append(since)
    if until is not None:
        parts.append(sql.SQL("{} < %s").format(sql.Identifier(column)))
        params.append(until)
    if not parts:
        return sql.SQL(""), params
    return sql.SQL("WHERE ") + sql.SQL(" AND ").join(parts), params


def month_rows(
    conn: psycopg.Connection, table: Table, cols: list[Column], month: str, batch: int = 20_000
) -> Iterator[list[tuple]]:
    """The rows of one UTC month ('' for an unpartitioned table) in batches, through a server-side cursor so
    memory stays bounded by the batch, in a stable order (the same month exports to the same file)."""
    q = sql.SQL("SELECT {cols} FROM {table}").format(
        cols=_select_list(cols), table=sql.Identifier(table.name)
    )
    params: list = []
    if table.time_column is not None:
        start = datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
        q += sql.SQL(" WHERE {c} >= %s AND {c} < %s").format(c=sql.Identifier(table.time_column))
        params = [start, next_month(start)]
    q += sql.SQL(" ORDER BY ") + sql.SQL(", ").join(sql.Identifier(c) for c in table.order_by)
    with conn.cursor(name=f"export_{table.name}") as cur:
        cur.itersize = batch
        cur.execute(q, params)
        while rows := cur.fetchmany(batch):
            yield rows


def month_floor(at: datetime) -> datetime:
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(at: datetime) -> datetime:
    start = month_floor(at)
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
