"""Skipping unchanged input files, and reading grown ones on: a file's size and content hash against the ledger.

A file is the same input when its bytes are: the hash covers every byte (an edit that keeps the size and the
modification time is still seen), and a file copied or touched without changing is still skipped. A JSONL file
whose first bytes are exactly what was imported last time, ending on a line end, has only grown (a collector
appending): it is read on from there."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from blake3 import blake3

from ingest.sources.known_lines import LineDigests
from ingest.sources.lines import Resume
from ingest.warehouse import ledger
from ingest.warehouse.ledger import LedgerEntry

BLOCK = 1 << 20


@dataclass(frozen=True)
class FileFingerprint:
    path: str  # absolute
    size_bytes: int
    mtime_ns: int
    content_hash: bytes
    lines: int
    # The same for the file's first `prefix_at` bytes, when asked (a grown file's imported part).
    prefix_hash: bytes | None = None
    prefix_lines: int = 0
    prefix_ends_line: bool = False
    head_hash: bytes | None = None  # the first BLOCK bytes' (the whole file's when smaller)


def fingerprint(path: Path, prefix_at: int | None = None, *, count_lines: bool = True) -> FileFingerprint:
    """The file's size, content hash and line count (`count_lines` false: 0, for a check that only compares the
    hash: counting line ends holds the GIL, and over 328 MB takes ~0.1 s against the hash's 0.07 s)."""
    resolved = path.resolve()
    st = resolved.stat()
    # BLAKE3 (one thread): an unchanged file costs this hash and nothing else, and a changed one has it taken
    # beside its read. 328 MB: 0.07 s against SHA-256's 0.18 s (with SHA extensions) and BLAKE2b's 0.50 s here.
    # A ledger row written with an earlier hash just fails to match: the file is read once more (its known lines
    # are still skipped).
    h = blake3()
    lines = read = 0
    last = b""
    prefix: tuple[bytes, int, bool] | None = None
    head: bytes | None = None
    with resolved.open("rb") as f:
        while block := f.read(BLOCK):
            if head is None:
                head = _head_of(block)
            if prefix_at is not None and prefix is None and read + len(block) >= prefix_at:
                head = block[: prefix_at - read]
                h.update(head)
                prefix = (h.copy().digest(), lines + head.count(b"\n"), (last + head).endswith(b"\n"))
                h.update(block[len(head) :])
            else:
                h.update(block)
            if count_lines:
                lines += block.count(b"\n")
            read += len(block)
            last = block[-1:]
    ph, pl, pe = prefix if prefix else (None, 0, False)
    return FileFingerprint(
        str(resolved), st.st_size, st.st_mtime_ns, h.digest(), lines, ph, pl, pe, head or _head_of(b"")
    )


def _head_of(block: bytes) -> bytes:
    return blake3(block).digest()


def head_hash(path: Path) -> bytes:
    """The hash of a file's first BLOCK bytes, as `fingerprint` takes it."""
    with path.resolve().open("rb") as f:
        return _head_of(f.read(BLOCK))


class _Beside:
    """A fingerprint taken on another thread while the file is read (BLAKE3 lets go of the GIL on big blocks,
    so the two share the machine's cores)."""

    def __init__(self, path: Path):
        self.size = path.stat().st_size  # when the read began
        self._result: list = []
        self._thread = threading.Thread(
            target=self._run, args=(path,), name="wirewatch-fingerprint", daemon=True
        )
        self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            self._result.append(fingerprint(path))
        except BaseException as exc:  # noqa: BLE001 - handed to the reader of the result
            self._result.append(exc)

    def result(self) -> FileFingerprint:
        self._thread.join()
        out = self._result[0]
        if isinstance(out, BaseException):
            raise out
        return out


@dataclass(frozen=True)
class Plan:
    """What to do with a file: read it whole (no `prior`), skip it (`prior` and no `resume`: the same bytes were
    imported), or read it on from `resume` (`prior` is the import of its first bytes). A file to read whole has
    its fingerprint (what the ledger records once it loaded) taken beside the read."""

    taken: FileFingerprint | _Beside
    prior: LedgerEntry | None = None
    resume: Resume | None = None
    # The lines that loaded at the file's last import (migration 016) and the seed of their digests (023): a
    # changed file skips those it still has, a grown one keeps remembering them. A path with none gets a seed.
    known_lines: LineDigests = field(default_factory=LineDigests.fresh)

    @property
    def skip(self) -> bool:
        return self.prior is not None and self.resume is None

    @property
    def fingerprint(self) -> FileFingerprint:
        return self.taken.result() if isinstance(self.taken, _Beside) else self.taken

    @property
    def settled(self) -> bool:
        """Whether the fingerprint describes what was read. One taken beside the read of a file that grew
        meanwhile (a collector appending) may cover lines the read did not reach: such a file is not
        remembered, so the next import reads it again rather than skip what it never loaded."""
        if not isinstance(self.taken, _Beside):
            return True
        return self.taken.result().size_bytes == self.taken.size


