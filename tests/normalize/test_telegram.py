"""ingest.normalize.telegram on real Telethon records (../shared/data/telethon) and TL objects built from them."""

from __future__ import annotations

import copy
import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from telethon.tl import types

from ingest.models import Deletion, Post, RawRecord, Rejected
from ingest.normalize.telegram import normalize_message
from ingest.sources.telegram import json_safe, read_jsonl
from tests.sources.telethon_fakes import tl_from_dict

FILES = {
    "python": "@Python_1050982793.jsonl",
    "spotify": "SpotifyGroup_2606656273.jsonl",
    "bloomberg": "bloomberg_1488156064.jsonl",
    "british": "britishnewspatriot_1799276919.jsonl",
    "onepiece": "onepiecespoilhere_1508897975.jsonl",
}
UTC = timezone.utc


@pytest.fixture(scope="module")
def records(shared_data: Path) -> dict[str, list[RawRecord]]:
    return {k: list(read_jsonl(shared_data / "telethon" / name)) for k, name in FILES.items()}


def one(records: dict[str, list[RawRecord]], file: str, msg_id: int) -> RawRecord:
    return next(r for r in records[file] if r.payload["id"] == msg_id)


def post_of(rec: RawRecord) -> Post:
    out = normalize_message(rec)
    assert len(out) == 1 and isinstance(out[0], Post), out
    return out[0]


def live(payload: dict, **context) -> RawRecord:
    return RawRecord("telethon", payload, origin="test", fetched_at=datetime(2025, 10, 1, tzinfo=UTC),
                     context=context)  # fmt: skip


def rejected(rec: RawRecord) -> Rejected:
    out = normalize_message(rec)
    assert len(out) == 1 and isinstance(out[0], Rejected), out
    return out[0]


# ------------------------------------------------------------------------------------------ real records


def test_every_shared_record_normalises(records):
    for file, recs in records.items():
        for rec in recs:
            p = post_of(rec)
            assert p.platform == "telegram" and p.source == "telethon_jsonl"
            assert p.channel_id == rec.payload["peer_id"]["channel_id"] and p.post_id == rec.payload["id"]
            assert p.posted_at.tzinfo is not None and p.posted_at.utcoffset().total_seconds() == 0
            assert p.version_at >= p.posted_at
            assert p.lang is None
            assert p.channel is not None and p.channel.channel_id == p.channel_id
            assert p.url == f"https://t.me/{rec.context['handle']}/{p.post_id}", file
            assert p.raw is rec.payload


def test_naive_file_dates_are_utc_and_edit_date_is_only_version_at(records):
    p = post_of(one(records, "bloomberg", 3148))
    assert p.posted_at == datetime(2025, 8, 20, 5, 54, 4, tzinfo=UTC)
    assert p.edited_at == datetime(2025, 8, 20, 5, 54, 55, tzinfo=UTC)
    assert p.version_at == p.edited_at
    assert p.url == "https://t.me/bloomberg/3148"
    assert p.channel.handle == "bloomberg"


def test_webpage_link_views_forwards_and_reactions(records):
    p = post_of(one(records, "bloomberg", 3148))
    assert p.links == ("https://bloom.bg/4lzgWdi",)
    assert p.media[0]["type"] == "webpage"
    assert p.media[0]["url"] == "https://bloom.bg/4lzgWdi"
    assert p.media[0]["title"] == "Grab Fares Topping $1,000 Stun Singapore Ride-Hailing Users"
    assert p.media[0]["id"] == 5416930845615180623
    assert p.metrics.views == 11849 and p.metrics.forwards == 95
    assert p.metrics.reactions["😁"] == 44 and p.metrics.reactions["🤩"] == 6


