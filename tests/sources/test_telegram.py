"""ingest.sources.telegram: the Telethon JSONL reader and the live TelethonSource, loaded through
ingest.run into the real PostgreSQL. The live source talks to a fake Telegram (telethon_fakes) that serves
real TL objects rebuilt from ../shared/data/telethon."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from telethon.tl import types
from telethon.tl.functions.contacts import ResolveUsernameRequest
from telethon.tl.functions.messages import GetHistoryRequest

from ingest.models import ChannelSpec, Cursor, FetchWindow, Post
from ingest.run.channel import run_channel
from ingest.run.imports import import_files
from ingest.sources.base import Batch, Deferred, SourceError
from ingest.sources.formats import detect_format
from ingest.sources.telegram import (
    ResolveBudget,
    SessionLock,
    TelegramCredentials,
    TelethonSource,
    credentials_from_env,
    handle_from_filename,
    read_jsonl,
)
from ingest.sources.telegram.jsonl import file_context
from ingest.warehouse.queries import table_checksums
from tests.sources.telethon_fakes import FakeTelegram, factory_for, tl_from_dict

UTC = timezone.utc
BLOOMBERG, ONEPIECE, BRITISH = 1488156064, 1508897975, 1799276919
SECRET_HASH = "0123456789abcdef0123456789abcdef"
SECRET_SESSION = "1BVtsOKABuSECRETSESSIONSTRINGxyz0123456789=="


# ------------------------------------------------------------------------------------------------ helpers


class Clock:
    def __init__(self, t: datetime):
        self.t = t

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw) -> datetime:
        self.t += timedelta(**kw)
        return self.t


def tl_messages(shared_data: Path, name: str) -> list:
    """The file's messages as TL objects, one per id (the last copy of a duplicate wins)."""
    by_id = {}
    for rec in read_jsonl(shared_data / "telethon" / name):
        by_id[rec.payload["id"]] = tl_from_dict(rec.payload)
    return [by_id[k] for k in sorted(by_id)]


@pytest.fixture
def server(shared_data: Path) -> FakeTelegram:
    s = FakeTelegram()
    s.add_channel(BLOOMBERG, "bloomberg", "Bloomberg", tl_messages(shared_data, "bloomberg_1488156064.jsonl"))
    s.add_channel(
        ONEPIECE,
        "onepiecespoilhere",
        "One Piece",
        tl_messages(shared_data, "onepiecespoilhere_1508897975.jsonl"),
    )
    s.add_channel(
        BRITISH,
        "britishnewspatriot",
        "British News",
        tl_messages(shared_data, "britishnewspatriot_1799276919.jsonl"),
    )
    return s


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 10, 1, 0, 0, tzinfo=UTC))


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_source(server, clock, sleeps, tmp_path):
    made: list[TelethonSource] = []

    def make(session: str = SECRET_SESSION, **kw) -> TelethonSource:
        kw.setdefault("resolve_budget", ResolveBudget(20))
        kw.setdefault("lock_dir", tmp_path / "locks")
        src = TelethonSource(
            TelegramCredentials(12345, SECRET_HASH, session), client_factory=factory_for(server),
            sleep=sleeps.append, now=clock, **kw,
        )  # fmt: skip
        made.append(src)
        return src

    yield make
    for src in made:
        src.close()


def spec(handle: str, **kw) -> ChannelSpec:
    return ChannelSpec(platform="telegram", handle=handle, source="telethon", **kw)


def scalar(conn, sql: str, *args):
    return conn.execute(sql, args).fetchone()[0]


def post_ids(conn, channel_id: int) -> list[int]:
    return [r[0] for r in conn.execute(
        "SELECT post_id FROM posts WHERE channel_id = %s ORDER BY post_id", (channel_id,))]  # fmt: skip


def cursor_row(conn, channel_id: int):
    return conn.execute(
        "SELECT last_post_id, last_posted_at, deferred_until FROM cursors WHERE channel_id = %s AND source = 'telethon'",
        (channel_id,),
    ).fetchone()


def server_ids(server: FakeTelegram, channel_id: int) -> list[int]:
    return sorted(server.channels[channel_id].messages)


def expected_post_ids(server: FakeTelegram, channel_id: int) -> list[int]:
    """Message ids minus album members after the first (an album is one post)."""
    seen_groups: set[int] = set()
    out = []
    for mid in server_ids(server, channel_id):
        g = server.channels[channel_id].messages[mid].grouped_id
        if g is not None:
            if g in seen_groups:
                continue
            seen_groups.add(g)
        out.append(mid)
    return out


# ------------------------------------------------------------------------------------------ JSONL reader


def test_handle_from_filename():
    assert handle_from_filename(Path("bloomberg_1488156064.jsonl")) == ("bloomberg", 1488156064)
    assert handle_from_filename(Path("@Python_1050982793.jsonl")) == ("Python", 1050982793)
    assert handle_from_filename(Path("british_news_1799276919.jsonl")) == ("british_news", 1799276919)
    assert handle_from_filename(Path("export.jsonl")) == (None, None)
    assert handle_from_filename(Path("ab_123456.jsonl")) == (None, None)  # too short for a username


def test_read_jsonl_streams_records_with_origin_and_handle(shared_data):
    path = shared_data / "telethon" / "@Python_1050982793.jsonl"
    recs = list(read_jsonl(path))
    assert len(recs) == 14
    assert recs[0].source == "telethon_jsonl" and recs[0].origin == f"{path}:1"
    assert recs[0].context == {"handle": "Python", "handle_channel_id": 1050982793}
    assert recs[0].payload["id"] == 2004378 and recs[0].raw_text is None
    assert detect_format(path).name == "telethon-jsonl"


