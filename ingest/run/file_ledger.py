"""Skipping unchanged input files: a file's size and content hash against the import ledger.

A file is the same input when its bytes are: the hash covers every byte (an edit that keeps the size and the
modification time is still seen), and a file copied or touched without changing is still skipped."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ingest.warehouse import ledger
from ingest.warehouse.ledger import LedgerEntry

BLOCK = 1 << 20


@dataclass(frozen=True)
class FileFingerprint:
    path: str  # absolute
    size_bytes: int
    mtime_ns: int
    content_hash: bytes


def fingerprint(path: Path) -> FileFingerprint:
    resolved = path.resolve()
    st = resolved.stat()
    h = hashlib.blake2b(digest_size=32)
    with resolved.open("rb") as f:
        while block := f.read(BLOCK):
            h.update(block)
    return FileFingerprint(str(resolved), st.st_size, st.st_mtime_ns, h.digest())


def already_imported(conn: psycopg.Connection, fp: FileFingerprint, fmt: str) -> LedgerEntry | None:
    """The ledger row of this very file, when it was imported whole in this format with these exact bytes."""
    entry = ledger.get(conn, fp.path)
    if (
        entry
        and entry.format == fmt
        and entry.size_bytes == fp.size_bytes
        and entry.content_hash == fp.content_hash
    ):
        return entry
    return None


def remember(
    conn: psycopg.Connection, fp: FileFingerprint, fmt: str, records: int, posts: int, rejected: int
) -> None:
    ledger.record(
        conn, LedgerEntry(fp.path, fmt, fp.size_bytes, fp.mtime_ns, fp.content_hash, records, posts, rejected)
    )
