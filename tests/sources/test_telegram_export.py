"""Tests for ingest/sources/telegram_export.py: header, streaming, damaged files (fixtures in tests/data/)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest

from ingest.run.imports import import_files
from ingest.sources.telegram_export import read_export, read_header

DATA = Path(__file__).resolve().parents[1] / "data" / "telegram_export"
CHANNEL = DATA / "channel"
CHANNEL_ID = 1600000001


def test_reads_header_then_every_message_in_order():
    records = list(read_export(CHANNEL))  # the folder: result.json inside it is read
    assert [r.payload["id"] for r in records] == list(range(1, 23))
    first = records[0]
    assert first.source == "telegram_export"
    assert first.context == {
        "channel_id": CHANNEL_ID,
        "channel_name": "wirewatch test channel (synthetic)",
        "channel_type": "public_channel",
        "handle": None,
    }
    assert first.origin == f"{CHANNEL / 'result.json'}#0" and records[4].origin.endswith("result.json#4")
    assert (
        records[0].context is not records[1].context
    )  # a normaliser cannot leak changes into the next record


def test_floats_arrive_as_float_not_decimal():
    (loc,) = [r.payload for r in read_export(CHANNEL) if r.payload["id"] == 14]
    lat = loc["location_information"]["latitude"]
    assert type(lat) is float and lat == 50.450001
    json.dumps(loc)  # plain JSON types only (Decimal would not serialise)


def test_header_after_messages_is_found_by_a_second_pass():
    records = list(read_export(DATA / "messages_first.json"))
    assert [r.payload["id"] for r in records] == [1, 2, 3]
    assert {r.context["channel_id"] for r in records} == {CHANNEL_ID}
    assert records[0].context["channel_type"] == "public_channel"


def test_handle_from_export_or_argument(tmp_path):
    export = json.loads((CHANNEL / "result.json").read_text())
    named = {"name": export["name"], "type": export["type"], "id": export["id"], "username": "@TestChan",
             "messages": export["messages"][:2]}  # fmt: skip
    path = tmp_path / "result.json"
    path.write_text(json.dumps(named))
    assert {r.context["handle"] for r in read_export(path)} == {"TestChan"}
    assert {r.context["handle"] for r in read_export(CHANNEL, handle="other")} == {"other"}


def test_byte_order_mark_is_skipped(tmp_path):
    path = tmp_path / "result.json"
    path.write_bytes(b"\xef\xbb\xbf" + (CHANNEL / "result.json").read_bytes())
    assert len(list(read_export(path))) == 22


def test_truncated_file_yields_what_it_can_then_says_where():
    seen = []
    with pytest.raises(ValueError) as info:
        for rec in read_export(DATA / "truncated.json"):
            seen.append(rec.payload["id"])
    assert seen == [1, 2, 3, 4]
    msg = str(info.value)
    assert "truncated.json" in msg and "after message index 3" in msg and "4 messages read" in msg
    assert "premature EOF" in msg


def test_truncated_file_loads_earlier_messages_and_reports_the_file(conn):
    (summary,) = import_files(conn, [DATA / "truncated.json"])
    assert summary.records == 4 and summary.stats.inserted == 4
    assert summary.error is not None and "after message index 3" in summary.error
    ids = [r[0] for r in conn.execute("SELECT post_id FROM posts ORDER BY post_id")]
    assert ids == [1, 2, 3, 4]
    reason, origin = conn.execute("SELECT reason, origin FROM rejected_records").fetchone()
    assert reason.startswith("unreadable input:") and "truncated" in reason
    assert origin.endswith("truncated.json")
    assert conn.execute("SELECT status FROM ingest_runs").fetchone()[0] == "partial"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"about": "x", "chats": {"list": []}}', "full-account export"),
        ('[{"id": 1}]', "JSON array"),
        ('{"name": "n", "type": "public_channel", "id": 5}', "no top-level 'messages'"),
        ('{"name": "n", "type": "public_channel", "messages": []}', "no top-level chat 'id'"),
        ('{"name": "n", "type": "public_channel", "mess', "before the channel header"),
        ('{"messages": [{"id": 1}, {"id": 2', "before the channel header"),
    ],
)
def test_files_that_are_not_one_channel_export_are_refused(tmp_path, content, reason):
    path = tmp_path / "result.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=reason):
        list(read_export(path))


def test_empty_channel_has_a_header_and_no_messages(tmp_path):
    path = tmp_path / "result.json"
    path.write_text('{"name": "n", "type": "private_channel", "id": 7, "messages": []}')
    assert list(read_export(path)) == []
    assert read_header(path) == {"name": "n", "type": "private_channel", "id": 7}


# ------------------------------------------------------------------------------------------- streaming

N_MESSAGES = 200_000


def _write_big_export(path: Path, n: int) -> None:
    """A tdesktop-shaped export of n messages (synthetic), written incrementally."""
    with path.open("wb") as fh:
        fh.write(
            b'{\n "name": "big synthetic channel",\n "type": "public_channel",\n "id": 1600000099,\n "messages": ['
        )
        for i in range(1, n + 1):
            ts = 1782432000 + i * 7
            text = [f"Synthetic message {i} about ", {"type": "hashtag", "text": "#load"}, " see ",
                    {"type": "link", "text": f"https://example.org/{i}"}]  # fmt: skip
            msg = {
                "id": i, "type": "message", "date": "2026-06-26T03:00:00", "date_unixtime": str(ts),
                "from": "big synthetic channel", "from_id": "channel1600000099", "text": text,
                "text_entities": [p if isinstance(p, dict) else {"type": "plain", "text": p} for p in text],
            }  # fmt: skip
            if i % 10 == 0:
                msg["photo"] = "(File not included. Change data exporting settings to download.)"
                msg["width"], msg["height"] = 1280, 720
            fh.write((b",\n  " if i > 1 else b"\n  ") + orjson.dumps(msg))
        fh.write(b"\n ]\n}\n")


@pytest.mark.slow
def test_200k_message_export_streams_in_bounded_memory(tmp_path):
    path = tmp_path / "result.json"
    _write_big_export(path, N_MESSAGES)
    size = path.stat().st_size
    # A fresh interpreter, so the peak RSS it reports belongs to this read alone.
    script = textwrap.dedent(
        f"""
        import resource, sys
        from pathlib import Path
        from ingest.sources.telegram_export import read_export
        from ingest.normalize.telegram_export import normalize_export_message
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        n = 0
        last = None
        for rec in read_export(Path({str(path)!r})):
            last = normalize_export_message(rec)[0]
            n += 1
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(n, last.post_id, (after - before) * 1024)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, check=True
    )
    n, last_id, growth = (int(x) for x in out.stdout.split())
    assert n == N_MESSAGES and last_id == N_MESSAGES
    assert size > 60 * 1024 * 1024
    # Holding the messages would take several times the file size; streaming stays at a few MB.
    assert growth < size / 20, (
        f"peak RSS grew {growth / 2**20:.1f} MiB reading a {size / 2**20:.0f} MiB export"
    )
