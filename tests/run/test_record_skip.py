"""Records whose post the warehouse holds from the very same bytes are not normalised again (ingest/run/records.py):
in files read again and in live rescans. Counted by calls to the normaliser, not by time; and whatever changed
among them is loaded, leaving the warehouse of a run that skipped nothing (`force`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

import ingest.normalize.telegram as telegram_normalize
import ingest.normalize.x as x_normalize
from ingest.run.channel import run_channel
from ingest.run.imports import import_files
from tests.conftest import truncate_all
from tests.reliability.state import snapshot
from tests.reliability.streams import FakeLiveSource, SimClock, generate_stream, spec_for, write_jsonl
from tests.sources.test_fingerprint import _page

CHANNEL = 1_700_000_042


class Counting:
    """A normaliser that counts the records it is given."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, record):
        self.calls += 1
        return self.fn(record)


@pytest.fixture
def telethon_calls(monkeypatch) -> Counting:
    counting = Counting(telegram_normalize.normalize_message)
    monkeypatch.setattr(telegram_normalize, "normalize_message", counting)
    return counting


@pytest.fixture
def x_posts_made(monkeypatch) -> list[int]:
    """How many posts each call of the X normaliser made (its length is the number of pages normalised)."""
    made: list[int] = []
    real = x_normalize.normalize_page

    def counting(record):
        out = real(record)
        made.append(sum(1 for i in out if type(i).__name__ == "Post"))
        return out

    monkeypatch.setattr(x_normalize, "normalize_page", counting)
    return made


def _edit_lines(path, pick) -> list[dict]:
    """Rewrite the JSONL file with `pick(messages)` edited in place; returns the edited messages."""
    msgs = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    edited = pick(msgs)
    path.write_bytes(b"".join(orjson.dumps(m) + b"\n" for m in msgs))
    return edited


def _import(conn, path, fmt, *, skip: bool):
    [s] = import_files(conn, [path], fmt, skip_unchanged=skip)
    assert s.error is None, s.as_dict()
    return s


def test_a_reimported_telethon_file_normalises_only_the_records_that_changed(
    db, conn, tmp_path, telethon_calls
):
    stream = generate_stream(7, messages=150, epochs=1, p_album=0.3, channel_id=CHANNEL)
    path = tmp_path / f"capsynth_{CHANNEL}.jsonl"
    lines = write_jsonl(stream, 0, path)
    original = path.read_bytes()
    first = _import(conn, path, "telethon-jsonl", skip=True)
    assert telethon_calls.calls == lines

    def pick(msgs):
        single = next(m for m in msgs if m.get("grouped_id") is None and m.get("message"))
        single["message"] += " (corrected)"
        caption = next(m for m in msgs if m.get("grouped_id") is not None and m.get("message"))
        caption["message"] += " (corrected)"
        return [m for m in msgs if m is single or m.get("grouped_id") == caption["grouped_id"]]

    edited = _edit_lines(path, pick)
    telethon_calls.calls = 0
    again = _import(conn, path, "telethon-jsonl", skip=True)
    # The edited message, and every member of the edited album (an album is merged from all of them).
    assert telethon_calls.calls == len(edited) < lines
    posts = first.stats.inserted
    assert (again.stats.inserted, again.stats.updated, again.stats.unchanged) == (0, 2, posts - 2)
    assert again.stats.versions >= 2
    # The same two imports skipping nothing make the same warehouse.
    _as_if_every_record_was_read(db, conn, path, "telethon-jsonl", original, again)


def _pages(plain: int, *, edited: int = 0) -> list[dict]:
    """`plain` pages, then `edited` pages each holding an edit and its original, all of other posts."""
    pages = [_page(seed, edit=False) for seed in range(plain)] + [_page(plain + k) for k in range(edited)]
    for n, page in enumerate(pages):
        for t in page["data"] + page["includes"]["tweets"]:
            t["id"] = str(int(t["id"]) + n * 10_000)
            t["edit_history_tweet_ids"] = [str(int(i) + n * 10_000) for i in t["edit_history_tweet_ids"]]
            for r in t.get("referenced_tweets", ()):
                r["id"] = str(int(r["id"]) + n * 10_000)
    return pages


