"""Importing an unchanged file again changes nothing, in every import format (issue 16): the second import reports
nothing inserted, updated or added, and no row moves, `last_seen_at` and every other bookkeeping time included.

The files cover each format with what made re-imports write before: X pages holding one post in several states
(an edit and its original, early and late counts), Telethon dumps with duplicate lines and albums, Desktop
exports, saved t.me/s pages."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ingest.run.imports import import_files

_TABLES = {
    "posts": "platform, channel_id, post_id",
    "post_versions": "platform, channel_id, post_id, version_at, content_hash",
    "post_metrics": "platform, channel_id, post_id, observed_at",
    "raw_records": "platform, channel_id, post_id, row_hash, fetched_at",
    "channels": "platform, channel_id",
    "channel_aliases": "platform, channel_id, valid_from",
    "rejected_records": "source, payload_hash, reason",
}


def _files(repo_root: Path, shared_data: Path) -> list[tuple[str, Path]]:
    demo = repo_root / "seeds" / "demo"
    pages = shared_data / "x_api_v2" / "twarc_pages"
    return [
        *(("telegram-export", p) for p in sorted((demo / "telegram").glob("*/result.json"))),
        *(("x-v2-jsonl", p) for p in sorted((demo / "x").glob("*.jsonl"))),
        *(("x-v2-jsonl", pages / n) for n in ("edited_before.jsonl", "edited.jsonl", "edited_after.jsonl",
                                              "quoted_edit.jsonl", "two_tweets.jsonl", "tweets_compliance.jsonl")),
        ("telethon-jsonl", shared_data / "telethon" / "bloomberg_1488156064.jsonl"),
        ("telethon-jsonl", shared_data / "telethon" / "onepiecespoilhere_1508897975.jsonl"),
        ("telegram-web", shared_data / "telegram_web" / "channel_feed_durov.html"),
        ("telegram-web", repo_root / "tests" / "data" / "telegram_web" / "synthetic_wwsynth_features.html"),
    ]  # fmt: skip


def _rows(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    out = {}
    for table, order in _TABLES.items():
        # Every column, bookkeeping times included: a re-import must not move last_seen_at or updated_at either.
        out[table] = conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()  # noqa: S608
    conn.commit()
    return out


def test_reimporting_an_unchanged_file_changes_nothing_in_any_format(db, conn, repo_root, shared_data):
    files = _files(repo_root, shared_data)
    assert {fmt for fmt, _ in files} == {"telegram-export", "x-v2-jsonl", "telethon-jsonl", "telegram-web"}
    for fmt, path in files:
        first = import_files(conn, [path], fmt)
        assert first[0].error is None, first[0].as_dict()
    before = _rows(conn)
    assert before["posts"] and before["post_versions"] and before["post_metrics"]
    for fmt, path in files:
        (again,) = import_files(conn, [path], fmt)
        s = again.stats
        assert (s.inserted, s.updated, s.versions, s.metrics) == (0, 0, 0, 0), (str(path), again.as_dict())
    after = _rows(conn)
    for table in _TABLES:
        gone = [r for r in before[table] if r not in after[table]]
        came = [r for r in after[table] if r not in before[table]]
        assert (gone, came) == ([], []), f"{table}: {gone[:2]} -> {came[:2]}"


@pytest.mark.parametrize("name", ["kyivpost.jsonl", "polymarketintel.jsonl"])
def test_demo_x_pages_with_edit_history_reimport_as_unchanged(db, conn, repo_root, name):
    path = repo_root / "seeds" / "demo" / "x" / name
    import_files(conn, [path], "x-v2-jsonl")
    seen = conn.execute("SELECT post_id, last_seen_at FROM posts ORDER BY post_id").fetchall()
    conn.commit()
    (again,) = import_files(conn, [path], "x-v2-jsonl")
    assert again.stats.updated == 0 and again.stats.inserted == 0, again.as_dict()
    assert conn.execute("SELECT post_id, last_seen_at FROM posts ORDER BY post_id").fetchall() == seen
