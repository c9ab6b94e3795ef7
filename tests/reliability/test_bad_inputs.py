"""The bad-input corpus (tests/data/bad/, expectations in tests/data/bad/MANIFEST.toml): every kind of damage in
every import format is either loaded correctly or lands in rejected_records with a precise reason; nothing
raises; the import summary and the run record count the rejects; the good records beside a bad one still load.
Then the same corpus through `wirewatch import --json` in a subprocess: no traceback, and the JSON summary adds up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from ingest.run.imports import import_files
from tests.conftest import truncate_all

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
MANIFEST = tomllib.loads((BAD / "MANIFEST.toml").read_text(encoding="utf-8"))["case"]


def _param(case: dict):
    marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if case.get("xfail") else []
    return pytest.param(case, id=case["name"], marks=marks)


def _materialise(case: dict, tmp: Path) -> Path:
    """The path to import: a corpus file, or a case the test makes."""
    kind = case.get("generate")
    if kind is None:
        return BAD / case["path"]
    if kind == "five_mb_text":
        good = (BAD / "telethon" / "bool_id.jsonl").read_bytes().splitlines()[0]
        big = json.loads(good)
        big.update(id=101, message="x" * 5_000_000)
        path = tmp / "five_mb_text.jsonl"
        path.write_bytes(good + b"\n" + json.dumps(big).encode() + b"\n")
        return path
    if kind == "directory":
        path = tmp / "capture.jsonl"
        path.mkdir()
        return path
    if kind == "missing_path":
        return tmp / "no_such_capture.jsonl"
    raise ValueError(f"unknown generated case {kind!r}")


def test_corpus_has_forty_kinds_in_every_format():
    formats = {c["format"] for c in MANIFEST}
    assert len(MANIFEST) >= 40
    assert {"telethon-jsonl", "x-v2-jsonl", "telegram-export", "telegram-web"} <= formats
    for case in MANIFEST:
        if "path" in case:
            assert (BAD / case["path"]).exists(), case["path"]


@pytest.mark.parametrize("case", [_param(c) for c in MANIFEST])
def test_bad_input_is_loaded_or_rejected_with_its_reason(db, case, tmp_path):
    path = _materialise(case, tmp_path)
    with psycopg.connect(db) as conn:
        summaries = import_files(conn, [path], case["format"])  # must not raise
        posts = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT post_id, text, posted_at, media, hashtags, deleted_at FROM posts ORDER BY post_id"
            )
        }
        rejects = [r[0] for r in conn.execute("SELECT reason FROM rejected_records ORDER BY id")]
        run_status, run_rejected = conn.execute(
            "SELECT array_agg(status ORDER BY run_id), coalesce(sum(rejected), 0) FROM ingest_runs"
        ).fetchone()
        versions = conn.execute("SELECT count(*) FROM post_versions").fetchone()[0]
    assert sorted(posts) == sorted(case["posts"]), (sorted(posts), rejects)
    assert len(rejects) == len(case["reasons"]), rejects
    for got, want in zip(rejects, case["reasons"], strict=True):
        assert want in got, f"reason {got!r} does not say {want!r}"
    # The summary a user sees and the run record both count every reject.
    assert sum(s.stats.rejected for s in summaries) == len(rejects) == run_rejected
    assert run_status == [case.get("status", "succeeded")]
    for pid, text in case.get("texts", {}).items():
        assert posts[int(pid)][0] == text
    for pid, length in case.get("text_lengths", {}).items():
        assert len(posts[int(pid)][0]) == length and "&amp;" not in posts[int(pid)][0]
    for pid, when in case.get("posted_at", {}).items():
        assert posts[int(pid)][1] == datetime.fromisoformat(when)
    for pid, types in case.get("media_types", {}).items():
        assert [m["type"] for m in posts[int(pid)][2]] == types
    for pid, tags in case.get("hashtags", {}).items():
        assert posts[int(pid)][3] == tags
    if "versions" in case:
        assert versions == case["versions"]
    deleted = sorted(pid for pid, row in posts.items() if row[4] is not None)
    assert deleted == sorted(case.get("deleted", []))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["telethon-jsonl", "x-v2-jsonl", "telegram-export", "telegram-web"])
def test_cli_imports_a_folder_of_bad_files_without_a_traceback(dsn, fmt, tmp_path, repo_root):
    """All of a format's corpus files in one `wirewatch import --json` (the known-bug ones left out)."""
    cases = [c for c in MANIFEST if c["format"] == fmt and "path" in c and not c.get("xfail")]
    truncate_all(dsn)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    out = subprocess.run(
        [str(Path(sys.executable).parent / "wirewatch"), "--dsn", dsn, "import", "--json", "--format", fmt,
         *[str(BAD / c["path"]) for c in cases]],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    summary = json.loads(out.stdout)
    assert [s["path"] for s in summary] == [str(BAD / c["path"]) for c in cases]
    unreadable = [c for c in cases if c.get("status") in ("failed", "partial")]
    assert out.returncode == (1 if unreadable else 0), (out.returncode, out.stderr[-2000:])
    for s, c in zip(summary, cases, strict=True):
        assert s["rejected"] == len(c["reasons"]), (c["name"], s)
        assert (s["error"] is not None) == (c in unreadable), (c["name"], s)
    with psycopg.connect(dsn) as conn:
        n = conn.execute("SELECT count(*) FROM rejected_records").fetchone()[0]
    # Identical payloads refused for the same reason are stored once (re-imports must not duplicate them).
    assert n <= sum(len(c["reasons"]) for c in cases)
    assert n >= len({r for c in cases for r in c["reasons"]})