def plan(conn: psycopg.Connection, path: Path, fmt: str, *, appendable: bool, skip_unchanged: bool) -> Plan:
    entry = _entry(conn, path, fmt) if skip_unchanged else None
    size = path.stat().st_size
    grown = entry is not None and appendable and 0 < entry.size_bytes < size
    if entry is None or not (entry.size_bytes == size or grown) or _head_differs(entry, path):
        # New, shrunk, or changed inside its first MiB: neither the same bytes nor only grown, so it is read whole
        # and nothing waits for its hash.
        return Plan(_Beside(path), known_lines=_known(entry))
    if not grown:
        # The same size: the same bytes, or a file changed in place (rare), which is then read whole with its
        # fingerprint (and line count, for the ledger) taken beside the read.
        fp = _same_bytes(entry, path)
        return Plan(fp, prior=entry) if fp is not None else Plan(_Beside(path), known_lines=_known(entry))
    fp = fingerprint(path, entry.size_bytes)
    if entry.size_bytes == fp.size_bytes and entry.content_hash == fp.content_hash:
        return Plan(fp, prior=entry)
    if grown and fp.prefix_hash == entry.content_hash and fp.prefix_ends_line:
        return Plan(
            fp, prior=entry, resume=Resume(entry.size_bytes, fp.prefix_lines), known_lines=_known(entry)
        )
    return Plan(fp, known_lines=_known(entry))


def _known(entry: LedgerEntry | None) -> LineDigests:
    """The remembered lines of a ledger row, or a fresh seed: a row with no seed (written before migration 023)
    holds SHA-256 digests, which no line's digest of today matches, so they are dropped (read once more)."""
    if entry is None or entry.line_seed is None:
        return LineDigests.fresh()
    return LineDigests(entry.line_seed, entry.line_hashes, entry.line_posts)


def looks_unchanged(conn: psycopg.Connection, path: Path, fmt: str) -> bool:
    """Whether the file has the size and modification time its ledger row (in this format) recorded: a guess
    that costs a stat, for deciding where to import a file (`ingest.run.parallel`), never for skipping one;
    `plan` compares the bytes."""
    entry = _entry(conn, path, fmt, with_lines=False)
    if entry is None:
        return False
    st = path.stat()
    return entry.size_bytes == st.st_size and entry.mtime_ns == st.st_mtime_ns


def imported_before(conn: psycopg.Connection, path: Path, fmt: str) -> bool:
    """Whether the ledger has a row for the file in this format (whatever its bytes now)."""
    return _entry(conn, path, fmt, with_lines=False) is not None


def _entry(conn: psycopg.Connection, path: Path, fmt: str, *, with_lines: bool = True) -> LedgerEntry | None:
    """The ledger row of the file, if it was imported in this format."""
    entry = ledger.get(conn, str(path.resolve()), with_lines=with_lines)
    return entry if entry is not None and entry.format == fmt else None


def _same_bytes(entry: LedgerEntry, path: Path) -> FileFingerprint | None:
    """The file's fingerprint when its bytes are those of its ledger row; None when it changed."""
    fp = fingerprint(path, count_lines=False)
    return fp if fp.size_bytes == entry.size_bytes and fp.content_hash == entry.content_hash else None


def _head_differs(entry: LedgerEntry, path: Path) -> bool:
    """The file's first MiB is not what it was: only telling where the last import read at least a MiB (a smaller
    file's head grows with an append), and where the ledger row has the head's hash."""
    return entry.head_hash is not None and entry.size_bytes >= BLOCK and head_hash(path) != entry.head_hash


def remember(
    conn: psycopg.Connection,
    fp: FileFingerprint,
    fmt: str,
    records: int,
    posts: int,
    rejected: int,
    lines: LineDigests | None = None,
) -> None:
    ledger.record(
        conn,
        LedgerEntry(
            fp.path,
            fmt,
            fp.size_bytes,
            fp.mtime_ns,
            fp.content_hash,
            fp.lines,
            records,
            posts,
            rejected,
            line_hashes=lines.packed if lines is not None else None,
            head_hash=fp.head_hash,
            line_seed=lines.seed if lines is not None else None,
            line_posts=lines.posts if lines is not None else None,
        ),
    )
