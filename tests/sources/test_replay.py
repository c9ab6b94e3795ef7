"""The replay source over real captures: windows, cursors, batches, rescans and the warehouse end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from ingest.models import ChannelSpec, Cursor, FetchWindow, Post
from ingest.sources.base import SourceError
from ingest.sources.replay import ReplaySource, load_capture, normalize_replay
from ingest.warehouse.queries import table_checksums
from tests.dags import helpers

BLOOMBERG = 1488156064
ONEPIECE = 1508897975


@pytest.fixture(scope="module")
def capture(tmp_path_factory, shared_data) -> tuple[Path, dict]:
    dest = tmp_path_factory.mktemp("capture")
    return dest, helpers.make_capture(shared_data, dest)


def spec(platform: str, handle: str, path: Path, channel_id: int | None = None, **options) -> ChannelSpec:
    return ChannelSpec(
        platform, handle, "replay", channel_id=channel_id, options={"replay_path": str(path), **options}
    )


def drain(source, s, channel_id, cursor=None, **window):
    return list(source.fetch(s, channel_id, cursor, FetchWindow(**window)))


def test_window_serves_only_its_posts_oldest_first_in_batches(capture):
    dest, times = capture
    s = spec("telegram", "bloomberg", dest / "telegram_bloomberg.jsonl", BLOOMBERG, replay_batch=2)
    since = helpers.CAPTURE_START + timedelta(hours=10)
    until = since + timedelta(hours=6)
    batches = drain(ReplaySource(), s, BLOOMBERG, since=since, until=until)
    ids = [r.payload["id"] for b in batches for r in b.records]
    expected = sorted(i for i, t in times["bloomberg"].items() if since <= t < until)
    assert ids == expected and len(expected) == 4
    assert [len(b.records) for b in batches] == [2, 2]
    assert all(not b.rescan for b in batches)
    # Each batch reaches the cursor of its newest post.
    assert [b.cursor.last_post_id for b in batches] == [expected[1], expected[3]]
    assert batches[-1].cursor.last_posted_at == times["bloomberg"][expected[3]]


def test_incremental_pass_starts_after_the_cursor(capture):
    dest, times = capture
    s = spec("telegram", "bloomberg", dest / "telegram_bloomberg.jsonl", BLOOMBERG)
    ordered = sorted(times["bloomberg"])
    batches = drain(ReplaySource(), s, BLOOMBERG, Cursor(last_post_id=ordered[29]))
    assert [r.payload["id"] for b in batches for r in b.records] == ordered[30:]
    assert drain(ReplaySource(), s, BLOOMBERG, Cursor(last_post_id=ordered[-1])) == []


def test_rescan_lists_contiguous_id_ranges_and_keeps_the_cursor(capture):
    dest, times = capture
    s = spec("telegram", "bloomberg", dest / "telegram_bloomberg.jsonl", BLOOMBERG, replay_batch=3)
    until = helpers.CAPTURE_START + timedelta(hours=20)
    batches = drain(ReplaySource(), s, BLOOMBERG, since=until - timedelta(hours=1), until=until,
                    rescan_since=until - timedelta(hours=12))  # fmt: skip
    rescans = [b for b in batches if b.rescan]
    ids = [r.payload["id"] for b in rescans for r in b.records]
    assert ids == sorted(i for i, t in times["bloomberg"].items() if until - timedelta(hours=12) <= t < until)
    assert all(b.cursor is None for b in rescans)
    # Consecutive Listed ranges leave no gap, so a post missing between two batches is still noticed.
    ranges = [(b.listed.low, b.listed.high) for b in rescans]
    assert ranges[0][0] == ids[0] and ranges[-1][1] == ids[-1]
    assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:], strict=False))


def test_album_is_never_split_and_the_last_duplicate_wins(capture, shared_data):
    dest, times = capture
    s = spec(
        "telegram", "onepiecespoilhere", dest / "telegram_onepiecespoilhere.jsonl", ONEPIECE, replay_batch=4
    )
    batches = drain(ReplaySource(), s, ONEPIECE)
    albums = {}
    for n, b in enumerate(batches):
        for r in b.records:
            if r.payload.get("grouped_id"):
                albums.setdefault(r.payload["grouped_id"], set()).add(n)
    assert albums and all(len(where) == 1 for where in albums.values())
    served = [r.payload for b in batches for r in b.records]
    assert len(served) == len({p["id"] for p in served}) == 40
    # The capture repeats records (collector re-runs): the one served is the file's last for that id.
    lines = [json.loads(x) for x in (dest / "telegram_onepiecespoilhere.jsonl").read_text().splitlines()]
    last = {p["id"]: p for p in lines}
    assert len(lines) > len(last)
    assert all(p == last[p["id"]] for p in served)


def test_x_capture_resolves_by_handle_and_pages_carry_only_their_includes(capture):
    dest, times = capture
    s = spec("x", helpers.X_HANDLE, dest / "x_phillynefl.jsonl")
    src = ReplaySource()
    channel_id, handle, title = src.resolve(s)
    assert (channel_id, handle) == (helpers.X_USER_ID, helpers.X_HANDLE) and title
    since = helpers.CAPTURE_START + timedelta(hours=3)
    (batch,) = drain(src, s, channel_id, since=since, until=since + timedelta(hours=2))
    (record,) = batch.records
    page = record.payload
    assert [int(t["id"]) for t in page["data"]] == sorted(i for i, t in times[helpers.X_HANDLE].items()
                                                           if since <= t < since + timedelta(hours=2))  # fmt: skip
    refs = {r["id"] for t in page["data"] for r in t.get("referenced_tweets", ())}
    assert {t["id"] for t in page["includes"].get("tweets", ())} <= refs
    assert str(helpers.X_USER_ID) in {u["id"] for u in page["includes"]["users"]}
    assert batch.listed is None


def test_resolve_needs_an_id_when_a_capture_mixes_channels(tmp_path, shared_data):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for name in ("bloomberg_1488156064.jsonl", "onepiecespoilhere_1508897975.jsonl"):
        (mixed / name).write_bytes((shared_data / "telethon" / name).read_bytes())
    src = ReplaySource()
    with pytest.raises(SourceError, match="set channel_id"):
        src.resolve(spec("telegram", "bloomberg", mixed))
    assert src.resolve(spec("telegram", "bloomberg", mixed, BLOOMBERG))[0] == BLOOMBERG
    # Only that channel's posts are served from the folder.
    ids = {r.payload["peer_id"]["channel_id"] for b in drain(src, spec("telegram", "x1", mixed, BLOOMBERG), BLOOMBERG)
           for r in b.records}  # fmt: skip
    assert ids == {BLOOMBERG}


def test_wrong_platform_missing_file_and_bad_lines(tmp_path, capture):
    dest, _ = capture
    with pytest.raises(SourceError, match="not telethon-jsonl"):
        ReplaySource().resolve(spec("telegram", "phillynefl", dest / "x_phillynefl.jsonl"))
    with pytest.raises(SourceError, match="does not exist"):
        ReplaySource().resolve(spec("telegram", "nope", tmp_path / "nope.jsonl"))
    with pytest.raises(SourceError, match="replay_path"):
        ReplaySource().resolve(ChannelSpec("telegram", "nope", "replay"))
    broken = tmp_path / "broken.jsonl"
    good = (dest / "telegram_bloomberg.jsonl").read_text().splitlines()
    broken.write_text("\n".join([good[0], '{"_": "Message", "id": 1, "peer_id"', good[1]]) + "\n")
    cap = load_capture(broken)
    assert (len(cap.items), cap.unreadable) == (2, 1)
    (batch,) = drain(ReplaySource(), spec("telegram", "b", broken, BLOOMBERG), BLOOMBERG)
    assert batch.notes == {"replay_unreadable_records": 1}


def test_normalised_posts_keep_utc_times_and_say_replay(capture):
    dest, times = capture
    s = spec("telegram", "bloomberg", dest / "telegram_bloomberg.jsonl", BLOOMBERG)
    now = datetime(2026, 11, 29, tzinfo=UTC)
    records = [r for b in ReplaySource(now=now).fetch(s, BLOOMBERG, None, FetchWindow(since=None, until=None, rescan_since=None))
               for r in b.records]  # fmt: skip
    posts = [p for r in records for p in normalize_replay(r)]
    assert all(isinstance(p, Post) for p in posts) and len(posts) == 40
    assert {p.post_id: p.posted_at for p in posts} == times["bloomberg"]
    assert {p.source for p in posts} == {"replay"} and {p.observed_at for p in posts} == {now}
    assert posts[0].channel.handle == "bloomberg"
    orjson.dumps([p.raw for p in posts])


def test_replay_channel_through_the_pipeline_is_idempotent(db, conn, capture, tmp_path, monkeypatch):
    """Through `wirewatch ingest`'s function: the window's posts land; the same window again changes nothing."""
    from ingest.run import reconnecting as service

    dest, times = capture
    monkeypatch.setenv("WIREWATCH_CHANNELS", str(helpers.write_channels(tmp_path, dest)))
    since = helpers.CAPTURE_START + timedelta(hours=12)
    until = since + timedelta(hours=3)
    for s in service.watched_channels():
        assert service.ingest_channel(db, s, since=since, until=until).status == "succeeded"
    first = table_checksums(conn)
    stored = dict(conn.execute(
        "SELECT post_id, posted_at FROM posts WHERE platform = 'telegram' AND channel_id = %s", (BLOOMBERG,)
    ).fetchall())  # fmt: skip
    assert stored == {i: t for i, t in times["bloomberg"].items() if since <= t < until}
    conn.commit()
    for s in service.watched_channels():
        assert service.ingest_channel(db, s, since=since, until=until).status == "succeeded"
    assert table_checksums(conn) == first