def test_entity_offsets_are_utf16_on_real_record(records):
    # "🎙 On today’s ..." — the microphone is outside the BMP: two UTF-16 units, one Python character.
    rec = one(records, "bloomberg", 3146)
    text = rec.payload["message"]
    assert ord(text[0]) > 0xFFFF
    ent = next(e for e in rec.payload["entities"] if e["_"] == "MessageEntityUrl")
    naive = text[ent["offset"] : ent["offset"] + ent["length"]]
    assert naive != "link.podtrac.com/jxfy2rhy"  # slicing by code points is off by one
    assert post_of(rec).links == ("https://link.podtrac.com/jxfy2rhy",)


def test_utf16_offsets_after_emoji_for_every_entity_kind():
    text = "🔥🔥 read https://example.com/a and 👀 #Breaking @someone go"
    units = lambda s: len(s.encode("utf-16-le")) // 2  # noqa: E731

    def ent(kind: str, token: str, **extra) -> dict:
        i = text.index(token)
        return {"_": kind, "offset": units(text[:i]), "length": units(token), **extra}

    payload = {
        "_": "Message", "id": 7, "peer_id": {"_": "PeerChannel", "channel_id": 42},
        "date": "2025-09-01T10:00:00+00:00", "message": text,
        "entities": [
            ent("MessageEntityUrl", "https://example.com/a"),
            ent("MessageEntityHashtag", "#Breaking"),
            ent("MessageEntityMention", "@someone"),
            ent("MessageEntityTextUrl", "go", url="https://hidden.example/x"),
            {"_": "MessageEntityUrl", "offset": 500, "length": 4},  # outside the text: ignored
        ],
    }  # fmt: skip
    p = post_of(live(payload))
    assert p.links == ("https://example.com/a", "https://hidden.example/x")
    assert p.hashtags == ("Breaking",)
    assert p.mentions == ("someone",)


def test_forward_links_origin_channel_post_and_original_date(records):
    p = post_of(one(records, "british", 2482))
    fwd = p.forwarded_from
    assert (fwd.platform, fwd.channel_id, fwd.post_id) == ("telegram", 1724102370, 16072)
    assert fwd.posted_at == datetime(2023, 5, 17, 18, 38, 59, tzinfo=UTC)
    assert p.posted_at == datetime(2023, 5, 21, 4, 9, 30, tzinfo=UTC)  # the forward's own date differs
    assert p.mentions == ("redpillboy",)


def test_forward_from_hidden_user_keeps_name_only(records):
    fwd = post_of(one(records, "british", 2476)).forwarded_from
    assert fwd.channel_id is None and fwd.post_id is None and fwd.name == "Jordan"
    assert fwd.posted_at == datetime(2023, 5, 1, 19, 24, 14, tzinfo=UTC)


def test_reply_in_a_supergroup(records):
    p = post_of(one(records, "python", 2004378))
    assert (p.reply_to.channel_id, p.reply_to.post_id) == (1050982793, 2004221)
    assert p.url == "https://t.me/Python/2004378"
    assert p.metrics is None  # group messages carry no counts


def test_service_messages_are_kept_with_a_description(records):
    created = post_of(one(records, "spotify", 1))
    assert created.kind == "service" and created.text == "Channel created: «H»"
    title = post_of(one(records, "onepiece", 3878))
    assert title.kind == "service" and title.text == "Title changed to «One Piece Chapter 1162»"
    assert title.media == () and title.metrics is None


def test_album_members_share_grouped_id(records):
    members = [post_of(one(records, "british", i)) for i in (2478, 2479, 2480)]
    assert {m.grouped_id for m in members} == {13474262262095404}
    assert [m.media[0]["type"] for m in members] == ["photo"] * 3
    assert members[0].text.startswith("These are ancient Egyptian hieroglyphs")
    assert members[1].text == "" and members[2].text == ""