def test_a_reimported_page_file_normalises_only_the_edited_tweet(db, conn, tmp_path, x_posts_made):
    path = tmp_path / "pages.jsonl"
    pages = _pages(3, edited=1)
    path.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in pages))
    original = path.read_bytes()
    first = _import(conn, path, "x-v2-jsonl", skip=True)
    assert len(x_posts_made) == 4 and first.stats.rejected == 0 and first.stats.versions > 0

    target = next(
        t
        for t in pages[2]["data"]
        if not t.get("referenced_tweets") and len(t["edit_history_tweet_ids"]) == 1
    )
    target["text"] += " (corrected)"
    target["public_metrics"]["like_count"] += 5
    path.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in pages))
    x_posts_made.clear()
    again = _import(conn, path, "x-v2-jsonl", skip=True)
    # The page with the edited tweet, and of it that tweet alone; and the page holding two versions of one post,
    # which are always read together (never skipped).
    assert x_posts_made == [1, 2]
    # Skipping nothing makes the same warehouse and counts the same (the skipped posts as unchanged).
    _as_if_every_record_was_read(db, conn, path, "x-v2-jsonl", original, again)
    assert again.stats.unchanged > 40


def test_force_reads_every_record(db, conn, tmp_path, telethon_calls):
    stream = generate_stream(8, messages=40, epochs=1, channel_id=CHANNEL)
    path = tmp_path / f"capsynth_{CHANNEL}.jsonl"
    lines = write_jsonl(stream, 0, path)
    _import(conn, path, "telethon-jsonl", skip=True)
    path.write_bytes(b"\n" + path.read_bytes())  # new bytes, not appended: the ledger reads the file whole
    telethon_calls.calls = 0
    _import(conn, path, "telethon-jsonl", skip=False)
    assert telethon_calls.calls == lines
    telethon_calls.calls = 0
    path.write_bytes(b"\n" + path.read_bytes())
    _import(conn, path, "telethon-jsonl", skip=True)
    assert telethon_calls.calls == 0


def _live(conn, stream, clock, *, force: bool = False):
    source = FakeLiveSource(stream, clock, batch_size=7)
    s = run_channel(conn, spec_for(stream), source, rescan_hours=48, now=clock(), force=force)
    assert s.status == "succeeded", s.as_dict()
    return s


def test_a_live_rescan_normalises_only_what_changed_and_still_sees_the_rest(db, conn, telethon_calls):
    stream = generate_stream(9, messages=80, epochs=3, p_edit=0.2, p_delete=0.1, channel_id=CHANNEL)
    clock = SimClock(stream.t(0) + timedelta(minutes=5))
    first = _live(conn, stream, clock)
    assert telethon_calls.calls > 0

    # The same hour again: nothing changed, nothing is normalised, every post is confirmed seen, none deleted.
    clock.set(stream.t(0) + timedelta(minutes=35))
    telethon_calls.calls = 0
    before = datetime.now(UTC)  # touch_seen stamps the wall clock
    same = _live(conn, stream, clock)
    assert telethon_calls.calls == 0
    assert same.stats.unchanged == first.stats.inserted and same.stats.deleted == 0
    seen = conn.execute(
        "SELECT count(*) FILTER (WHERE last_seen_at > %s), count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM posts",
        (before,),
    ).fetchone()
    conn.commit()
    assert seen == (first.stats.inserted, 0)

    # Later hours: edits, new counts, deletions. Only the changed records are normalised, and the warehouse is
    # the one a schedule that skipped nothing makes.
    calls = []
    for k in (1, 2):
        clock.set(stream.t(k) + timedelta(minutes=5))
        telethon_calls.calls = 0
        _live(conn, stream, clock)
        calls.append(telethon_calls.calls)
    live_posts = len(stream.live(2))
    assert 0 < calls[-1] < live_posts
    got = snapshot(conn)

    truncate_all(db)
    for k, minute in ((0, 5), (0, 35), (1, 5), (2, 5)):
        clock.set(stream.t(k) + timedelta(minutes=minute))
        _live(conn, stream, clock, force=True)
    assert snapshot(conn).diff(got) == []


