"""Fingerprints of raw input (ingest/sources/fingerprint.py and each platform's): a unit's hash moves with any byte
its post is made from, and an X page with some tweets left out normalises the rest exactly as the whole page."""

from __future__ import annotations

import copy
import random

import orjson
import pytest

from ingest.models import Post, RawRecord, Rejected
from ingest.normalize.telegram import normalize_message
from ingest.normalize.x import normalize_page
from ingest.run.records import Planned, normalize_records
from ingest.sources.telegram.fingerprint import units as _telethon_units
from ingest.sources.telegram_web.fingerprint import units as _web_units
from ingest.sources.x.fingerprint import units as _x_units
from ingest.sources.x.fingerprint import without

KEY = 0x5EED_1234_ABCD  # a warehouse's raw-hash key: the tests compare hashes taken under one key


def telethon_units(records, key: int = KEY):
    return _telethon_units(records, key)


def x_units(records, key: int = KEY):
    return _x_units(records, key)


AUTHOR, OTHER = "1730978465104347136", "44196397"


def _tweet(i: int, **extra) -> dict:
    tid = str(2070573305164766000 + i)
    return {"id": tid, "text": f"post {i} &amp; more", "author_id": AUTHOR, "created_at": "2026-06-26T18:22:00.000Z",
            "lang": "en", "edit_history_tweet_ids": [tid],
            "public_metrics": {"retweet_count": i, "reply_count": 1, "like_count": 2, "quote_count": 0,
                               "impression_count": 100 + i}, **extra}  # fmt: skip


def _page(seed: int, *, edit: bool = True) -> dict:
    """A page with the joins the normaliser makes: an edit and its original, a repost of an included tweet, a
    quote and a reply of tweets in the same page, media, a repost whose original is missing."""
    rng = random.Random(seed)
    data = [_tweet(i) for i in range(12)]
    original = {
        **_tweet(900),
        "author_id": OTHER,
        "text": "the original, in full",
        "attachments": {"media_keys": ["3_1"]},
    }
    data[1] = {
        **_tweet(1),
        "referenced_tweets": [{"type": "retweeted", "id": original["id"]}],
        "text": "RT @o: the or…",
    }
    data[2] = {**_tweet(2), "referenced_tweets": [{"type": "quoted", "id": data[0]["id"]}]}
    data[3] = {**_tweet(3), "referenced_tweets": [{"type": "replied_to", "id": data[2]["id"]}]}
    edited = _tweet(50, text="post 4, edited")
    edited["edit_history_tweet_ids"] = [data[4]["id"], edited["id"]]
    if edit:
        data.append(edited)
    data[5] = {**_tweet(5), "attachments": {"media_keys": ["3_2"]}}
    data[6] = {**_tweet(6), "referenced_tweets": [{"type": "retweeted", "id": "1999"}], "text": "RT @o: gone",
               "entities": {"mentions": [{"start": 3, "end": 5, "username": "o"}]}}  # fmt: skip
    rng.shuffle(data)
    return {
        "data": data,
        "includes": {
            "users": [
                {"id": AUTHOR, "username": "PolymarketIntel", "name": "PI"},
                {"id": OTHER, "username": "o", "name": "Other"},
            ],
            "tweets": [original, copy.deepcopy(data[0])],
            "media": [
                {"media_key": "3_1", "type": "photo", "url": "https://pbs/1.jpg"},
                {"media_key": "3_2", "type": "photo", "url": "https://pbs/2.jpg"},
            ],
        },  # fmt: skip
        "__twarc": {"retrieved_at": "2026-06-26T19:00:00+00:00"},
    }


def _posts(items) -> dict[int, Post | Rejected]:
    return {i.source_post_id if isinstance(i, Post) else i.post_id: i for i in items}


@pytest.mark.parametrize("seed", range(6))
def test_a_page_without_some_tweets_normalises_the_others_as_the_whole_page(seed):
    rec = RawRecord("x_v2_jsonl", _page(seed), "f:1")
    whole = _posts(normalize_page(rec))
    units = x_units([rec])
    assert len(units) == len(whole)  # every tweet of the page, includes too, is a unit
    rng = random.Random(seed)
    for _ in range(20):
        skipped = {u.part for u in units if rng.random() < 0.6}
        reduced = without(rec, skipped)
        kept = {k: v for k, v in whole.items() if k not in skipped}
        if reduced is None:
            assert not kept
            continue
        got = _posts(normalize_records([Planned(reduced[0], context_only=reduced[1])], normalize_page))
        assert got.keys() == kept.keys()
        for k, post in kept.items():
            assert got[k] == post and got[k].raw == post.raw
    # Every tweet skipped (the usual rescan page): nothing is left. All but one, in data or in includes: that one.
    parts = {u.part for u in units}
    assert without(rec, parts) is None
    for last in parts:
        reduced = without(rec, parts - {last})
        assert reduced is not None
        got = _posts(normalize_records([Planned(reduced[0], context_only=reduced[1])], normalize_page))
        assert got.keys() == {last} and got[last] == whole[last]


