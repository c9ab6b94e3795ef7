"""Tests for ingest/normalize/telegram_export.py on the synthetic fixtures in tests/data/telegram_export/."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.models import Post, RawRecord, Rejected
from ingest.normalize.telegram_export import normalize_export_message
from ingest.run.imports import import_files
from ingest.sources.telegram_export import read_export

DATA = Path(__file__).resolve().parents[1] / "data" / "telegram_export"
CHANNEL = DATA / "channel"
CHANNEL_ID = 1600000001


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def records() -> dict[int, RawRecord]:
    return {r.payload["id"]: r for r in read_export(CHANNEL)}


def _post(record: RawRecord) -> Post:
    out = normalize_export_message(record)
    assert len(out) == 1 and isinstance(out[0], Post), out
    return out[0]


def _with(record: RawRecord, **changes) -> RawRecord:
    payload = copy.deepcopy(record.payload)
    for key, value in changes.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    return RawRecord(record.source, payload, record.origin, record.fetched_at, dict(record.context))


def test_utc_time_comes_from_date_unixtime_not_local_date(records):
    post = _post(records[2])
    assert records[2].payload["date"] == "2026-06-26T06:04:00"  # the exporter's clock, UTC+3
    assert post.posted_at == _utc(2026, 6, 26, 3, 4)
    assert post.version_at == post.posted_at and post.edited_at is None
    late = _post(records[22])  # local date already says 26 June
    assert late.posted_at == _utc(2026, 6, 25, 23, 30)


def test_edit_time_from_edited_unixtime(records):
    post = _post(records[16])
    assert post.posted_at == _utc(2026, 6, 26, 4, 0)
    assert post.edited_at == _utc(2026, 6, 26, 4, 7, 30)
    assert post.version_at == post.edited_at


def test_edited_without_unixtime_keeps_the_post_without_an_edit_time(records):
    post = _post(_with(records[16], edited_unixtime=None))
    assert post.edited_at is None and post.version_at == post.posted_at


def test_text_as_list_rebuilds_plain_text_and_entities(records):
    post = _post(records[3])
    assert post.text == (
        "Synthetic: a post with a link https://example.org/a?b=1, a bare link example.com/news, a hidden link, "
        "tags #Test #тест and @someone Named User 🔥\nsecond line."
    )
    assert post.links == (
        "https://example.org/a?b=1",
        "https://example.com/news",
        "https://example.net/hidden",
    )
    assert post.hashtags == ("Test", "тест")
    assert post.mentions == ("someone",)  # mention_name has no username


def test_text_list_without_text_entities(records):
    assert "text_entities" not in records[18].payload
    post = _post(records[18])
    assert post.text == "Old style https://example.org/old"
    assert post.links == ("https://example.org/old",)


def test_text_entities_and_text_agree(records):
    # Same message read from `text` only (older exports) and from `text_entities` gives the same post text.
    full = _post(records[3])
    text_only = _post(_with(records[3], text_entities=None))
    assert (full.text, full.links, full.hashtags, full.mentions) == (
        text_only.text, text_only.links, text_only.hashtags, text_only.mentions,
    )  # fmt: skip


def test_service_messages(records):
    created = _post(records[1])
    assert created.kind == "service" and created.text == "create_channel: wirewatch test channel (synthetic)"
    pin = _post(records[17])
    assert pin.kind == "service" and pin.text == "pin_message #3" and pin.reply_to is None


def test_forward_from_channel_keeps_its_id_and_name(records):
    post = _post(records[5])
    fwd = post.forwarded_from
    assert fwd is not None
    assert (fwd.platform, fwd.channel_id, fwd.name) == ("telegram", 1700000002, "Other Channel (synthetic)")
    assert fwd.post_id is None and fwd.posted_at is None  # exports do not say which post, nor when


def test_forward_from_users_keeps_only_the_name(records):
    hidden = _post(records[6]).forwarded_from
    assert hidden is not None and (hidden.channel_id, hidden.name) == (None, "Hidden Person")
    user = _post(records[7]).forwarded_from
    assert user is not None and (user.channel_id, user.name) == (None, "Visible Person")


def test_reply(records):
    reply = _post(records[8]).reply_to
    assert reply is not None and (reply.channel_id, reply.post_id) == (CHANNEL_ID, 3)
    other = _post(_with(records[8], reply_to_peer_id="channel1700000002")).reply_to
    assert other is not None and (other.channel_id, other.post_id) == (1700000002, 3)


@pytest.mark.parametrize(
    ("msg_id", "expected"),
    [
        (4, {"type": "photo", "width": 1280, "height": 853}),
        (9, {"type": "video", "media_type": "video_file", "mime_type": "video/mp4", "file_name": "clip.mp4",
             "duration": 31, "size": 1048576, "path": "video_files/clip_9.mp4"}),
        (10, {"type": "sticker", "emoji": "👍"}),
        (11, {"type": "voice", "media_type": "voice_message", "mime_type": "audio/ogg"}),
        (12, {"type": "animation", "mime_type": "video/mp4"}),
        (13, {"type": "poll", "question": "Synthetic poll?", "answers": ["Yes", "No"], "total_voters": 12}),
        (14, {"type": "geo", "latitude": 50.450001, "longitude": 30.523333}),
        (15, {"type": "contact", "first_name": "Test", "last_name": "Contact"}),
        (19, {"type": "document", "mime_type": "application/pdf", "file_name": "report.pdf"}),
        (20, {"type": "venue", "place_name": "Synthetic Square", "latitude": 48.5}),
    ],
)  # fmt: skip
def test_media_types(records, msg_id, expected):
    (item,) = _post(records[msg_id]).media
    assert {k: item.get(k) for k in expected} == expected
    # Export paths stay out of the hashed keys; a placeholder for a skipped file is not a path.
    assert not str(item.get("path", "")).startswith("(")


def test_media_not_exported_does_not_look_like_an_edit(records):
    # The same video exported without media: the path becomes "(File not included...)"; content is unchanged.
    with_file = _post(records[9])
    without = _post(
        _with(records[9], file="(File not included. Change data exporting settings to download.)")
    )
    assert with_file.content_hash() == without.content_hash()
    changed = _post(
        _with(
            records[9],
            text="Video, recaptioned.",
            text_entities=[{"type": "plain", "text": "Video, recaptioned."}],
        )
    )
    assert changed.content_hash() != with_file.content_hash()


def test_exports_carry_no_counts_and_no_albums(records):
    post = _post(records[21])
    assert "reactions" in post.raw
    assert post.metrics is None and post.grouped_id is None and post.observed_at is None


def test_url_channel_and_identity(records):
    post = _post(records[2])
    assert post.key == ("telegram", CHANNEL_ID, 2) and post.source_post_id == 2
    assert post.url == f"https://t.me/c/{CHANNEL_ID}/2"
    assert post.channel is not None and post.channel.title == "wirewatch test channel (synthetic)"
    assert post.source == "telegram_export" and post.raw == records[2].payload
    named = RawRecord(
        records[2].source, records[2].payload, "", None, {**records[2].context, "handle": "testchan"}
    )
    assert _post(named).url == "https://t.me/testchan/2"
    assert _post(named).channel.handle == "testchan"


def test_missing_date_unixtime_is_rejected_saying_date_is_local():
    recs = list(read_export(DATA / "old_export.json"))
    (rej,) = normalize_export_message(recs[0])
    assert isinstance(rej, Rejected)
    assert (
        "date_unixtime missing" in rej.reason
        and "local time" in rej.reason
        and "2021-03-01T12:00:00" in rej.reason
    )
    assert (rej.platform, rej.channel_id, rej.post_id) == ("telegram", 1600000003, 1)
    assert rej.origin.endswith("old_export.json#0")
    (ok,) = normalize_export_message(recs[1])
    assert isinstance(ok, Post) and ok.posted_at == _utc(2021, 3, 1, 10, 5)
    (unsupported,) = normalize_export_message(recs[2])
    assert isinstance(unsupported, Rejected) and "unsupported" in unsupported.reason


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"id": "abc"}, "message 'id' not numeric"),
        ({"date_unixtime": "yesterday"}, "date_unixtime is not a Unix time"),
        ({"date_unixtime": None, "date": None}, "date_unixtime missing: the message has no time"),
        ({"forwarded_from_id": "group77"}, "forwarded_from_id 'group77' is not"),
        ({"forwarded_from_id": "channelX"}, "forwarded_from_id not numeric"),
        ({"reply_to_message_id": "x"}, "reply_to_message_id not numeric"),
        ({"text_entities": [{"type": "bold", "text": 5}]}, "text part 0 ('bold') has a non-string 'text'"),
        ({"text_entities": None, "text": {"a": 1}}, "text has type dict"),
        ({"type": "weird"}, "unknown message type 'weird'"),
    ],
)
def test_malformed_fields_are_rejected_with_the_field_named(records, changes, reason):
    (out,) = normalize_export_message(_with(records[2], **changes))
    assert isinstance(out, Rejected)
    assert reason in out.reason


def test_missing_channel_id_and_non_object_are_rejected(records):
    no_channel = RawRecord("telegram_export", records[2].payload, "x#1", None, {"channel_id": None})
    (rej,) = normalize_export_message(no_channel)
    assert isinstance(rej, Rejected) and "export channel id" in rej.reason
    (rej,) = normalize_export_message(RawRecord("telegram_export", [1, 2], "x#2", None, {"channel_id": 5}))
    assert isinstance(rej, Rejected) and "expected an object" in rej.reason


# ------------------------------------------------------------------------------------- real PostgreSQL


def test_import_stores_posted_at_from_date_unixtime(conn):
    (summary,) = import_files(conn, [CHANNEL])
    assert summary.error is None and summary.format == "telegram-export"
    assert summary.records == 22 and summary.stats.inserted == 22 and summary.stats.rejected == 0
    row = conn.execute(
        "SELECT posted_at, version_at, source, url FROM posts WHERE platform = 'telegram' AND channel_id = %s "
        "AND post_id = 2",
        (CHANNEL_ID,),
    ).fetchone()
    assert row[0] == _utc(2026, 6, 26, 3, 4)  # date_unixtime 1782443040, not the local 06:04
    assert row[0].timestamp() == 1782443040
    assert row[1] == row[0] and row[2] == "telegram_export"
    edited = conn.execute(
        "SELECT posted_at, edited_at, version_at FROM posts WHERE channel_id = %s AND post_id = 16",
        (CHANNEL_ID,),
    ).fetchone()
    assert edited == (_utc(2026, 6, 26, 4, 0), _utc(2026, 6, 26, 4, 7, 30), _utc(2026, 6, 26, 4, 7, 30))
    fwd = conn.execute(
        "SELECT fwd_platform, fwd_channel_id, fwd_post_id, fwd_name FROM posts WHERE channel_id = %s AND post_id = 5",
        (CHANNEL_ID,),
    ).fetchone()
    assert fwd == ("telegram", 1700000002, None, "Other Channel (synthetic)")
    kinds = dict(conn.execute("SELECT kind, count(*) FROM posts GROUP BY kind").fetchall())
    assert kinds == {"post": 20, "service": 2}
    chan = conn.execute(
        "SELECT handle, title FROM channels WHERE platform = 'telegram' AND channel_id = %s", (CHANNEL_ID,)
    ).fetchone()
    assert chan == (None, "wirewatch test channel (synthetic)")
    # Re-importing the same export changes nothing.
    (again,) = import_files(conn, [CHANNEL])
    assert again.stats.inserted == 0 and again.stats.updated == 0 and again.stats.unchanged == 22


def test_import_rejects_message_without_unixtime(conn):
    (summary,) = import_files(conn, [DATA / "old_export.json"])
    assert summary.error is None and summary.stats.inserted == 1 and summary.stats.rejected == 2
    reasons = [r[0] for r in conn.execute("SELECT reason FROM rejected_records ORDER BY post_id")]
    assert len(reasons) == 2
    assert "date_unixtime missing" in reasons[0] and "local time" in reasons[0]
    assert "unsupported" in reasons[1]
    assert conn.execute("SELECT status FROM ingest_runs").fetchone()[0] == "succeeded"