def test_poll_sticker_video_and_unsupported_media(records):
    poll = post_of(one(records, "onepiece", 3879)).media[0]
    assert poll["type"] == "poll" and poll["question"].startswith("Who will save Black Beard")
    assert len(poll["answers"]) == 7 and poll["answers"][0] == "Rocks" and poll["total_voters"] == 688
    sticker = post_of(one(records, "spotify", 6)).media[0]
    assert sticker["type"] == "sticker" and sticker["mime_type"] == "image/webp"
    assert sticker["file_name"] == "sticker.webp" and sticker["emoji"] == "🤨"
    video = post_of(one(records, "british", 2477)).media[0]
    assert video["type"] == "video" and video["file_name"] == "IMG_5251.MP4" and video["duration"] == 82.0
    assert video["id"] == 5933793221195862545 and video["mime_type"] == "video/mp4"
    assert post_of(one(records, "onepiece", 3753)).media == ({"type": "unsupported"},)


@pytest.mark.parametrize("bad", [7, True, 2.5])
def test_a_list_field_of_a_sub_object_that_is_no_list_counts_as_none_and_the_post_keeps_its_text(
    records, bad
):
    """Photo sizes, document attributes, poll answers and reaction results given as a number are malformed
    sub-objects, as a photo or a poll that is no object: the post loads with its text, without what they held
    (before, iterating them raised a TypeError that rejected the whole message as a normaliser error)."""
    cases = [
        (("onepiece", 3757), ("media", "photo", "sizes")),
        (("spotify", 6), ("media", "document", "attributes")),
        (("onepiece", 3879), ("media", "poll", "answers")),
        (("python", 2004375), ("reactions", "results")),
    ]
    out = {}
    for (file, msg_id), path in cases:
        rec = one(records, file, msg_id)
        out[path[-1]] = post = post_of(dataclasses.replace(rec, payload=_with(rec.payload, path, bad)))
        assert post.text == post_of(rec).text, path
    photo = out["sizes"].media[0]
    assert photo["type"] == "photo" and "width" not in photo
    poll = out["answers"].media[0]
    assert poll["answers"] == [] and poll["total_voters"] == 688
    assert out["attributes"].media[0]["type"] == "document"
    assert not out["results"].metrics.reactions


def _with(payload: dict, path: tuple[str, ...], value: object) -> dict:
    out = copy.deepcopy(payload)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def test_hashtag_and_mention_entities(records):
    assert post_of(one(records, "onepiece", 3869)).hashtags == ("Meme",)
    assert post_of(one(records, "python", 2004371)).mentions == ("Kol1w",)


def test_replies_count_from_message_replies(records):
    p = post_of(one(records, "onepiece", 3757))
    assert p.metrics.replies == 16 and p.metrics.views == 1353


def test_live_payload_equals_file_payload_for_every_record(records):
    """The same message through the live path (TL object -> to_dict -> JSON-safe) normalises identically."""
    for recs in records.values():
        for rec in recs:
            obj = tl_from_dict(rec.payload)
            assert isinstance(obj, (types.Message, types.MessageService))
            via_live = post_of(RawRecord("telethon", json_safe(obj.to_dict()), context=rec.context))
            via_file = post_of(rec)
            strip = dict(raw=None, source="")
            assert dataclasses.replace(via_live, **strip) == dataclasses.replace(via_file, **strip), (
                rec.origin
            )


def test_live_aware_datetimes_are_accepted(records):
    obj = tl_from_dict(one(records, "bloomberg", 3148).payload)
    p = post_of(live(obj.to_dict(), handle="bloomberg"))  # datetimes as objects, not strings
    assert p.posted_at == datetime(2025, 8, 20, 5, 54, 4, tzinfo=UTC)
    assert p.observed_at == datetime(2025, 10, 1, tzinfo=UTC)


def test_url_without_handle_and_handle_of_another_channel(records):
    payload = one(records, "bloomberg", 3148).payload
    assert post_of(live(json_safe(tl_from_dict(payload).to_dict()))).url == "https://t.me/c/1488156064/3148"
    p = post_of(live(json_safe(tl_from_dict(payload).to_dict()), handle="other", handle_channel_id=99))
    assert p.url == "https://t.me/c/1488156064/3148" and p.channel.handle is None
    p = post_of(live(json_safe(tl_from_dict(payload).to_dict()), handle="@bloomberg", handle_channel_id=1488156064,
                     title="Bloomberg"))  # fmt: skip
    assert p.url == "https://t.me/bloomberg/3148" and p.channel.title == "Bloomberg"


