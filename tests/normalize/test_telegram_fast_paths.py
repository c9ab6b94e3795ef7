"""ingest.normalize.telegram's shortcuts for the usual shapes (naive dump times, emoji reactions, photo sizes,
entities) give what the general paths give, and hand every other shape to them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from ingest.normalize.telegram import message
from ingest.normalize.telegram.fields import Bad, entity_lists, timestamp
from ingest.normalize.telegram.media import _reactions, media_items
from ingest.times import iso_to_utc


@pytest.mark.parametrize(
    "text",
    [
        "2025-08-20 05:54:04.000000", "2025-08-20 05:54:04", "2025-08-20T05:54:04", "2025-08-20T05:54:04.250000",
        "2025-08-20 05:54:04+00:00", "2025-08-20T05:54:04+03:00", "2025-08-20T05:54:04Z", "2025-08-20",
        "2025-08-20T05", " 2025-08-20 05:54:04", "2025-08-20 05:54:04 ", "0001-01-01 00:00:00",
        "9999-12-31 23:59:59.999999",
    ],
)  # fmt: skip
def test_a_dump_time_reads_as_the_general_parser_reads_it(text):
    got = timestamp(text, "date", naive_ok=True)
    assert got == iso_to_utc(text) and got.tzinfo is UTC
    # The shortcut for naive times lives in `iso_to_utc` itself: against the plain algorithm it saves work on.
    assert got == _plain_iso_to_utc(text)


def _plain_iso_to_utc(text: str) -> datetime:
    """ISO 8601 to aware UTC the long way: no shortcut, a naive time taken as UTC."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def test_a_time_that_is_not_one_is_refused_by_the_general_path():
    with pytest.raises(Bad, match="date is not a time"):
        timestamp("2025-13-20 05:54:04", "date", naive_ok=True)
    with pytest.raises(Bad, match="no time zone"):
        timestamp("2025-08-20 05:54:04", "date", naive_ok=False)


def _count(reaction, count):
    return {"_": "ReactionCount", "reaction": reaction, "count": count}


def test_reactions_mixed_with_other_shapes_add_up_as_before():
    thumbs = {"_": "ReactionEmoji", "emoticon": "👍"}
    results = [
        _count(thumbs, 3), _count({"_": "ReactionCustomEmoji", "document_id": 5}, 2), "not a result",
        {"reaction": thumbs}, _count({"_": "ReactionPaid"}, 7), _count({"_": "ReactionEmoji"}, 4), _count(thumbs, 1),
        _count({"_": "ReactionEmoji", "emoticon": ""}, 9), _count({"_": "ReactionOther"}, 9),
        _count({"emoticon": "❤"}, 9), _count(thumbs, None),
    ]  # fmt: skip
    assert _reactions({"results": results}) == {"👍": 4, "5": 2, "paid": 7}


@pytest.mark.parametrize("count", [-1, "x", 2**63])
def test_a_bad_reaction_count_after_good_ones_is_a_fault(count):
    thumbs = {"_": "ReactionEmoji", "emoticon": "👍"}
    with pytest.raises(Bad, match="reactions count"):
        _reactions({"results": [_count(thumbs, 1), _count(thumbs, count)]})


def _photo(sizes):
    return media_items({"_": "MessageMediaPhoto", "photo": {"id": 1, "sizes": sizes}})[0]


def test_the_largest_photo_size_is_the_first_of_the_most_pixels():
    stripped = {"_": "PhotoStrippedSize", "type": "i"}
    sizes = [stripped, {"w": 320, "h": 213}, {"w": 800, "h": 600}, {"w": 600, "h": 800}, {"w": 10}]
    assert _photo(sizes) == {"type": "photo", "id": 1, "width": 800, "height": 600}
    assert _photo([{"w": 0}, {"w": 5, "h": None}]) == {"type": "photo", "id": 1, "width": 0, "height": None}
    assert _photo([stripped, {"w": "800", "h": 600}]) == {"type": "photo", "id": 1}
    assert _photo([]) == {"type": "photo", "id": 1}


def test_photo_sizes_of_other_shapes_take_the_general_path():
    # A bool width counts as an int there (True pixels wide); a str height repeats the str, then compares as one.
    assert _photo([{"w": True, "h": 5}, {"w": 2, "h": 2}]) == {
        "type": "photo",
        "id": 1,
        "width": True,
        "height": 5,
    }
    assert _photo([{"w": 2, "h": "b"}, {"w": 1, "h": "z"}])["height"] == "z"
    assert _photo(({"w": 2, "h": 3},)) == {"type": "photo", "id": 1, "width": 2, "height": 3}


def test_entities_keep_first_seen_order_and_drop_what_is_left_empty():
    text = "# #a @ @b #a bloom.bg/x"
    ents = [
        {"_": "MessageEntityBold", "offset": 0, "length": 1},
        {"_": "MessageEntityHashtag", "offset": 0, "length": 1},
        {"_": "MessageEntityHashtag", "offset": 2, "length": 2},
        {"_": "MessageEntityMention", "offset": 5, "length": 1},
        {"_": "MessageEntityMention", "offset": 7, "length": 2},
        {"_": "MessageEntityHashtag", "offset": 10, "length": 2},
        {"_": "MessageEntityUrl", "offset": 13, "length": 10},
        {"_": "MessageEntityTextUrl", "offset": 0, "length": 1, "url": " https://a.b/ "},
        {"_": ["unhashable"], "offset": 0, "length": 1},
    ]
    assert entity_lists(text, ents) == (("https://bloom.bg/x", "https://a.b/"), ("a",), ("b",))
    assert entity_lists("😀 #a", [{"_": "MessageEntityHashtag", "offset": 3, "length": 2}]) == (
        (),
        ("a",),
        (),
    )
    assert entity_lists("x", [{"_": "MessageEntityBold", "offset": 0, "length": 1}]) == ((), (), ())


def test_posts_of_one_channel_share_one_channel_equal_to_a_fresh_one():
    a, b = message._channel(42, "h", "T"), message._channel(42, "h", "T")
    assert a is b and a == dataclasses.replace(a) and message._channel(42, None, "T") != a
