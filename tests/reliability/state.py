"""What "the same warehouse" means, as comparable Python values.

Two warehouses built from the same platform states are the same when:
- posts: every column equal except bookkeeping and observation times (`first_seen_at`, `last_seen_at`,
  `metrics_observed_at`) and the skip-unchanged caches `row_hash` and `raw_hash`, with `deleted_at` compared as "is deleted" (a
  deletion is timed by when a scan noticed it, which differs between schedules);
- post_versions, raw_records, channels, channel_aliases: `ingest.warehouse.queries.table_checksums` equal (it
  leaves out `observed_at`, `fetched_at`, `valid_from/valid_to` and other bookkeeping times);
- post_metrics: per post, the *sequence of distinct count states in observation order* is equal. The
  `observed_at` of a state is when some run happened to look, so two schedules that looked at different
  moments have different times but must have recorded the same successive states, no state twice in a row
  (the loader appends only on change) and none missing. The multiset checksum of table_checksums (which leaves
  out observed_at) is compared as well;
- cursors: last_post_id, last_posted_at and state equal (deferred_until and run ids are bookkeeping);
- rejected_records: the same (normally none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from ingest.warehouse.queries import table_checksums

#: row_hash is a cache (the hash of the last incoming row, 0 after a partial update: "compare in full next time");
#: raw_hash likewise (the hash of the raw input of the last record that made the row, NULL when unknown: two
#: schedules may have last met different records that make the same row).
_POST_SKIP = {"first_seen_at", "last_seen_at", "metrics_observed_at", "deleted_at", "row_hash", "raw_hash"}
_METRIC_COLS = ("metrics_hash", "views", "forwards", "replies", "reposts", "quotes", "likes", "reactions")
CHECKSUMMED = (
    "post_versions",
    "post_metrics",
    "raw_records",
    "channels",
    "channel_aliases",
    "rejected_records",
)


@dataclass
class Snapshot:
    posts: dict[tuple, dict[str, Any]]
    metrics: dict[tuple, list[tuple]]
    versions: dict[tuple, list[tuple]]
    cursors: dict[tuple, tuple]
    checksums: dict[str, str]
    rejected: list[tuple]

    def diff(self, other: Snapshot) -> list[str]:
        """Human-readable differences (empty when the same)."""
        out: list[str] = []
        for key in sorted(set(self.posts) | set(other.posts)):
            a, b = self.posts.get(key), other.posts.get(key)
            if a is None or b is None:
                out.append(f"post {key}: only in {'second' if a is None else 'first'}")
            elif a != b:
                cols = [c for c in a if a[c] != b.get(c)]
                out.append(f"post {key}: differs in {', '.join(f'{c}: {a[c]!r} != {b[c]!r}' for c in cols)}")
        for name in ("metrics", "versions", "cursors"):
            mine, theirs = getattr(self, name), getattr(other, name)
            for key in sorted(set(mine) | set(theirs), key=repr):
                if mine.get(key) != theirs.get(key):
                    out.append(f"{name} {key}: {mine.get(key)!r} != {theirs.get(key)!r}")
        if self.rejected != other.rejected:
            out.append(f"rejected: {self.rejected!r} != {other.rejected!r}")
        for t in CHECKSUMMED:
            if self.checksums[t] != other.checksums[t]:
                out.append(f"table_checksums[{t}] differs")
        return out


def snapshot(conn: psycopg.Connection) -> Snapshot:
    conn.commit()
    cur = conn.execute("SELECT * FROM posts ORDER BY platform, channel_id, post_id")
    cols = [d.name for d in cur.description]
    posts = {}
    for row in cur:
        rec = dict(zip(cols, row, strict=True))
        key = (rec["platform"], rec["channel_id"], rec["post_id"])
        posts[key] = {c: v for c, v in rec.items() if c not in _POST_SKIP} | {
            "deleted": rec["deleted_at"] is not None
        }
    metrics: dict[tuple, list[tuple]] = {}
    for row in conn.execute(
        f"SELECT platform, channel_id, post_id, {', '.join(_METRIC_COLS)} FROM post_metrics "  # noqa: S608
        "ORDER BY platform, channel_id, post_id, observed_at"
    ):
        metrics.setdefault(row[:3], []).append(tuple(row[3:]))
    versions: dict[tuple, list[tuple]] = {}
    for row in conn.execute(
        "SELECT platform, channel_id, post_id, version_at, content_hash, text FROM post_versions "
        # Ties in version_at happen (an album member removed changes media, not the edit time): as a set.
        "ORDER BY platform, channel_id, post_id, version_at, content_hash"
    ):
        versions.setdefault(row[:3], []).append(tuple(row[3:]))
    cursors = {
        row[:3]: tuple(row[3:])
        for row in conn.execute(
            "SELECT platform, channel_id, source, last_post_id, last_posted_at, state FROM cursors"
        )
    }
    rejected = sorted(
        conn.execute(
            "SELECT source, reason, coalesce(post_id, 0), coalesce(payload, '') FROM rejected_records"
        ),
        key=repr,
    )
    checksums = table_checksums(conn, CHECKSUMMED)
    conn.commit()
    return Snapshot(posts, metrics, versions, cursors, checksums, rejected)


def consecutive_repeats(snap: Snapshot) -> list[str]:
    """Metric series where one state follows itself: the loader should only append on change."""
    return [
        f"{k}: {a}" for k, seq in snap.metrics.items() for a, b in zip(seq, seq[1:], strict=False) if a == b
    ]


def stray_tables(conn: psycopg.Connection, expected: set[str]) -> list[str]:
    """Ordinary tables in public that the migrations did not create, and temp tables of sessions that died."""
    public = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    temp = [
        f"{r[0]}.{r[1]}"
        for r in conn.execute(
            """SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relpersistence = 't' AND n.nspname <> 'pg_toast'
                 AND n.oid <> pg_my_temp_schema() AND n.nspname NOT LIKE 'pg_toast_temp%'"""
        )
    ]
    return sorted(public - expected) + temp


def assert_as_one_inline_import(db: str, paths: list) -> None:
    """The warehouse as it is equals the one a single inline import of `paths` (one process, no read-ahead) makes
    in an emptied database."""
    from ingest.run.imports import import_files
    from tests.conftest import truncate_all

    with psycopg.connect(db) as conn:
        got = snapshot(conn)
    truncate_all(db)
    with psycopg.connect(db) as conn:
        import_files(conn, paths, skip_unchanged=True, read_ahead=False)
        diff = snapshot(conn).diff(got)
        assert diff == [], diff[:20]