def test_a_channel_table_beside_the_files_names_their_channels(conn, shared_data, tmp_path):
    """A folder of `<channel id>.jsonl` files with a `channels.csv` (as ../shared/data/telegram_news_ru has): the
    channels get their titles (and handles where the table has them); names never go to another channel's
    messages, and a malformed table row or an unlisted file only goes without a name."""
    news = shared_data / "telegram_news_ru"
    mash, moscow, bbc = 1117628569, 1003313758, 1003921752
    for cid in (mash, moscow, bbc):
        lines = (news / f"{cid}.jsonl").read_bytes().splitlines()[:20]
        (tmp_path / f"{cid}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    # One of Mash's messages in Moscow's file: it keeps its own channel, with no name taken from the file.
    stray = orjson.loads((news / f"{mash}.jsonl").read_bytes().splitlines()[50])
    with (tmp_path / f"{moscow}.jsonl").open("ab") as fh:
        fh.write(orjson.dumps(stray) + b"\n")
    (tmp_path / "channels.csv").write_text(
        "\ufeffchannel_id,title,posts,handle\n"
        f"{mash},Mash,951,@mash\n"
        f'-100{moscow},"Новости Москвы, коротко",672,\n'
        "not-an-id,Broken row,1,\n",
        encoding="utf-8",
    )
    summaries = import_files(conn, [tmp_path])
    conn.commit()
    assert sum(s.stats.inserted for s in summaries) == 61 and not any(s.stats.rejected for s in summaries)
    names = dict(
        ((cid), (handle, title))
        for cid, handle, title in conn.execute(
            "SELECT channel_id, handle, title FROM channels WHERE platform = 'telegram'"
        ).fetchall()
    )
    assert names == {mash: ("mash", "Mash"), moscow: (None, "Новости Москвы, коротко"), bbc: (None, None)}
    assert conn.execute(
        "SELECT count(*) FROM posts WHERE channel_id = %s AND post_id = %s", (mash, stray["id"])
    ).fetchone() == (1,)
    # Without the table the same files load the same posts, unnamed; a table added later is applied by --force.
    table = (tmp_path / "channels.csv").read_bytes()
    (tmp_path / "channels.csv").unlink()
    assert file_context(tmp_path / f"{mash}.jsonl") == {}
    conn.execute("TRUNCATE channels, posts, import_ledger CASCADE")
    conn.commit()
    import_files(conn, [tmp_path], skip_unchanged=True)
    conn.commit()
    assert conn.execute("SELECT count(*) FROM channels WHERE title IS NOT NULL").fetchone() == (0,)
    (tmp_path / "channels.csv").write_bytes(table)
    assert all(s.skipped for s in import_files(conn, [tmp_path], skip_unchanged=True))
    again = import_files(conn, [tmp_path], skip_unchanged=False)
    conn.commit()
    assert sum(s.stats.inserted for s in again) == 0
    assert conn.execute("SELECT title FROM channels WHERE channel_id = %s", (mash,)).fetchone() == ("Mash",)
    assert file_context(shared_data / "telethon" / "bloomberg_1488156064.jsonl") == {
        "handle": "bloomberg", "handle_channel_id": 1488156064
    }  # fmt: skip


def test_read_jsonl_corrupt_and_invalid_utf8_lines(shared_data, tmp_path):
    lines = (shared_data / "telethon" / "bloomberg_1488156064.jsonl").read_bytes().splitlines()
    bad = tmp_path / "bloomberg_1488156064.jsonl"
    lone = lines[1].replace(b'"message": "', b'"message": "\\ud83d lone ', 1)
    bad.write_bytes(b"\xef\xbb\xbf" + lines[0] + b"\n\n" + lines[2][:80] + b"\n" + b'{"_": "Message", "id": 1, "message": "\xff\xfe"}\n'
                    + lone + b"\n")  # fmt: skip
    recs = list(read_jsonl(bad))
    assert [r.origin.rsplit(":", 1)[1] for r in recs] == ["1", "3", "4", "5"]  # blank line 2 skipped, BOM ok
    assert recs[0].payload["id"] == 3148
    assert recs[1].payload is None and recs[1].raw_text == lines[2][:80].decode()
    assert recs[2].payload is None and "invalid UTF-8" in recs[2].context["decode_error"]
    assert "\\xff\\xfe" in recs[2].raw_text
    assert recs[3].payload["message"].startswith("\ud83d lone")  # readable; the normaliser rejects it


# ---------------------------------------------------------------------------------------- file imports


def test_every_shared_telethon_file_imports(conn, shared_data):
    summaries = import_files(conn, [shared_data / "telethon"])
    assert [s.format for s in summaries] == ["telethon-jsonl"] * 5
    assert all(s.error is None for s in summaries)
    assert sum(s.records for s in summaries) == 157
    assert sum(s.stats.rejected for s in summaries) == 0
    # 114 distinct messages; two albums of 3 and 2 members become one post each.
    assert scalar(conn, "SELECT count(*) FROM posts") == 114 - 2 - 1
    per_channel = dict(conn.execute("SELECT channel_id, count(*) FROM posts GROUP BY 1").fetchall())
    assert per_channel == {1050982793: 11, 2606656273: 3, BLOOMBERG: 40, BRITISH: 18, ONEPIECE: 39}
    handles = dict(conn.execute("SELECT channel_id, handle FROM channels").fetchall())
    assert handles[1050982793] == "python" and handles[BLOOMBERG] == "bloomberg"

    # Albums: one post, all media, the caption, the lowest id.
    row = conn.execute(
        "SELECT post_id, text, jsonb_array_length(media), media, grouped_id FROM posts WHERE grouped_id = %s",
        (13474262262095404,),
    ).fetchone()
    assert row[0] == 2478 and row[1].startswith("These are ancient Egyptian hieroglyphs") and row[2] == 3
    assert sorted(m["msg_id"] for m in row[3]) == [2478, 2479, 2480]
    assert (
        scalar(conn, "SELECT jsonb_array_length(media) FROM posts WHERE grouped_id = %s", 14073910880902845)
        == 2
    )

    # Forwards link the origin channel, post and original date.
    fwd = conn.execute(
        "SELECT fwd_platform, fwd_channel_id, fwd_post_id, fwd_posted_at, posted_at FROM posts "
        "WHERE channel_id = %s AND post_id = 2482", (BRITISH,),
    ).fetchone()  # fmt: skip
    assert fwd[:4] == ("telegram", 1724102370, 16072, datetime(2023, 5, 17, 18, 38, 59, tzinfo=UTC))
    assert fwd[4] == datetime(2023, 5, 21, 4, 9, 30, tzinfo=UTC)
    assert (
        scalar(conn, "SELECT fwd_name FROM posts WHERE channel_id = %s AND post_id = 2476", BRITISH)
        == "Jordan"
    )

    # Service messages are kept.
    services = conn.execute(
        "SELECT channel_id, post_id, text FROM posts WHERE kind = 'service' ORDER BY 1, 2"
    ).fetchall()
    assert services == [
        (ONEPIECE, 3751, "Title changed to «One Piece Chapter 1158 (on break)»"),
        (ONEPIECE, 3878, "Title changed to «One Piece Chapter 1162»"),
        (2606656273, 1, "Channel created: «H»"),
    ]
    # Duplicates collapsed: 3886 appears three times with views 843, 844, 847 and the same text: one row with
    # the last counts, and no edit history (history starts at the first real change).
    assert scalar(conn, "SELECT views FROM posts WHERE channel_id = %s AND post_id = 3886", ONEPIECE) == 847
    assert (
        scalar(conn, "SELECT count(*) FROM post_versions WHERE channel_id = %s AND post_id = 3886", ONEPIECE)
        == 0
    )
    assert scalar(conn, "SELECT url FROM posts WHERE channel_id = %s AND post_id = 3886", ONEPIECE) == (
        "https://t.me/onepiecespoilhere/3886"
    )
    assert scalar(conn, "SELECT count(*) FROM raw_records") >= 114 - 3


def test_importing_twice_changes_nothing(conn, shared_data):
    import_files(conn, [shared_data / "telethon"])
    before = table_checksums(conn)
    again = import_files(conn, [shared_data / "telethon"])
    assert sum(s.stats.inserted + s.stats.updated + s.stats.versions for s in again) == 0
    assert table_checksums(conn) == before


def test_corrupt_lines_land_in_rejected_records(conn, shared_data, tmp_path):
    lines = (shared_data / "telethon" / "bloomberg_1488156064.jsonl").read_bytes().splitlines()
    path = tmp_path / "bloomberg_1488156064.jsonl"
    path.write_bytes(
        lines[0] + b"\n" + lines[1][:50] + b"\n" + b'{"_": "Message", "id": "x"}\n' + lines[2] + b"\n"
    )
    (summary,) = import_files(conn, [path])
    assert summary.stats.inserted == 2 and summary.stats.rejected == 2
    reasons = [r[0] for r in conn.execute("SELECT reason FROM rejected_records ORDER BY origin")]
    assert reasons[0].startswith("undecodable line:")
    assert reasons[1] == "peer_id missing: cannot tell which channel the message belongs to"
    assert (
        scalar(conn, "SELECT origin FROM rejected_records WHERE reason LIKE 'undecodable%%'") == f"{path}:2"
    )


# ---------------------------------------------------------------------------------------------- live runs


def test_first_run_reads_everything_in_pages_and_commits_the_cursor(conn, server, make_source, clock):
    src = make_source(page_size=7)
    s = run_channel(conn, spec("bloomberg"), src, rescan_hours=0, now=clock())
    assert s.status == "succeeded", s.error
    assert post_ids(conn, BLOOMBERG) == server_ids(server, BLOOMBERG)
    last = max(server_ids(server, BLOOMBERG))
    assert cursor_row(conn, BLOOMBERG)[:2] == (last, server.channels[BLOOMBERG].messages[last].date)
    # Oldest first, 7 a request, one more to find the end: every request was a valid getHistory slice.
    hist = server.history_requests()
    assert len(hist) == -(-40 // 7) + 1 and all(r.limit == 7 for r in hist)
    assert sum(1 for r in server.requests if isinstance(r, ResolveUsernameRequest)) == 1
    raw = json.loads(scalar(conn, "SELECT payload FROM raw_records WHERE post_id = 3148"))
    assert raw["date"] == "2025-08-20T05:54:04+00:00" and raw["_"] == "Message"
    assert scalar(conn, "SELECT source FROM posts WHERE post_id = 3148") == "telethon"
    assert scalar(conn, "SELECT url FROM posts WHERE post_id = 3148") == "https://t.me/bloomberg/3148"


def test_second_run_reads_only_new_posts_then_rescans(conn, server, make_source, clock):
    src = make_source()
    run_channel(conn, spec("bloomberg"), src, rescan_hours=0, now=clock())
    server.requests.clear()
    new = types.Message(id=3186, peer_id=types.PeerChannel(BLOOMBERG), date=clock.advance(hours=1),
                        message="Breaking: something new https://bloom.bg/new", views=5,
                        entities=[types.MessageEntityUrl(offset=24, length=20)])  # fmt: skip
    server.post(BLOOMBERG, new)
    s = run_channel(conn, spec("bloomberg"), src, rescan_hours=48, now=clock.advance(minutes=5))
    assert s.status == "succeeded" and s.stats.inserted == 1
    hist = server.history_requests()
    assert hist[0].offset_id == 3185 + 1 and hist[0].add_offset == -100  # from the cursor, oldest first
    assert cursor_row(conn, BLOOMBERG)[0] == 3186
    assert scalar(conn, "SELECT links FROM posts WHERE post_id = 3186") == ["https://bloom.bg/new"]
    # The rescan re-read the posts from the 48 h before now that were stored before this run.
    assert any(r.offset_date is not None for r in hist)


def test_first_run_without_cursor_reads_only_the_rescan_window(conn, server, make_source, clock):
    s = run_channel(conn, spec("bloomberg"), make_source(), rescan_hours=48, now=clock())
    assert s.status == "succeeded"
    cutoff = clock() - timedelta(hours=48)
    expected = [
        i for i in server_ids(server, BLOOMBERG) if server.channels[BLOOMBERG].messages[i].date >= cutoff
    ]
    assert post_ids(conn, BLOOMBERG) == expected == [3185]


def test_album_is_never_split_across_batches(server, make_source):
    # onepiece 3884/3885 are an album; with pages of 2 it straddles a page boundary somewhere.
    src = make_source(page_size=2)
    ch = spec("onepiecespoilhere")
    cid, _, _ = src.resolve(ch)
    batches = list(src.fetch(ch, cid, None, FetchWindow(since=None, until=None, rescan_since=None)))
    where = [
        i
        for i, b in enumerate(batches)
        for r in b.records
        if r.payload.get("grouped_id") == 14073910880902845
    ]
    assert len(where) == 2 and len(set(where)) == 1
    ids = [r.payload["id"] for b in batches for r in b.records]
    assert ids == sorted(ids) == server_ids(server, ONEPIECE)
    # Listed ranges tile the ids without gaps; cursors follow the last record of each batch.
    ranges = [(b.listed.low, b.listed.high) for b in batches]
    assert all(lo2 == hi1 + 1 for (_, hi1), (lo2, _) in zip(ranges, ranges[1:], strict=False))
    assert all(b.cursor.last_post_id == b.records[-1].payload["id"] for b in batches)


def test_album_across_pages_becomes_one_post_with_all_media(conn, server, make_source, clock):
    s = run_channel(conn, spec("britishnewspatriot"), make_source(page_size=2), rescan_hours=0, now=clock())
    assert s.status == "succeeded"
    assert post_ids(conn, BRITISH) == expected_post_ids(server, BRITISH)
    assert scalar(conn, "SELECT jsonb_array_length(media) FROM posts WHERE post_id = 2478") == 3


def test_floodwait_below_threshold_sleeps_and_continues(conn, server, make_source, clock, sleeps):
    server.flood(GetHistoryRequest, 5, skip=2)
    s = run_channel(conn, spec("bloomberg"), make_source(page_size=10), rescan_hours=0, now=clock())
    assert s.status == "succeeded"
    assert sleeps == [5]
    assert post_ids(conn, BLOOMBERG) == server_ids(server, BLOOMBERG)


def test_floodwait_above_threshold_defers_with_cursor_intact_then_resumes(conn, server, make_source, clock):
    server.flood(GetHistoryRequest, 3600, skip=2)
    src = make_source(page_size=10)
    s = run_channel(conn, spec("bloomberg"), src, rescan_hours=0, now=clock())
    assert s.status == "deferred" and s.deferred_until == clock() + timedelta(seconds=3600)
    committed = post_ids(conn, BLOOMBERG)
    assert len(committed) == 20  # two pages committed before the flood
    last, _, deferred_until = cursor_row(conn, BLOOMBERG)
    assert last == max(committed) and deferred_until == clock() + timedelta(seconds=3600)
    assert scalar(conn, "SELECT status FROM ingest_runs WHERE run_id = %s", s.run_id) == "deferred"
    assert (
        scalar(conn, "SELECT deferred_until FROM ingest_runs WHERE run_id = %s", s.run_id) == deferred_until
    )

    # Before the deferral passes the channel is skipped without a request.
    n = len(server.requests)
    early = run_channel(conn, spec("bloomberg"), src, rescan_hours=0, now=clock.advance(minutes=10))
    assert early.status == "deferred" and len(server.requests) == n
    # After it, the next run resumes from the cursor.
    s2 = run_channel(conn, spec("bloomberg"), src, rescan_hours=0, now=clock.advance(hours=2))
    assert s2.status == "succeeded" and s2.stats.inserted == 20
    assert server.history_requests()[-3].offset_id == last + 1
    assert post_ids(conn, BLOOMBERG) == server_ids(server, BLOOMBERG)
    assert cursor_row(conn, BLOOMBERG)[0] == 3185 and cursor_row(conn, BLOOMBERG)[2] is None


def test_cursor_advances_only_with_committed_rows(conn, server, make_source, clock, sleeps):
    server.drop_connection(GetHistoryRequest, skip=3, times=100)  # the third page never comes
    s = run_channel(
        conn, spec("bloomberg"), make_source(page_size=10, connect_attempts=3), rescan_hours=0, now=clock()
    )
    assert s.status == "failed" and "connection to Telegram failed 3 times" in s.error
    assert len(sleeps) == 2  # tenacity backoff between the three attempts
    stored = post_ids(conn, BLOOMBERG)
    assert len(stored) == 30 and cursor_row(conn, BLOOMBERG)[0] == max(stored)
    assert scalar(conn, "SELECT status FROM ingest_runs WHERE run_id = %s", s.run_id) == "failed"


def test_dropped_connection_is_retried_and_reconnected(conn, server, make_source, clock, sleeps):
    server.drop_connection(GetHistoryRequest, skip=1, times=2)
    s = run_channel(conn, spec("bloomberg"), make_source(page_size=10), rescan_hours=0, now=clock())
    assert s.status == "succeeded" and len(sleeps) == 2
    assert post_ids(conn, BLOOMBERG) == server_ids(server, BLOOMBERG)


def test_post_missing_from_rescan_is_marked_deleted(conn, server, make_source, clock):
    src = make_source(page_size=3)
    run_channel(conn, spec("onepiecespoilhere"), src, rescan_hours=0, now=clock())
    server.delete(ONEPIECE, 3882)  # inside the 48 h rescan window
    server.delete(ONEPIECE, 3730)  # older than the window: a rescan does not see it
    s = run_channel(conn, spec("onepiecespoilhere"), src, rescan_hours=48, now=clock.advance(hours=1))
    assert s.status == "succeeded" and s.stats.deleted == 1
    deleted = [r[0] for r in conn.execute("SELECT post_id FROM posts WHERE deleted_at IS NOT NULL")]
    assert deleted == [3882]
    # The service message in the window is never marked deleted; the rest was confirmed.
    assert scalar(conn, "SELECT deleted_at FROM posts WHERE post_id = 3878") is None


def test_deleted_last_post_is_caught_at_the_tail(conn, server, make_source, clock):
    src = make_source()
    run_channel(conn, spec("bloomberg"), src, rescan_hours=0, now=clock())
    server.delete(BLOOMBERG, 3185)  # the cursor's own post
    s = run_channel(conn, spec("bloomberg"), src, rescan_hours=48, now=clock.advance(hours=1))
    assert s.stats.deleted == 1
    assert scalar(conn, "SELECT deleted_at IS NOT NULL FROM posts WHERE post_id = 3185")


def test_deleted_first_post_of_the_rescan_window_is_caught(conn, server, make_source, clock):
    src = make_source(page_size=4)
    run_channel(conn, spec("bloomberg"), src, rescan_hours=0, now=clock())
    server.delete(BLOOMBERG, 3180)  # 2025-09-22 12:07, the oldest post inside the window below
    now = clock.advance(hours=1)
    rescan_hours = (now - datetime(2025, 9, 22, 12, 0, tzinfo=UTC)).total_seconds() / 3600
    s = run_channel(conn, spec("bloomberg"), src, rescan_hours=rescan_hours, now=now)
    assert s.stats.deleted == 1
    assert [r[0] for r in conn.execute("SELECT post_id FROM posts WHERE deleted_at IS NOT NULL")] == [3180]


def test_edit_adds_a_version_but_an_edit_date_move_does_not(conn, server, make_source, clock):
    src = make_source()
    run_channel(conn, spec("bloomberg"), src, rescan_hours=0, now=clock())
    original = server.channels[BLOOMBERG].messages[3185]
    # Reactions changed: Telegram moved edit_date, text is the same, counts moved.
    server.edit(
        BLOOMBERG, 3185, edit_date=original.edit_date + timedelta(hours=3), views=original.views + 500
    )
    s = run_channel(conn, spec("bloomberg"), src, rescan_hours=48, now=clock.advance(hours=1))
    assert s.stats.versions == 0 and s.stats.metrics >= 1
    assert scalar(conn, "SELECT count(*) FROM post_versions WHERE post_id = 3185") == 0
    assert scalar(conn, "SELECT count(*) FROM post_metrics WHERE post_id = 3185") == 2  # first and new counts
    assert scalar(conn, "SELECT version_at FROM posts WHERE post_id = 3185") == original.edit_date
    assert scalar(conn, "SELECT views FROM posts WHERE post_id = 3185") == original.views + 500
    # A real edit: the text changed.
    server.edit(
        BLOOMBERG,
        3185,
        message=original.message + " (Updated)",
        edit_date=original.edit_date + timedelta(hours=5),
    )
    s = run_channel(conn, spec("bloomberg"), src, rescan_hours=48, now=clock.advance(hours=1))
    assert s.stats.versions == 2  # the first change stores the original and the edit
    texts = [
        r[0] for r in conn.execute("SELECT text FROM post_versions WHERE post_id = 3185 ORDER BY version_at")
    ]
    assert texts == [original.message, original.message + " (Updated)"]
    assert scalar(
        conn, "SELECT version_at FROM posts WHERE post_id = 3185"
    ) == original.edit_date + timedelta(hours=5)


def test_renamed_channel_stays_one_channel_with_two_aliases(conn, server, make_source, clock):
    src = make_source()
    run_channel(conn, spec("bloomberg"), src, rescan_hours=0, now=clock())
    server.rename(BLOOMBERG, "BloombergAsia")
    s = run_channel(conn, spec("bloomberg"), src, rescan_hours=48, now=clock.advance(hours=1))
    assert s.status == "succeeded"
    assert scalar(conn, "SELECT count(*) FROM channels WHERE platform = 'telegram'") == 1
    assert scalar(conn, "SELECT handle FROM channels WHERE channel_id = %s", BLOOMBERG) == "bloombergasia"
    aliases = conn.execute(
        "SELECT handle, valid_to IS NULL FROM channel_aliases WHERE channel_id = %s ORDER BY valid_from",
        (BLOOMBERG,),
    ).fetchall()
    assert aliases == [("bloomberg", False), ("bloombergasia", True)]
    assert scalar(conn, "SELECT url FROM posts WHERE post_id = 3185") == "https://t.me/BloombergAsia/3185"
    # A new process configured with the new handle finds the same channel (one resolution, same id).
    src2 = make_source(session=SECRET_SESSION + "2")
    s2 = run_channel(conn, spec("bloombergasia"), src2, rescan_hours=0, now=clock.advance(hours=1))
    assert s2.status == "succeeded" and s2.channel_id == BLOOMBERG
    # The old handle no longer resolves: a clear failure, not a new channel.
    src3 = make_source(session=SECRET_SESSION + "3")
    s3 = run_channel(conn, spec("bloomberg"), src3, rescan_hours=0, now=clock())
    assert s3.status == "failed" and "@bloomberg does not exist" in s3.error
    assert scalar(conn, "SELECT count(*) FROM channels") == 1


def test_known_channel_id_with_a_handle_now_owned_by_another_channel(conn, server, make_source, clock):
    server.rename(BLOOMBERG, None)
    server.rename(ONEPIECE, "bloomberg")  # the handle changed hands
    s = run_channel(conn, spec("bloomberg", channel_id=BLOOMBERG), make_source(), rescan_hours=0, now=clock())
    assert s.status == "failed" and f"now belongs to channel {ONEPIECE}, not {BLOOMBERG}" in s.error
    assert scalar(conn, "SELECT count(*) FROM posts") == 0


def test_configured_access_hash_needs_no_resolution(conn, server, make_source, clock):
    ch = spec(
        "bloomberg", channel_id=BLOOMBERG, options={"access_hash": server.channels[BLOOMBERG].access_hash}
    )
    s = run_channel(conn, ch, make_source(), rescan_hours=0, now=clock())
    assert s.status == "succeeded" and len(post_ids(conn, BLOOMBERG)) == 40
    assert not any(isinstance(r, ResolveUsernameRequest) for r in server.requests)


def test_new_process_on_the_session_reuses_the_cached_access_hash(conn, server, make_source, clock, tmp_path):
    first = make_source()
    run_channel(conn, spec("bloomberg"), first, rescan_hours=0, now=clock())
    first.close()
    cache = next((tmp_path / "locks").glob("telegram-peers-*.json"))
    assert SECRET_SESSION not in cache.name and SECRET_SESSION not in cache.read_text()
    assert SECRET_HASH not in cache.read_text()
    server.requests.clear()
    second = make_source()  # a new process: nothing resolved in it yet
    s = run_channel(conn, spec("bloomberg"), second, rescan_hours=48, now=clock.advance(hours=1))
    assert s.status == "succeeded"
    assert not any(isinstance(r, ResolveUsernameRequest) for r in server.requests)
    # Without the cache, the same run costs a resolution.
    second.close()
    server.requests.clear()
    third = make_source(peer_cache=False)
    assert (
        run_channel(conn, spec("bloomberg"), third, rescan_hours=48, now=clock.advance(hours=1)).status
        == "succeeded"
    )
    assert sum(isinstance(r, ResolveUsernameRequest) for r in server.requests) == 1


def test_stale_cached_access_hash_is_replaced_by_one_resolution(conn, server, make_source, clock):
    first = make_source()
    run_channel(conn, spec("bloomberg"), first, rescan_hours=0, now=clock())
    first.close()
    server.channels[BLOOMBERG].access_hash = 555  # the old hash now gets CHANNEL_INVALID
    server.post(BLOOMBERG, types.Message(id=3186, peer_id=types.PeerChannel(BLOOMBERG), date=clock.advance(hours=1),
                                         message="after"))  # fmt: skip
    server.requests.clear()
    s = run_channel(conn, spec("bloomberg"), make_source(), rescan_hours=0, now=clock())
    assert s.status == "succeeded" and s.stats.inserted == 1
    assert sum(isinstance(r, ResolveUsernameRequest) for r in server.requests) == 1
    # A configured hash that never worked and a handle that resolves elsewhere is still refused clearly.
    server.rename(BLOOMBERG, None)
    bad = spec("gone", channel_id=BLOOMBERG, options={"access_hash": 1})
    s = run_channel(
        conn, bad, make_source(peer_cache=False, session=SECRET_SESSION + "x"), rescan_hours=0, now=clock()
    )
    assert s.status == "failed" and "@gone does not exist" in s.error


def test_resolution_budget_defers_further_channels(conn, server, make_source, clock):
    src = make_source(resolve_budget=ResolveBudget(1))
    assert run_channel(conn, spec("bloomberg"), src, rescan_hours=0, now=clock()).status == "succeeded"
    s = run_channel(conn, spec("onepiecespoilhere"), src, rescan_hours=0, now=clock())
    assert s.status == "deferred" and "resolution budget spent (1 a process" in s.error
    assert sum(isinstance(r, ResolveUsernameRequest) for r in server.requests) == 1
    # A handle already resolved (cached in the process, or known in the warehouse) costs nothing.
    assert run_channel(conn, spec("bloomberg"), src, rescan_hours=0, now=clock()).status == "succeeded"
    assert sum(isinstance(r, ResolveUsernameRequest) for r in server.requests) == 1


def test_process_budget_is_shared_between_sources(server, make_source, monkeypatch):
    from ingest.sources.telegram import budget as tg

    monkeypatch.setattr(tg, "_PROCESS_BUDGETS", {})
    monkeypatch.setenv("WIREWATCH_TELEGRAM_RESOLVE_BUDGET", "2")
    a = make_source(resolve_budget=None)
    b = make_source(session=SECRET_SESSION + "b", resolve_budget=None)
    assert a.budget is b.budget and a.budget.limit == 2
    a.resolve(spec("bloomberg"))
    b.resolve(spec("onepiecespoilhere"))
    with pytest.raises(Deferred, match="budget spent"):
        a.resolve(spec("britishnewspatriot"))


def test_floodwait_on_resolution_defers(conn, server, make_source, clock):
    server.flood(ResolveUsernameRequest, 86400)
    s = run_channel(conn, spec("bloomberg"), make_source(), rescan_hours=0, now=clock())
    assert s.status == "deferred" and s.deferred_until == clock() + timedelta(days=1)
    assert "FloodWait of 86400 s on ResolveUsernameRequest" in s.error


def test_windowed_fetch_reads_the_window_and_moves_no_cursor_across_a_gap(conn, server, make_source, clock):
    src = make_source(page_size=5)
    since, until = datetime(2025, 9, 10, tzinfo=UTC), datetime(2025, 9, 18, tzinfo=UTC)
    s = run_channel(conn, spec("bloomberg"), src, since=since, until=until, rescan_hours=0, now=clock())
    assert s.status == "succeeded"
    msgs = server.channels[BLOOMBERG].messages
    assert post_ids(conn, BLOOMBERG) == [i for i in sorted(msgs) if since <= msgs[i].date < until]
    assert cursor_row(conn, BLOOMBERG) is None  # no cursor yet and the window ends in the past: no gap made


def test_windowed_fetch_contiguous_with_cursor_advances_it(conn, server, make_source, clock):
    src = make_source(page_size=5)
    run_channel(conn, spec("bloomberg"), src, since=datetime(2025, 7, 1, tzinfo=UTC),
                until=datetime(2025, 8, 1, tzinfo=UTC), rescan_hours=0, now=clock())  # fmt: skip
    assert cursor_row(conn, BLOOMBERG) is None
    run_channel(
        conn, spec("bloomberg"), src, since=datetime(2025, 7, 1, tzinfo=UTC), rescan_hours=0, now=clock()
    )
    assert cursor_row(conn, BLOOMBERG)[0] == 3185  # up to now: the cursor may follow
    last = cursor_row(conn, BLOOMBERG)[0]
    # A window contiguous with the cursor moves it; the rest of the history is untouched.
    server.post(BLOOMBERG, types.Message(id=3190, peer_id=types.PeerChannel(BLOOMBERG),
                                         date=clock.advance(hours=2), message="late"))  # fmt: skip
    run_channel(conn, spec("bloomberg"), src, since=datetime(2025, 9, 29, tzinfo=UTC), until=clock.advance(hours=1),
                rescan_hours=0, now=clock())  # fmt: skip
    assert cursor_row(conn, BLOOMBERG)[0] == 3190 > last


def test_windowed_rescan_refreshes_only_stored_posts(conn, server, make_source, clock):
    src = make_source()
    until = datetime(2025, 9, 25, tzinfo=UTC)
    s = run_channel(conn, spec("onepiecespoilhere"), src, since=until - timedelta(hours=24), until=until,
                    rescan_hours=24 * 30, now=clock())  # fmt: skip
    assert s.status == "succeeded"
    msgs = server.channels[ONEPIECE].messages
    in_window = [i for i in sorted(msgs) if until - timedelta(hours=24) <= msgs[i].date < until]
    assert post_ids(conn, ONEPIECE) == in_window  # the rescan before the window added nothing


def test_utf16_entity_after_emoji_gives_the_right_link_live(conn, server, make_source, clock):
    text = "🚨🚨 Live: https://bloom.bg/xyz and more"
    server.post(BLOOMBERG, types.Message(
        id=3186, peer_id=types.PeerChannel(BLOOMBERG), date=datetime(2025, 9, 30, 6, tzinfo=UTC), message=text,
        entities=[types.MessageEntityUrl(offset=11, length=len("https://bloom.bg/xyz"))],
    ))  # fmt: skip
    run_channel(conn, spec("bloomberg"), make_source(), rescan_hours=0, now=clock())
    assert scalar(conn, "SELECT links FROM posts WHERE post_id = 3186") == ["https://bloom.bg/xyz"]


def test_fetch_batches_are_plain_json(server, make_source):
    src = make_source()
    ch = spec("britishnewspatriot")
    cid, handle, title = src.resolve(ch)
    assert (cid, handle, title) == (BRITISH, "britishnewspatriot", "British News")
    (batch, *_rest) = list(
        src.fetch(ch, cid, Cursor(2470), FetchWindow(since=None, until=None, rescan_since=None))
    )
    assert isinstance(batch, Batch) and not batch.rescan and batch.listed.low == 2471
    for rec in batch.records:
        orjson.dumps(rec.payload)  # JSON-safe: no datetimes, no bytes
        assert rec.fetched_at is not None and rec.context["handle"] == "britishnewspatriot"
    photo = next(r.payload for r in batch.records if r.payload["id"] == 2482)["media"]["photo"]
    assert isinstance(photo["file_reference"], str)


# -------------------------------------------------------------------------------- sessions and credentials


def test_one_client_per_session_at_a_time(server, make_source, tmp_path):
    a = make_source()
    a.resolve(spec("bloomberg"))
    b = make_source()  # same session
    with pytest.raises(SourceError, match="in use by another process"):
        b.resolve(spec("onepiecespoilhere"))
    assert len(server.active_sessions) == 1  # the fake never saw two clients on the session
    a.close()
    b.resolve(spec("onepiecespoilhere"))
    lock_files = list((tmp_path / "locks").iterdir())
    assert lock_files and all(SECRET_SESSION not in p.name for p in lock_files)


def test_second_process_waits_a_bounded_time_then_fails(tmp_path):
    lock = SessionLock(SECRET_SESSION, lock_dir=tmp_path)
    lock.acquire()
    code = textwrap.dedent(f"""
        import sys, time
        from ingest.sources.telegram import SessionLock
        from ingest.sources.base import SourceError
        t = time.monotonic()
        try:
            SessionLock({SECRET_SESSION!r}, lock_dir={str(tmp_path)!r}, wait=0.6).acquire()
        except SourceError as e:
            print("refused", round(time.monotonic() - t, 1), e)
            sys.exit(0)
        sys.exit(1)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("refused") and float(out.stdout.split()[1]) >= 0.5
    import os

    assert f"pid {os.getpid()}" in out.stdout and SECRET_SESSION not in out.stdout
    lock.release()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1  # the lock is free again: acquired


def test_session_not_logged_in(conn, server, make_source, clock):
    server.authorized_sessions = set()
    s = run_channel(conn, spec("bloomberg"), make_source(), rescan_hours=0, now=clock())
    assert s.status == "failed" and "not logged in" in s.error and "wirewatch telegram login" in s.error


def test_invalid_session_string(make_source):
    with pytest.raises(SourceError, match="TELEGRAM_SESSION is not a valid Telethon StringSession"):
        make_source(session="INVALID-xyz").resolve(spec("bloomberg"))


def test_real_telethon_client_refuses_a_malformed_session(tmp_path):
    """The default factory builds a real TelegramClient (in the source's loop thread); a session string that
    is not a StringSession is refused before any network use, without echoing it."""
    src = TelethonSource(TelegramCredentials(1, SECRET_HASH, "garbage" + SECRET_SESSION), lock_dir=tmp_path)
    try:
        with pytest.raises(SourceError) as err:
            src.resolve(spec("bloomberg"))
        assert "not a valid Telethon StringSession" in str(err.value) and SECRET_SESSION not in str(err.value)
    finally:
        src.close()


def test_lock_wait_from_env(monkeypatch):
    monkeypatch.setenv("TELEGRAM_API_ID", "1")
    monkeypatch.setenv("TELEGRAM_API_HASH", SECRET_HASH)
    monkeypatch.setenv("TELEGRAM_SESSION", SECRET_SESSION)
    monkeypatch.setenv("WIREWATCH_TELEGRAM_LOCK_WAIT", "7.5")
    assert TelethonSource.from_env().lock_wait == 7.5
    monkeypatch.setenv("WIREWATCH_TELEGRAM_LOCK_WAIT", "soon")
    with pytest.raises(SourceError, match="WIREWATCH_TELEGRAM_LOCK_WAIT"):
        TelethonSource.from_env()


def test_credentials_from_env_and_airflow_connection(monkeypatch):
    env = {"TELEGRAM_API_ID": "12345", "TELEGRAM_API_HASH": SECRET_HASH, "TELEGRAM_SESSION": SECRET_SESSION}
    c = credentials_from_env("default", env)
    assert (c.api_id, c.api_hash, c.session, c.account) == (12345, SECRET_HASH, SECRET_SESSION, "default")
    assert SECRET_HASH not in repr(c) and SECRET_SESSION not in repr(c)
    x = {"TELEGRAM_X_API_ID": "7", "TELEGRAM_X_API_HASH": "h" * 32, "TELEGRAM_X_SESSION": "s" * 40}
    assert credentials_from_env("x", x).api_id == 7
    conn_json = json.dumps({"conn_type": "generic", "login": "99", "password": SECRET_HASH,
                            "extra": {"session": SECRET_SESSION}})  # fmt: skip
    c = credentials_from_env("ops", {"AIRFLOW_CONN_TELEGRAM_OPS": conn_json})
    assert (c.api_id, c.api_hash, c.session) == (99, SECRET_HASH, SECRET_SESSION)
    c = credentials_from_env(
        "default",
        {
            "AIRFLOW_CONN_TELEGRAM_DEFAULT": f"generic://99:{SECRET_HASH}@/?session={SECRET_SESSION.replace('=', '%3D')}"
        },
    )
    assert c.session == SECRET_SESSION
    with pytest.raises(SourceError) as err:
        credentials_from_env("x", {"TELEGRAM_X_API_HASH": SECRET_HASH})
    msg = str(err.value)
    assert (
        "missing API_ID, SESSION" in msg and "TELEGRAM_X_SESSION" in msg and "AIRFLOW_CONN_TELEGRAM_X" in msg
    )
    assert SECRET_HASH not in msg
    with pytest.raises(SourceError, match="not a number"):
        credentials_from_env("default", {**env, "TELEGRAM_API_ID": SECRET_HASH})
    with pytest.raises(SourceError, match="not valid JSON"):
        credentials_from_env("ops", {"AIRFLOW_CONN_TELEGRAM_OPS": "{" + SECRET_SESSION})


def test_nothing_logged_contains_secrets(conn, server, clock, monkeypatch, caplog, tmp_path, sleeps):
    monkeypatch.setenv("TELEGRAM_API_ID", "12345")
    monkeypatch.setenv("TELEGRAM_API_HASH", SECRET_HASH)
    monkeypatch.setenv("TELEGRAM_SESSION", SECRET_SESSION)
    caplog.set_level(logging.DEBUG)
    src = TelethonSource.from_env("default", client_factory=factory_for(server), sleep=sleeps.append, now=clock,
                                  lock_dir=tmp_path, resolve_budget=5)  # fmt: skip
    assert src.lock_wait == 120.0
    server.flood(GetHistoryRequest, 3, skip=1)
    server.drop_connection(GetHistoryRequest, skip=2, times=1)
    assert run_channel(conn, spec("bloomberg"), src, rescan_hours=48, now=clock()).status == "succeeded"
    server.flood(GetHistoryRequest, 7200)
    assert run_channel(conn, spec("onepiecespoilhere"), src, rescan_hours=0, now=clock()).status == "deferred"
    server.drop_connection(GetHistoryRequest, times=100)
    failed = run_channel(conn, spec("britishnewspatriot"), src, rescan_hours=0, now=clock())
    assert failed.status == "failed"
    src.close()
    with pytest.raises(SourceError) as err:
        TelethonSource(TelegramCredentials(1, SECRET_HASH, "INVALID" + SECRET_SESSION), client_factory=factory_for(server),
                       lock_dir=tmp_path).resolve(spec("bloomberg"))  # fmt: skip
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "FloodWait" in logged and "connection problem" in logged  # the paths above did log
    for secret in (SECRET_HASH, SECRET_SESSION):
        assert secret not in logged
        assert secret not in repr(src) and secret not in str(err.value)
        assert not conn.execute("SELECT 1 FROM ingest_runs WHERE error LIKE %s OR notes::text LIKE %s",
                                (f"%{secret}%", f"%{secret}%")).fetchall()  # fmt: skip


def test_source_satisfies_registry(monkeypatch):
    from ingest.sources.registry import build_source, normalizer_for

    monkeypatch.setenv("TELEGRAM_API_ID", "12345")
    monkeypatch.setenv("TELEGRAM_API_HASH", SECRET_HASH)
    monkeypatch.setenv("TELEGRAM_SESSION", SECRET_SESSION)
    src = build_source("telethon")
    assert isinstance(src, TelethonSource) and src.name == "telethon" and src.platform == "telegram"
    src.close()
    assert normalizer_for("telethon")(
        __import__("ingest.models", fromlist=["RawRecord"]).RawRecord("telethon", [1])
    )[0].reason.startswith("payload is a JSON list")


def test_normalised_post_objects_from_live_batches(server, make_source):
    """The batches go through the same normaliser as files."""
    from ingest.normalize.telegram import normalize_message

    src = make_source()
    ch = spec("bloomberg")
    cid, _, _ = src.resolve(ch)
    batches = list(src.fetch(ch, cid, Cursor(3180), FetchWindow(since=None, until=None, rescan_since=None)))
    posts = [p for b in batches for r in b.records for p in normalize_message(r)]
    assert [p.post_id for p in posts] == [3181, 3182, 3183, 3184, 3185]
    assert all(isinstance(p, Post) and p.source == "telethon" and p.observed_at is not None for p in posts)
