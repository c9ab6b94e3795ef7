"""Bounded memory on hostile input (issue 16): one huge line in a Telethon JSONL or X pages file is refused with its
origin and reason without being read whole (a 200 MB line took ~1.5 GB to decode), and the rest of the file loads.
One huge message in a Telegram Desktop export is refused the same way (the messages before it load; the file's
rest is not read, the run is partial), and so is a saved t.me/s page over the limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from ingest.run.imports import import_files
from tests.reliability.test_bad_inputs import BAD

_TELETHON_GOOD = json.loads((BAD / "telethon" / "bool_id.jsonl").read_bytes().splitlines()[0])


def _telethon_line(post_id: int, text: str) -> bytes:
    return json.dumps(_TELETHON_GOOD | {"id": post_id, "message": text}).encode()


def _x_line(tweet_id: int, text: str) -> bytes:
    page = {
        "data": [{"id": str(tweet_id), "text": text, "author_id": "2244994945",
                  "created_at": "2022-12-06T10:00:00.000Z", "edit_history_tweet_ids": [str(tweet_id)]}],
        "includes": {"users": [{"id": "2244994945", "username": "bigx", "name": "Big X"}]},
    }  # fmt: skip
    return json.dumps(page).encode()


FORMATS = {
    "telethon-jsonl": (_telethon_line, (100, 101, 102)),
    "x-v2-jsonl": (_x_line, (1600000000000000001, 1600000000000000002, 1600000000000000003)),
}


def _write(path: Path, fmt: str, huge_bytes: int) -> tuple[int, int]:
    """Good line, a line of about `huge_bytes` (streamed to disk, never built in memory), good line."""
    make, (first, huge, last) = FORMATS[fmt]
    prefix, suffix = make(huge, "HUGE").split(b"HUGE")
    chunk = b"x" * (1 << 20)
    with path.open("wb") as fh:
        fh.write(make(first, "before the huge line") + b"\n")
        fh.write(prefix)
        for _ in range(huge_bytes // len(chunk)):
            fh.write(chunk)
        fh.write(b"x" * (huge_bytes % len(chunk)) + suffix + b"\n")
        fh.write(make(last, "after the huge line") + b"\n")
    return first, last


def _check(db: str, path: Path, stored: tuple[int, int], limit: int) -> None:
    with psycopg.connect(db) as conn:
        posts = sorted(r[0] for r in conn.execute("SELECT post_id FROM posts"))
        rejects = conn.execute("SELECT reason, origin, length(payload) FROM rejected_records").fetchall()
    assert posts == sorted(stored)
    ((reason, origin, payload_len),) = rejects
    assert origin == f"{path}:2", origin
    assert f"over the {limit:,}-byte record limit (WIREWATCH_MAX_RECORD_BYTES)" in reason, reason
    assert 0 < payload_len <= 4096  # the line's first bytes, to recognise it by


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_line_over_the_record_limit_is_refused_and_the_rest_loads(db, tmp_path, monkeypatch, fmt):
    monkeypatch.setenv("WIREWATCH_MAX_RECORD_BYTES", "4000")
    path = tmp_path / "capture.jsonl"
    stored = _write(path, fmt, 10_000)
    with psycopg.connect(db) as conn:
        (summary,) = import_files(conn, [path], fmt)
    assert summary.error is None and summary.records == 3 and summary.stats.rejected == 1, summary.as_dict()
    _check(db, path, stored, 4000)


#: The address-space limit the importing process runs under: decoding the 200 MB line would take ~1.5 GB.
MEMORY_LIMIT = 1 << 30


# The import runs as the grandchild of this test, forked from a small Python that applies the limit and reports the
# import's peak RSS. Measured from the test itself, ru_maxrss would include the forked copy of the pytest worker
# (Linux keeps the pre-exec high-water mark): hundreds of MB late in a full run, whatever the import used.
_MEASURE = """
import os, resource, subprocess, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1])))
proc = subprocess.Popen(sys.argv[3:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[2], "w") as f:
    f.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.slow
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_200_mb_line_is_refused_under_a_1_gb_memory_limit(db, tmp_path, repo_root, fmt):
    path = tmp_path / "hostile.jsonl"
    stored = _write(path, fmt, 200 * 1024 * 1024)
    env = {k: v for k, v in os.environ.items() if k != "WIREWATCH_MAX_RECORD_BYTES"}
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(MEMORY_LIMIT), str(tmp_path / "peak_kb"),
             str(Path(sys.executable).parent / "wirewatch"), "--dsn", db, "import", "--json", "--format", fmt,
             str(path)],
            cwd=repo_root, env=env, stdout=o, stderr=e, check=False,
        )  # fmt: skip
    peak_mb = int((tmp_path / "peak_kb").read_text()) / 1024
    print(
        f"{fmt}: 200 MB line, peak RSS {peak_mb:.0f} MB under a {MEMORY_LIMIT >> 20} MB address-space limit"
    )
    assert proc.returncode == 0, (proc.returncode, err.read_text()[-3000:])
    (summary,) = json.loads(out.read_text())
    assert summary["rejected"] == 1 and summary["inserted"] == 2, summary
    _check(db, path, stored, 16 * 1024 * 1024)
    assert peak_mb < 300, peak_mb


def test_the_replay_source_skips_a_line_over_the_record_limit(tmp_path, monkeypatch):
    from ingest.sources.replay import load_capture

    monkeypatch.setenv("WIREWATCH_MAX_RECORD_BYTES", "4000")
    path = tmp_path / "capture.jsonl"
    _write(path, "telethon-jsonl", 10_000)
    capture = load_capture(path)
    assert [i.post_id for i in capture.items] == [100, 102] and capture.unreadable == 1