def test_hashes_of_another_key_are_read_once_then_skipped_under_the_new_one(db, conn, telethon_calls):
    """Stored raw hashes taken under another key (SHA-256 ones from before migration 024, or a key lost with an
    emptied `warehouse_keys`) never match: the next pass normalises every record once and stores the new hashes,
    changing nothing else, and the pass after it skips them all again."""
    stream = generate_stream(11, messages=60, epochs=1, channel_id=CHANNEL)
    clock = SimClock(stream.t(0) + timedelta(minutes=5))
    first = _live(conn, stream, clock)
    key = conn.execute("SELECT value FROM warehouse_keys WHERE name = 'raw_hash'").fetchone()[0]
    assert 0 <= key < 2**63
    before = snapshot(conn)
    conn.execute("UPDATE warehouse_keys SET value = value # 1 WHERE name = 'raw_hash'")
    conn.commit()

    clock.set(stream.t(0) + timedelta(minutes=35))
    telethon_calls.calls = 0
    again = _live(conn, stream, clock)
    assert telethon_calls.calls == len(stream.live(0)) > 0
    assert (again.stats.inserted, again.stats.updated, again.stats.versions) == (0, 0, 0)
    assert again.stats.unchanged == first.stats.inserted
    assert snapshot(conn).diff(before) == []

    clock.set(stream.t(0) + timedelta(minutes=50))
    telethon_calls.calls = 0
    _live(conn, stream, clock)
    assert telethon_calls.calls == 0


def test_an_emptied_key_table_gets_a_new_random_key_from_db_upgrade(db, conn):
    from ingest.warehouse import migrate
    from ingest.warehouse.keys import MissingKeys, read_key

    kept = read_key(conn)
    conn.execute("DELETE FROM warehouse_keys")
    with pytest.raises(MissingKeys, match="wirewatch db upgrade"):
        read_key(conn)
    conn.commit()
    assert migrate.upgrade(conn) == []  # every command runs it: no migration is due, the key is written again
    made = read_key(conn)
    assert 0 <= made < 2**63 and made != kept  # 63 random bits: equal with a chance of 1e-19
    migrate.upgrade(conn)
    assert read_key(conn) == made
    conn.rollback()


def test_a_resaved_tme_page_normalises_only_the_changed_widget(db, conn, tmp_path, repo_root, monkeypatch):
    import ingest.normalize.telegram_web as web_normalize

    calls = Counting(web_normalize.normalize_widget)
    monkeypatch.setattr(web_normalize, "normalize_widget", calls)
    html = (repo_root / "tests" / "data" / "telegram_web" / "synthetic_wwsynth_features.html").read_text()
    old = "Eyewitness: water up to the second floor."
    assert html.count(old) == 1
    path = tmp_path / "page.html"
    path.write_text(html)
    first = _import(conn, path, "telegram-web", skip=True)
    widgets = calls.calls
    assert widgets > 3 and first.stats.inserted > 3

    path.write_text(html.replace(old, "Eyewitness: water up to the third floor."))
    calls.calls = 0
    again = _import(conn, path, "telegram-web", skip=True)
    assert calls.calls == 1
    got = snapshot(conn)

    truncate_all(db)
    path.write_text(html)
    _import(conn, path, "telegram-web", skip=False)
    path.write_text(html.replace(old, "Eyewitness: water up to the third floor."))
    forced = _import(conn, path, "telegram-web", skip=False)
    assert calls.calls == 1 + 2 * widgets
    assert snapshot(conn).diff(got) == []
    assert again.stats == forced.stats and again.stats.updated == 1


