"""Lines of a JSONL file read with a bound: a hostile or broken file cannot make one record cost its whole size
in memory.

Decoding a JSON line costs several times its size (the bytes, the parsed dict, the post's text, its provenance
copy): a single 200 MB line took ~1.5 GB. So a line longer than `max_record_bytes()` (`WIREWATCH_MAX_RECORD_BYTES`,
default 16 MiB) is never held whole: it is skipped in chunks, and the reader reports its line number, size and
first bytes so that the import refuses it with a reason while the rest of the file loads.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ingest.models import RawRecord, quick_init

DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024
_SKIP_CHUNK = 1024 * 1024
_HEAD_BYTES = 4096  # kept from an oversize line, so its reject shows what it was
_EOL_BYTES = (b"\r", b"\n", b"")
# Python's default buffer (the file system's block size, 4 KiB here) makes `readline` of 3 KB records issue a read
# call every line or two, each of which lets another thread take the GIL: reading 328 MB of Telethon lines took
# 0.15 s alone and ~0.6 s beside an import's other threads, against 0.03 s with a 1 MiB buffer.
READ_BUFFER = 1024 * 1024


def open_lines(path: Path) -> BinaryIO:
    """`path` opened for `read_lines`, with a buffer large enough that reading is not the bottleneck."""
    return path.open("rb", buffering=READ_BUFFER)


def max_record_bytes() -> int:
    """The longest line (in bytes, newline excluded) an import decodes: `WIREWATCH_MAX_RECORD_BYTES`."""
    value = os.environ.get("WIREWATCH_MAX_RECORD_BYTES", "").strip()
    try:
        n = int(value) if value else DEFAULT_MAX_RECORD_BYTES
    except ValueError:
        return DEFAULT_MAX_RECORD_BYTES
    return n if n > 0 else DEFAULT_MAX_RECORD_BYTES


@quick_init
@dataclass(frozen=True, slots=True)
class Line:
    """One line: `data` (with its line end, as iterating over a file gives it), or for an oversize line None with
    its `size` and `head`. `size` leaves the line end out."""

    number: int
    data: bytes | None
    size: int
    head: bytes = b""

    def refusal(self, limit: int) -> str:
        return (
            f"line is {self.size:,} bytes, over the {limit:,}-byte record limit (WIREWATCH_MAX_RECORD_BYTES): "
            "skipped without decoding it"
        )


@dataclass(frozen=True, slots=True)
class Resume:
    """Where to go on reading a file that has grown since it was imported: after its first `offset` bytes, which
    held `lines` whole lines (so origins keep their line numbers)."""

    offset: int
    lines: int


def read_lines(fh: BinaryIO, limit: int | None = None, resume: Resume | None = None) -> Iterator[Line]:
    """Lines of a binary file, numbered from 1, a UTF-8 byte-order mark on the first one removed. Blank lines are
    yielded too (their numbers count). With `resume`, reading starts after its prefix and numbering after its
    lines."""
    limit = max_record_bytes() if limit is None else limit
    number = 0
    if resume is not None:
        fh.seek(resume.offset)
        number = resume.lines
    while True:
        # limit + 2 leaves room for a line of exactly `limit` bytes and its CR LF.
        raw = fh.readline(limit + 2)
        if not raw:
            return
        number += 1
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        complete = raw.endswith(b"\n") or len(raw) < limit + 2
        if complete:
            # The common line ends in one LF after some other byte: its size needs no stripped copy.
            size = (
                len(raw) - 1
                if raw[-2:-1] not in _EOL_BYTES and raw[-1:] == b"\n"
                else len(raw.rstrip(b"\r\n"))
            )
            yield Line(number, raw, size) if size <= limit else Line(number, None, size, raw[:_HEAD_BYTES])
            continue
        head, size, tail = raw[:_HEAD_BYTES], len(raw), raw[-2:]
        del raw  # the rest of the line is read and dropped a chunk at a time
        while not tail.endswith(b"\n"):
            chunk = fh.readline(_SKIP_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            tail = (tail + chunk[-2:])[-2:]
        yield Line(number, None, size - (len(tail) - len(tail.rstrip(b"\r\n"))), head)


def oversize_record(
    source: str, origin: str, line: Line, limit: int, context: dict[str, Any] | None = None
) -> RawRecord:
    """The record an oversize line becomes: no payload, its first bytes as `raw_text`, and the reason under
    `context["refused"]`, which `ingest.run.records.normalize_records` turns into a reject."""
    return RawRecord(
        source, None, origin, context={**(context or {}), "refused": line.refusal(limit)},
        raw_text=line.head.decode("utf-8", "replace"),
    )  # fmt: skip
