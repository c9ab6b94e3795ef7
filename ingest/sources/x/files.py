"""X API v2 page files (twarc2 output, one JSON page a line), read as raw records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from ingest.models import RawRecord
from ingest.sources.known_lines import KnownLines
from ingest.sources.lines import Resume, max_record_bytes, open_lines, oversize_record, read_lines

FILE_SOURCE = "x_v2_jsonl"


def read_pages(
    path: Path, resume: Resume | None = None, known: KnownLines | None = None
) -> Iterator[RawRecord]:
    """Stream a JSONL file of X API v2 pages. Blank lines are skipped; a line that is not JSON becomes a record
    with no payload (the normaliser rejects it with the decoder's error) and the rest of the file still loads.
    `resume`: only what was appended after an imported prefix. `known`: every line is noted there, and a page it
    knows from the file's last import is left out before decoding."""
    path = Path(path)
    limit = max_record_bytes()
    with open_lines(path) as fh:
        for numbered in read_lines(fh, limit, resume):
            origin = f"{path}:{numbered.number}"
            line = numbered.data
            if line is None:
                yield oversize_record(FILE_SOURCE, origin, numbered, limit)
                continue
            if not line.strip():
                continue
            if known is not None and known.skip(numbered.number, line):
                continue
            try:
                payload = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield RawRecord(
                    source=FILE_SOURCE, payload=None, origin=origin,
                    raw_text=line.decode("utf-8", "replace").rstrip("\r\n"), context={"json_error": str(exc)},
                )  # fmt: skip
                continue
            yield RawRecord(source=FILE_SOURCE, payload=payload, origin=origin)