def test_a_file_of_other_bytes_is_normalised_once_then_skipped_by_its_lines_hashes(
    db, conn, tmp_path, telethon_calls, shared_data
):
    """Telethon JSONL records are skipped by the hash of their line's bytes (`RawRecord.digest`). The real capture
    at another path: nothing normalised. The same messages written compactly (other bytes, the same payloads):
    each normalised once, nothing written but their new hashes; then skipped. An edited line: that one alone."""
    src = shared_data / "telethon" / "bloomberg_1488156064.jsonl"
    lines = src.read_bytes().splitlines()

    def at(name: str, data: bytes):
        # A collector's next capture: another file named after the same channel (the ledger never knows it).
        path = tmp_path / name / src.name
        path.parent.mkdir()
        path.write_bytes(data)
        telethon_calls.calls = 0
        return _import(conn, path, "telethon-jsonl", skip=True)

    first = at("a", src.read_bytes())
    assert telethon_calls.calls == len(lines) and first.stats.inserted > 20
    got = snapshot(conn)
    same = at("b", src.read_bytes())
    assert telethon_calls.calls == 0 and same.stats.unchanged == first.stats.inserted

    compact = [orjson.dumps(orjson.loads(line)) for line in lines]
    rewritten = at("c", b"".join(c + b"\n" for c in compact))
    assert telethon_calls.calls == len(lines)
    assert (rewritten.stats.inserted, rewritten.stats.updated, rewritten.stats.versions) == (0, 0, 0)
    assert snapshot(conn).diff(got) == []
    at("d", b"".join(c + b"\n" for c in compact))
    assert telethon_calls.calls == 0

    msgs = [orjson.loads(c) for c in compact]
    i = next(k for k, m in enumerate(msgs) if m.get("grouped_id") is None and m.get("message"))
    msgs[i]["message"] += " (corrected)"
    edited = at("e", b"".join(orjson.dumps(m) + b"\n" for m in msgs))
    assert telethon_calls.calls == 1
    assert (edited.stats.inserted, edited.stats.updated) == (0, 1)
    texts = conn.execute(
        "SELECT text FROM post_versions WHERE channel_id = %s AND post_id = %s ORDER BY version_at",
        (msgs[i]["peer_id"]["channel_id"], msgs[i]["id"]),
    ).fetchall()
    assert [t for (t,) in texts][-1].endswith(" (corrected)")


def test_a_page_file_read_again_decodes_only_its_changed_pages(db, conn, tmp_path, x_posts_made, monkeypatch):
    """X page lines imported before from the same path are skipped undecoded and counted as the posts they made
    (known lines with post counts, migration 028), except a page that made a reject, which is read and reported
    again; the warehouse and the counts are those of reading every line."""
    decoded: list[bytes] = []
    real = orjson.loads
    monkeypatch.setattr(orjson, "loads", lambda data: decoded.append(data) or real(data))
    path = tmp_path / "pages.jsonl"
    pages = _pages(6)
    pages[4]["errors"] = [{"title": "Not Found Error", "resource_type": "tweet", "resource_id": "9"}]
    path.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in pages))
    original = path.read_bytes()
    first = _import(conn, path, "x-v2-jsonl", skip=True)
    assert len(x_posts_made) == 6 and first.stats.rejected == 1
    (posts,) = conn.execute(
        "SELECT line_posts FROM import_ledger WHERE path = %s", (str(path.resolve()),)
    ).fetchone()
    assert posts is not None  # pages made other than one post each

    pages[2]["data"][5]["text"] += " (corrected)"
    path.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in pages))
    x_posts_made.clear()
    decoded.clear()
    again = _import(conn, path, "x-v2-jsonl", skip=True)
    # Two pages decoded: the edited one (of it, the edited tweet alone normalised) and the one with the reject.
    assert len([d for d in decoded if b'"data"' in d]) == 2
    assert x_posts_made[0] == 1 and len(x_posts_made) == 2
    assert again.records == 6 and again.stats.rejected == 1 and again.stats.updated == 1
    _as_if_every_record_was_read(db, conn, path, "x-v2-jsonl", original, again)
    assert again.stats.unchanged > 40


def _as_if_every_record_was_read(db, conn, path, fmt: str, original: bytes, again) -> None:
    """The warehouse and the counts of `again` (the file as it is now, re-imported skipping what it can) are
    those of an empty warehouse importing `original`, then the file as it is now, skipping nothing."""
    got = snapshot(conn)
    truncate_all(db)
    edited_bytes = path.read_bytes()
    path.write_bytes(original)
    _import(conn, path, fmt, skip=False)
    path.write_bytes(edited_bytes)
    forced = _import(conn, path, fmt, skip=False)
    assert snapshot(conn).diff(got) == []
    assert again.stats == forced.stats