def test_a_tweets_hash_moves_with_what_it_is_made_of():
    page = _page(0)
    rec = RawRecord("x_v2_jsonl", page, "f:1")
    before = {u.part: u.raw_hash for u in x_units([rec])}
    repost = next(t for t in page["data"] if t.get("referenced_tweets", [{}])[0].get("type") == "retweeted"
                  and t["referenced_tweets"][0]["id"] != "1999")  # fmt: skip
    changed = copy.deepcopy(page)
    changed["includes"]["tweets"][0]["text"] = "the original, edited"  # the repost shows the original's text
    changed["includes"]["media"][0]["url"] = "https://pbs/1b.jpg"
    after = {u.part: u.raw_hash for u in x_units([RawRecord("x_v2_jsonl", changed, "f:1")])}
    moved = {k for k in before if before[k] != after[k]}
    assert int(repost["id"]) in moved and int(page["includes"]["tweets"][0]["id"]) in moved
    renamed = copy.deepcopy(page)
    renamed["includes"]["users"][0]["username"] = "PI_new"  # every post of the author gets a new url
    after = {u.part: u.raw_hash for u in x_units([RawRecord("x_v2_jsonl", renamed, "f:1")])}
    assert all(before[int(t["id"])] != after[int(t["id"])] for t in page["data"])
    # The same bytes from another source, or with another context, are another input.
    assert {u.raw_hash for u in x_units([RawRecord("x_api", page, "f:1")])}.isdisjoint(before.values())


def test_a_page_with_errors_or_a_compliance_line_makes_no_units():
    page = {
        **_page(0),
        "errors": [{"title": "Not Found Error", "resource_type": "tweet", "resource_id": "1"}],
    }
    assert x_units([RawRecord("x_v2_jsonl", page, "f:1")]) == []
    assert (
        x_units([RawRecord("x_v2_jsonl", {"data": {"delete": {"status": {"id": "1", "user_id": "2"}}}})])
        == []
    )


def _msg(mid: int, gid: int | None = None, text: str = "") -> dict:
    return {"_": "Message", "id": mid, "peer_id": {"_": "PeerChannel", "channel_id": 1500}, "message": text,
            "date": "2026-06-26T10:00:00+00:00", "grouped_id": gid, "views": 5}  # fmt: skip


def test_an_album_is_one_unit_of_all_its_members_and_an_unsure_album_none():
    recs = [RawRecord("telethon", m, fetched_at=None) for m in
            (_msg(1, text="a"), _msg(2, 77), _msg(3, 77, "caption"), _msg(4, 77), _msg(5, text="b"))]  # fmt: skip
    units = telethon_units(recs)
    album = [u for u in units if len(u.records) > 1]
    assert [(u.post_id, u.records, u.seen) for u in album] == [(2, (1, 2, 3), (2, 3, 4))]
    assert sorted(u.post_id for u in units) == [1, 2, 5]
    posts = [i for i in normalize_records(recs, normalize_message) if isinstance(i, Post)]
    assert sorted(p.post_id for p in posts) == [1, 2, 5]  # the unit keys are the keys the posts get
    # A member whose album id the normaliser may read otherwise: no album of the batch is skipped.
    odd = [*recs, RawRecord("telethon", {**_msg(6), "grouped_id": "77"})]
    assert sorted(u.post_id for u in telethon_units(odd)) == [1, 5]


def test_a_messages_hash_moves_with_its_context_and_source_not_with_the_context_object():
    """Telethon units hash a batch's shared context once (`context_seed`): the same message under another
    context or source hashes otherwise, and under an equal context (another object) the same."""
    ctx = {"handle": "bloomberg", "handle_channel_id": 1488156064, "title": "Bloomberg"}
    m = _msg(1, text="a")

    def h(rec: RawRecord) -> int:
        (unit,) = telethon_units([rec])
        return unit.raw_hash

    base = h(RawRecord("telethon", m, context=ctx))
    assert h(RawRecord("telethon", copy.deepcopy(m), context=dict(ctx))) == base
    assert h(RawRecord("telethon", m, context={**ctx, "title": "Bloomberg News"})) != base
    assert h(RawRecord("telethon-jsonl", m, context=ctx)) != base
    assert h(RawRecord("telethon", {**m, "views": 2}, context=ctx)) != base
    # Records of one batch with different contexts or sources each get their own.
    batch = [
        RawRecord("telethon", _msg(i, text="a"), context=c) for i, c in ((1, ctx), (2, {**ctx, "title": "x"}))
    ]
    batch.append(RawRecord("telethon-jsonl", _msg(3, text="a"), context=ctx))
    got = {u.post_id: u.raw_hash for u in telethon_units(batch)}
    assert got[1] == h(RawRecord("telethon", _msg(1, text="a"), context=dict(ctx)))
    assert got[2] == h(RawRecord("telethon", _msg(2, text="a"), context={**ctx, "title": "x"}))
    assert got[3] == h(RawRecord("telethon-jsonl", _msg(3, text="a"), context=dict(ctx)))