def test_reactions_custom_emoji_and_paid():
    msg = types.Message(
        id=5, peer_id=types.PeerChannel(42), date=datetime(2025, 9, 1, tzinfo=UTC), message="x", views=10,
        reactions=types.MessageReactions(results=[
            types.ReactionCount(reaction=types.ReactionEmoji("👍"), count=3),
            types.ReactionCount(reaction=types.ReactionCustomEmoji(5368324170671202286), count=2),
            types.ReactionCount(reaction=types.ReactionPaid(), count=7),
        ]),
    )  # fmt: skip
    p = post_of(live(json_safe(msg.to_dict())))
    assert p.metrics.reactions == {"👍": 3, "5368324170671202286": 2, "paid": 7}


def test_other_media_kinds():
    def media_of(media) -> dict:
        msg = types.Message(id=5, peer_id=types.PeerChannel(42), date=datetime(2025, 9, 1, tzinfo=UTC),
                            message="", media=media)  # fmt: skip
        return post_of(live(json_safe(msg.to_dict()))).media[0]

    geo = media_of(types.MessageMediaGeo(geo=types.GeoPoint(long=30.5, lat=50.4, access_hash=1)))
    assert geo == {"type": "geo", "latitude": 50.4, "longitude": 30.5}
    dice = media_of(types.MessageMediaDice(value=6, emoticon="🎲"))
    assert dice == {"type": "dice", "emoticon": "🎲", "value": 6}
    contact = media_of(types.MessageMediaContact("+100", "Ann", "Lee", "", 77))
    assert contact["type"] == "contact" and contact["first_name"] == "Ann" and "phone_number" not in contact
    voice = media_of(types.MessageMediaDocument(document=types.Document(
        id=9, access_hash=1, file_reference=b"\x00\x01", date=datetime(2025, 9, 1, tzinfo=UTC),
        mime_type="audio/ogg", size=100, dc_id=2, attributes=[types.DocumentAttributeAudio(duration=3, voice=True)],
    )))  # fmt: skip
    assert voice["type"] == "voice" and voice["duration"] == 3
    giveaway = media_of(
        types.MessageMediaGiveaway(channels=[1], quantity=1, until_date=datetime(2025, 9, 2, tzinfo=UTC))
    )
    assert giveaway == {"type": "giveaway"}


def test_pinned_service_message_refers_to_the_pinned_post():
    msg = types.MessageService(id=9, peer_id=types.PeerChannel(42), date=datetime(2025, 9, 1, tzinfo=UTC),
                               action=types.MessageActionPinMessage(),
                               reply_to=types.MessageReplyHeader(reply_to_msg_id=7))  # fmt: skip
    p = post_of(live(json_safe(msg.to_dict())))
    assert p.kind == "service" and p.text == "Message pinned" and p.reply_to.post_id == 7


def test_reply_to_another_channel():
    msg = types.Message(
        id=9,
        peer_id=types.PeerChannel(42),
        date=datetime(2025, 9, 1, tzinfo=UTC),
        message="r",
        reply_to=types.MessageReplyHeader(reply_to_msg_id=7, reply_to_peer_id=types.PeerChannel(55)),
    )
    p = post_of(live(json_safe(msg.to_dict())))
    assert (p.reply_to.channel_id, p.reply_to.post_id) == (55, 7)


# --------------------------------------------------------------------------------------------- rejects


