"""`raw_records` keeps each post's payload as orjson writes the decoded input (a message), or its members' payloads
inside one document (an album), whichever way the import ran: checked on every real Telethon capture, read ahead
and inline, against the lines themselves. (A guard for any change to how payloads reach `raw_records`: handing
over the bytes the raw hash serialised was tried this way, see docs/performance.md.)"""

from __future__ import annotations

from pathlib import Path

import orjson
import psycopg
import pytest

from ingest.run.imports import import_files
from tests.conftest import truncate_all


def _lines(paths: list[Path]) -> dict[str, bytes]:
    out = {}
    for path in paths:
        for n, line in enumerate(path.read_bytes().splitlines(), 1):
            out[f"{path}:{n}"] = line
    return out


@pytest.mark.parametrize("read_ahead", [True, False])
def test_stored_payloads_are_the_decoded_lines_as_orjson_writes_them(
    db: str, shared_data: Path, read_ahead: bool
) -> None:
    truncate_all(db)
    paths = sorted((shared_data / "telethon").glob("*.jsonl"))
    lines = _lines(paths)
    with psycopg.connect(db) as conn:
        summaries = import_files(conn, paths, batch_size=40, read_ahead=read_ahead)
        conn.commit()
        assert all(s.error is None for s in summaries)
        rows = conn.execute("SELECT origin, payload FROM raw_records WHERE platform = 'telegram'").fetchall()
    # Every line as orjson writes it decoded: an album's members must each be one of them.
    decoded = {orjson.dumps(orjson.loads(line)) for line in lines.values() if line.strip()}
    singles = albums = 0
    for origin, payload in rows:
        doc = orjson.loads(payload)
        if isinstance(doc, dict) and "album" in doc:
            assert all(orjson.dumps(m) in decoded for m in doc["album"]), origin
            albums += 1
            continue
        expected = orjson.dumps(orjson.loads(lines[origin]))
        assert payload.encode("utf-8") == expected, origin
        singles += 1
    assert singles > 100 and albums >= 2
