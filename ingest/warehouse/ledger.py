"""All SQL for the import ledger: which files were imported whole, so an unchanged file is not read again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg


@dataclass(frozen=True)
class LedgerEntry:
    path: str
    format: str
    size_bytes: int
    mtime_ns: int
    content_hash: bytes
    lines: int
    records: int
    posts: int
    rejected: int
    imported_at: datetime | None = None
    # Sorted digests of the lines that loaded as posts (migration 016): `ingest.sources.known_lines`.
    line_hashes: bytes | None = None
    head_hash: bytes | None = None  # the first MiB's BLAKE3 (migration 017)
    line_seed: int | None = None  # what `line_hashes` are seeded with (migration 023; None: SHA-256 digests)
    line_posts: bytes | None = None  # the posts each of `line_hashes` made (migration 028; None: one each)


def get(conn: psycopg.Connection, path: str, *, with_lines: bool = True) -> LedgerEntry | None:
    """The file's row; `with_lines` false leaves out its line digests (8 bytes a line: 8 MB for a 1M-line file),
    for a caller that only asks whether or how the file was imported."""
    row = conn.execute(
        """SELECT path, format, size_bytes, mtime_ns, content_hash, lines, records, posts, rejected, imported_at,
                  CASE WHEN %s THEN line_hashes END, head_hash, line_seed, CASE WHEN %s THEN line_posts END
           FROM import_ledger WHERE path = %s""",
        (with_lines, with_lines, path),
    ).fetchone()
    if row is None:
        return None
    lines = bytes(row[10]) if row[10] is not None else None
    head = bytes(row[11]) if row[11] is not None else None
    return LedgerEntry(
        row[0], row[1], row[2], row[3], bytes(row[4]), *row[5:10], line_hashes=lines, head_hash=head,
        line_seed=row[12], line_posts=bytes(row[13]) if row[13] is not None else None,
    )  # fmt: skip


def record(conn: psycopg.Connection, e: LedgerEntry) -> None:
    conn.execute(
        """INSERT INTO import_ledger
               (path, format, size_bytes, mtime_ns, content_hash, lines, records, posts, rejected, line_hashes,
                head_hash, line_seed, line_posts)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (path) DO UPDATE SET format = excluded.format, size_bytes = excluded.size_bytes,
               mtime_ns = excluded.mtime_ns, content_hash = excluded.content_hash, lines = excluded.lines,
               records = excluded.records, posts = excluded.posts, rejected = excluded.rejected,
               line_hashes = excluded.line_hashes, head_hash = excluded.head_hash, line_seed = excluded.line_seed,
               line_posts = excluded.line_posts, imported_at = now()""",
        (
            e.path,
            e.format,
            e.size_bytes,
            e.mtime_ns,
            e.content_hash,
            e.lines,
            e.records,
            e.posts,
            e.rejected,
            e.line_hashes,
            e.head_hash,
            e.line_seed,
            e.line_posts,
        ),
    )