@pytest.fixture
def base(records) -> dict:
    return copy.deepcopy(one(records, "bloomberg", 3148).payload)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p.pop("id"), "id missing"),
        (lambda p: p.update(id="3148"), "id has type str"),
        (lambda p: p.update(id=True), "id has type bool"),
        (lambda p: p.update(id=-4), "id -4 is not a positive id"),
        (lambda p: p.update(id=2**70), "out of 64-bit range"),
        (lambda p: p.pop("date"), "date missing"),
        (lambda p: p.update(date="yesterday"), "date is not a time: 'yesterday'"),
        (lambda p: p.update(date=["2025"]), "date has type list"),
        (lambda p: p.update(edit_date="2025-13-01 00:00:00"), "edit_date is not a time"),
        # a valid ISO time whose UTC instant is past year 9999: a reason, not a normaliser crash
        (
            lambda p: p.update(date="9999-12-31T23:59:59-01:00"),
            "date is out of range in UTC: '9999-12-31T23:59:59-01:00'",
        ),
        (
            lambda p: p.update(date=datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-2)))),
            "date is out of range in UTC",
        ),
        (lambda p: p.pop("peer_id"), "peer_id missing"),
        (lambda p: p.update(peer_id={"_": "PeerUser", "user_id": 5}), "PeerUser (private chat)"),
        (lambda p: p.update(peer_id={"_": "PeerChat", "chat_id": 5}), "PeerChat (basic group 5)"),
        (lambda p: p.update(peer_id={"_": "PeerStory"}), "unknown peer type 'PeerStory'"),
        (
            lambda p: p.update(peer_id={"_": "PeerChannel", "channel_id": "x"}),
            "peer_id.channel_id has type str",
        ),
        (lambda p: p.update(message=12), "message has type int"),
        (lambda p: p.update(views=-3), "views is negative"),
        (lambda p: p.update(grouped_id="g"), "grouped_id has type str"),
        (
            lambda p: p.update(fwd_from={"_": "MessageFwdHeader", "date": "soon"}),
            "fwd_from.date is not a time",
        ),
        (lambda p: p.update(_="MessageUnknownThing"), "unknown record type 'MessageUnknownThing'"),
    ],
)
def test_malformed_records_are_rejected_with_the_reason(base, change, reason):
    change(base)
    r = rejected(RawRecord("telethon_jsonl", base, origin="f.jsonl:3"))
    assert reason in r.reason
    assert r.origin == "f.jsonl:3" and r.payload is base and r.platform == "telegram"


def test_reject_carries_known_ids(base):
    base["date"] = "nope"
    r = rejected(RawRecord("telethon_jsonl", base))
    assert (r.channel_id, r.post_id) == (1488156064, 3148)


def test_naive_date_refused_in_live_payload_and_naive_datetime_refused_always(base):
    assert "no time zone" in rejected(live(base)).reason  # a live payload always has offsets
    base["date"] = datetime(2025, 8, 20, 5, 54, 4)
    assert "naive datetime" in rejected(RawRecord("telethon_jsonl", base)).reason


def test_non_object_and_undecodable_lines():
    assert "JSON list" in rejected(RawRecord("telethon_jsonl", [1, 2])).reason
    r = rejected(RawRecord("telethon_jsonl", None, origin="f:9", raw_text="{oops",
                           context={"decode_error": "unexpected character"}))  # fmt: skip
    assert r.reason == "undecodable line: unexpected character" and r.raw_text == "{oops"


def test_message_empty_is_a_deletion_when_dated():
    payload = {"_": "MessageEmpty", "id": 12, "peer_id": {"_": "PeerChannel", "channel_id": 42}}
    (d,) = normalize_message(live(payload))
    assert isinstance(d, Deletion) and (d.channel_id, d.post_id) == (42, 12)
    assert d.deleted_at == datetime(2025, 10, 1, tzinfo=UTC)
    assert "cannot be dated" in rejected(RawRecord("telethon_jsonl", payload)).reason


def test_edit_date_move_keeps_the_content_hash(base):
    a = post_of(RawRecord("telethon_jsonl", base))
    moved = {**base, "edit_date": "2025-08-21 00:00:00.000000", "views": 20000}
    b = post_of(RawRecord("telethon_jsonl", moved))
    assert a.content_hash() == b.content_hash() and b.version_at > a.version_at
    edited = {**base, "message": base["message"] + " (corrected)"}
    assert post_of(RawRecord("telethon_jsonl", edited)).content_hash() != a.content_hash()