def test_every_platforms_hash_is_keyed_by_the_warehouse():
    """The same input hashes otherwise under another warehouse's key (`warehouse_keys`), for a message, an album,
    a tweet and a t.me/s widget: whoever does not know the key cannot tell which edit would hash like a stored post."""
    msgs = [
        RawRecord("telethon", m, fetched_at=None) for m in (_msg(1, text="a"), _msg(2, 77), _msg(3, 77, "c"))
    ]
    page = RawRecord("x_v2_jsonl", _page(1), "f:1")
    widget = RawRecord(
        "telegram_web",
        {"post": "durov/42", "text": "hello", "datetime": "2026-06-26T10:00:00+00:00", "views": "1.2K"},
        context={"handle": "durov", "channel_id": 1006503122},
    )
    for units in (telethon_units, x_units, lambda r, key=KEY: _web_units(r, key)):
        batch = {"telethon": msgs, "x_v2_jsonl": [page], "telegram_web": [widget]}
        for records in batch.values():
            a, b = units(records, KEY), units(records, KEY + 1)
            if not a:
                continue
            assert [u[:3] for u in a] == [u[:3] for u in b]
            assert all(x.raw_hash != y.raw_hash for x, y in zip(a, b, strict=True))
            assert [u.raw_hash for u in a] == [u.raw_hash for u in units(records, KEY)]
    assert (
        len(telethon_units(msgs)) == 2 and len(x_units([page])) > 10 and len(_web_units([widget], KEY)) == 1
    )


def _read_with_key(path, key: int = KEY) -> list[RawRecord]:
    from ingest.sources.telegram.jsonl import read_jsonl

    return list(read_jsonl(path, raw_key=key))


def test_a_line_read_with_the_key_carries_the_raw_hash_of_its_bytes(shared_data, tmp_path):
    """A real Telethon capture (written with spaces after separators) read with the warehouse's key: each record
    carries the hash of its line's bytes, its unit takes it, and any byte of the line moves it. Written compactly
    by orjson, the same messages hash as their payloads do, so hashes stored from such files stay valid."""
    from ingest.sources.fingerprint import raw_hash_of
    from ingest.sources.telegram.fingerprint import line_seed
    from ingest.sources.telegram.jsonl import SOURCE_JSONL

    src = shared_data / "telethon" / "bloomberg_1488156064.jsonl"
    lines = src.read_bytes().splitlines()
    assert b'", "' in lines[0]  # not orjson's compact form
    records = _read_with_key(src)
    assert len(records) == len(lines) > 20
    seed = line_seed(KEY, SOURCE_JSONL, records[0].context)
    assert [r.digest for r in records] == [raw_hash_of(seed, line) for line in lines]
    singles = [i for i, r in enumerate(records) if r.payload.get("grouped_id") is None]
    by_record = {u.records: u.raw_hash for u in telethon_units(records)}
    assert all(by_record[(i,)] == records[i].digest for i in singles)
    # From the payload (a record of a reader without the key), the spaced line's hash differs...
    undigested = [RawRecord(r.source, r.payload, r.origin, r.fetched_at, r.context) for r in records]
    from_payload = {u.records: u.raw_hash for u in telethon_units(undigested)}
    assert all(from_payload[(i,)] != by_record[(i,)] for i in singles)
    # ...and the compact line's is the same.
    compact = tmp_path / src.name
    compact.write_bytes(b"".join(orjson.dumps(orjson.loads(line)) + b"\n" for line in lines))
    again = {u.records: u.raw_hash for u in telethon_units(_read_with_key(compact))}
    assert all(again[(i,)] == from_payload[(i,)] for i in singles)
    # One byte of a line (a space the payload does not see) moves its hash: bytes, not payloads, are compared.
    spaced = tmp_path / "spaced" / src.name
    spaced.parent.mkdir()
    spaced.write_bytes(b"\n".join([lines[0].replace(b'", "', b'",  "', 1), *lines[1:]]) + b"\n")
    moved = _read_with_key(spaced)
    assert moved[0].payload == records[0].payload and moved[0].digest != records[0].digest
    assert [r.digest for r in moved[1:]] == [r.digest for r in records[1:]]
    # Another warehouse's key, another hash.
    assert _read_with_key(src, KEY + 1)[0].digest != records[0].digest