def _export_message(msg_id: int, text: str) -> bytes:
    msg = {"id": msg_id, "type": "message", "date": "2026-06-26T06:04:00", "date_unixtime": "1782443040",
           "from": "Huge", "from_id": "channel1600000077", "text": text, "text_entities": []}  # fmt: skip
    return json.dumps(msg, indent=1).encode()


def _write_export(path: Path, huge_bytes: int) -> None:
    """A Desktop export (pretty-printed, header first, as tdesktop writes it): message 1, a message whose text is
    about `huge_bytes` (streamed to disk), message 3."""
    prefix, suffix = _export_message(2, "HUGE").split(b"HUGE")
    chunk = b"x" * (1 << 20)
    with path.open("wb") as fh:
        fh.write(b'{\n "name": "Huge", "type": "public_channel", "id": 1600000077, "username": "huge",\n')
        fh.write(b' "messages": [\n' + _export_message(1, "before the huge message") + b",\n" + prefix)
        for _ in range(huge_bytes // len(chunk)):
            fh.write(chunk)
        fh.write(b"x" * (huge_bytes % len(chunk)) + suffix + b",\n")
        fh.write(_export_message(3, "after the huge message") + b"\n ]\n}\n")


def test_an_export_message_over_the_record_limit_is_refused_with_the_messages_before_it_kept(
    db, tmp_path, monkeypatch
):
    monkeypatch.setenv("WIREWATCH_MAX_RECORD_BYTES", "200000")
    path = tmp_path / "result.json"
    _write_export(path, 3_000_000)
    with psycopg.connect(db) as conn:
        (summary,) = import_files(conn, [path], "telegram-export")
        posts = [r[0] for r in conn.execute("SELECT post_id FROM posts")]
        (status,) = conn.execute("SELECT status FROM ingest_runs").fetchone()
        ((reason, origin),) = conn.execute("SELECT reason, origin FROM rejected_records").fetchall()
    assert posts == [1] and status == "partial", (posts, status)
    assert "over the 200,000-byte record limit (WIREWATCH_MAX_RECORD_BYTES" in reason, reason
    assert f"{path}#1" in reason + (origin or ""), (reason, origin)
    assert summary.error and "record limit" in summary.error, summary.as_dict()


def test_an_export_within_the_limit_still_loads_whole(db, tmp_path, monkeypatch):
    monkeypatch.setenv("WIREWATCH_MAX_RECORD_BYTES", "200000")
    path = tmp_path / "result.json"
    _write_export(path, 150_000)  # several parser reads, each message under the limit
    with psycopg.connect(db) as conn:
        (summary,) = import_files(conn, [path], "telegram-export")
        posts = sorted(r[0] for r in conn.execute("SELECT post_id FROM posts"))
    assert summary.error is None and posts == [1, 2, 3], (summary.as_dict(), posts)


def test_a_header_value_over_the_record_limit_is_refused(db, tmp_path, monkeypatch):
    monkeypatch.setenv("WIREWATCH_MAX_RECORD_BYTES", "100000")
    path = tmp_path / "result.json"
    path.write_bytes(
        b'{"name": "' + b"n" * 1_000_000 + b'", "type": "public_channel", "id": 1, "messages": []}'
    )
    with psycopg.connect(db) as conn:
        (summary,) = import_files(conn, [path], "telegram-export")
    assert summary.error and "over the record limit" in summary.error, summary.as_dict()


def test_a_saved_page_over_the_record_limit_is_refused_unread(db, tmp_path, monkeypatch):
    monkeypatch.setenv("WIREWATCH_MAX_RECORD_BYTES", "100000")
    path = tmp_path / "page.html"
    path.write_bytes(b"<html><body>" + b"<div>x</div>" * 20_000 + b"</body></html>")
    with psycopg.connect(db) as conn:
        (summary,) = import_files(conn, [path], "telegram-web")
        (reason,) = conn.execute("SELECT reason FROM rejected_records").fetchone()
    assert "over the 100,000-byte record limit" in reason, reason
    assert summary.records == 0 and summary.error, summary.as_dict()


@pytest.mark.slow
def test_a_200_mb_export_message_is_refused_under_a_1_gb_memory_limit(db, tmp_path, repo_root):
    path = tmp_path / "result.json"
    _write_export(path, 200 * 1024 * 1024)
    env = {k: v for k, v in os.environ.items() if k != "WIREWATCH_MAX_RECORD_BYTES"}
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("wb") as o, err.open("wb") as e:
        subprocess.run(
            [sys.executable, "-c", _MEASURE, str(MEMORY_LIMIT), str(tmp_path / "peak_kb"),
             str(Path(sys.executable).parent / "wirewatch"), "--dsn", db, "import", "--json", "--format",
             "telegram-export", str(path)],
            cwd=repo_root, env=env, stdout=o, stderr=e, check=False,
        )  # fmt: skip
    peak_mb = int((tmp_path / "peak_kb").read_text()) / 1024
    print(f"telegram-export: 200 MB message, peak RSS {peak_mb:.0f} MB under a {MEMORY_LIMIT >> 20} MB limit")
    with psycopg.connect(db) as conn:
        posts = [r[0] for r in conn.execute("SELECT post_id FROM posts")]
        (reason,) = conn.execute("SELECT reason FROM rejected_records").fetchone()
    assert posts == [1], (posts, err.read_text()[-3000:])
    assert "record limit" in reason, reason
    assert peak_mb < 300, peak_mb
