"""Tests for ingest/normalize/telegram_web.py on the real t.me/s/durov page and the synthetic feature page."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingest.models import Post, RawRecord, Rejected
from ingest.normalize.common import check_post
from ingest.normalize.telegram_web import (
    channel_id_from_view,
    decode_view,
    normalize_widget,
    parse_count,
)
from ingest.sources.telegram_web import parse_page

SYNTHETIC = Path(__file__).resolve().parents[1] / "data" / "telegram_web" / "synthetic_wwsynth_features.html"
DUROV_ID = 1006503122


@pytest.fixture(scope="module")
def durov_html(shared_data: Path) -> str:
    return (shared_data / "telegram_web" / "channel_feed_durov.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def durov_posts(durov_html: str) -> dict[int, Post]:
    page = parse_page(durov_html, url="https://t.me/s/durov")
    out: dict[int, Post] = {}
    for rec in page.records:
        [item] = normalize_widget(rec)
        assert isinstance(item, Post), item
        out[item.post_id] = item
    return out


@pytest.fixture(scope="module")
def synth_posts() -> dict[int, Post]:
    page = parse_page(SYNTHETIC.read_text(encoding="utf-8"), url=str(SYNTHETIC))
    out: dict[int, Post] = {}
    for rec in page.records:
        [item] = normalize_widget(rec)
        assert isinstance(item, Post), item
        out[item.post_id] = item
    return out


def _widget_chunks(html: str) -> dict[int, str]:
    """Each widget's HTML, cut by plain string search (independent of the parser under test)."""
    parts = html.split('<div class="tgme_widget_message_wrap js-widget_message_wrap">')[1:]
    return {int(re.search(r'data-post="durov/(\d+)"', p).group(1)): p for p in parts}


# ------------------------------------------------------------------------------------------- real page


def test_real_page_gives_twenty_posts_with_ids_and_the_channel_id(durov_posts: dict[int, Post]) -> None:
    assert len(durov_posts) == 20
    assert sorted(durov_posts) == [*range(519, 530), *range(531, 540)]
    for pid, p in durov_posts.items():
        assert p.platform == "telegram"
        assert p.channel_id == DUROV_ID
        assert p.source == "telegram_web"
        assert p.url == f"https://t.me/durov/{pid}"
        assert p.channel is not None and p.channel.channel_id == DUROV_ID
        assert p.channel.handle == "durov" and p.channel.title == "Pavel Durov"
        assert p.kind == "post"
        assert check_post(p) is p  # storable: aware UTC, not in the future, clean text


def test_data_view_decodes_to_the_negated_channel_id(durov_html: str) -> None:
    views = re.findall(r'data-view="([^"]+)"', durov_html)
    assert len(views) == 20
    first = decode_view(views[0])
    assert first["c"] == -1006503122 and first["p"] == 519
    assert {channel_id_from_view(v) for v in views} == {DUROV_ID}


def test_posted_at_is_the_utc_datetime_attribute(durov_html: str, durov_posts: dict[int, Post]) -> None:
    for pid, chunk in _widget_chunks(durov_html).items():
        attr = re.search(r'<time datetime="([^"]+)" class="time">', chunk).group(1)
        expected = datetime.fromisoformat(attr)
        got = durov_posts[pid].posted_at
        assert got == expected and got.utcoffset().total_seconds() == 0 and got.tzinfo is not None
        assert durov_posts[pid].version_at is None and durov_posts[pid].effective_version_at == got
    assert durov_posts[519].posted_at == datetime(2026, 5, 20, 15, 38, 10, tzinfo=timezone.utc)


def test_rounded_view_counts_become_integers(durov_html: str, durov_posts: dict[int, Post]) -> None:
    assert durov_posts[519].metrics.views == 8_670_000
    assert durov_posts[520].metrics.views == 11_400_000
    assert durov_posts[539].metrics.views == 826_000
    for pid, chunk in _widget_chunks(durov_html).items():
        shown = re.search(r'<span class="tgme_widget_message_views">([^<]+)</span>', chunk).group(1)
        assert durov_posts[pid].metrics.views == parse_count(shown)


@pytest.mark.parametrize(
    ("shown", "value"),
    [("954", 954), ("1.2K", 1200), ("8.67M", 8_670_000), ("826K", 826_000), ("15K", 15_000), ("4.1M", 4_100_000),
     ("1,234", 1234), ("2B", 2_000_000_000), ("436.6K", 436_600), ("1.2\xa0K", 1200), ("0", 0)],
)  # fmt: skip
def test_parse_count(shown: str, value: int) -> None:
    assert parse_count(shown) == value


@pytest.mark.parametrize("bad", ["", "lots", "1.2.3K", "-5", "1.2X", "K"])
def test_parse_count_refuses_what_is_not_a_count(bad: str) -> None:
    with pytest.raises(ValueError, match="count"):
        parse_count(bad)


def test_tg_emoji_text_links_and_line_breaks(durov_posts: dict[int, Post]) -> None:
    p = durov_posts[519]
    assert p.text == (
        "🤖 Your Telegram inbox can now run itself.\n\nAssign a bot to read and reply for you — with granular "
        "control over its rights and chat access. 🧠\n\n⚙️ Start building!"
    )
    assert p.links == ("https://core.telegram.org/bots/features#secretary-bots",)
    assert durov_posts[520].text.startswith(
        "🎭 WhatsApp encryption is a giant fraud.\n\n🇺🇸 The state of Texas"
    )
    assert "<" not in "".join(x.text for x in durov_posts.values())  # no markup leaks into text
    # A mention of another channel is a mention, not a link; its post link stays a link.
    assert durov_posts[527].mentions == ("contest",)
    assert "https://t.me/contest/456" in durov_posts[527].links


def test_the_id_gap_is_kept(durov_posts: dict[int, Post]) -> None:
    ids = sorted(durov_posts)
    assert 530 not in durov_posts
    assert ids[ids.index(529) + 1] == 531


def test_edited_markers_are_flagged_without_an_edit_time(
    durov_html: str, durov_posts: dict[int, Post]
) -> None:
    marked = {pid for pid, chunk in _widget_chunks(durov_html).items() if ",&nbsp;edited &nbsp;<a" in chunk}
    assert marked == {521, 527, 535, 538}
    assert {pid for pid, p in durov_posts.items() if p.raw["edited"]} == marked
    assert all(p.edited_at is None for p in durov_posts.values())


def test_link_previews_become_webpage_media(durov_posts: dict[int, Post]) -> None:
    previews = {pid: [m for m in p.media if m["type"] == "webpage"] for pid, p in durov_posts.items()}
    assert {pid for pid, m in previews.items() if m} == {521, 525, 538, 539}
    [m] = previews[525]
    assert m["url"] == "https://telegram.org/blog/watch-apps-and-more"
    assert m["title"].startswith("Smartwatch Apps, Rich Text for Bots")
    assert m["site_name"] == "Telegram"
    assert previews[521][0] == {**previews[521][0], "url": "https://gram.org/", "site_name": "Gram"}
    assert "title" not in previews[521][0]  # that preview has none


def test_photos_and_videos(durov_posts: dict[int, Post]) -> None:
    [photo] = durov_posts[522].media
    assert photo["type"] == "photo" and photo["id"] == 5256230412378382138
    assert photo["url"] == "https://t.me/durov/522" and photo["src"].startswith(
        "https://cdn4.telesco.pe/file/"
    )
    [video] = durov_posts[519].media
    assert video["type"] == "video" and video["duration"] == 9 and ".mp4" in video["src"]
    assert {pid for pid, p in durov_posts.items() if any(m["type"] == "video" for m in p.media)} == {
        519, 523, 524, 526, 531, 532,
    }  # fmt: skip


def test_reactions_keep_paid_and_custom_emoji_by_document_id(durov_posts: dict[int, Post]) -> None:
    r = durov_posts[519].metrics.reactions
    assert r == {
        "paid": 2490, "5265077361648368841": 23_400, "5465587407350942612": 7760,
        "5399847211989246390": 5990, "5936157098181135162": 419, "5373223594484587136": 112,
    }  # fmt: skip


def test_cdn_addresses_and_counts_do_not_change_the_content_hash(durov_html: str) -> None:
    """t.me re-signs CDN links and counts move every fetch: neither is an edit."""
    before = {r.payload["post"]: normalize_widget(r)[0] for r in parse_page(durov_html).records}
    churned = re.sub(r"(cdn4\.telesco\.pe/file/)([A-Za-z0-9_-]{8})", r"\1ZZZZZZZZ", durov_html)
    churned = churned.replace(">8.67M<", ">8.71M<").replace("token=", "token=fresh")
    assert churned != durov_html
    after = {r.payload["post"]: normalize_widget(r)[0] for r in parse_page(churned).records}
    for key, p in before.items():
        assert p.content_hash() == after[key].content_hash(), key
    assert after["durov/519"].metrics.views == 8_710_000
    edited_text = durov_html.replace(
        "Your Telegram inbox can now run itself.", "Your inbox can now run itself."
    )
    changed = {r.payload["post"]: normalize_widget(r)[0] for r in parse_page(edited_text).records}
    assert changed["durov/519"].content_hash() != before["durov/519"].content_hash()


def test_payload_keeps_the_widget_html_as_provenance(durov_posts: dict[int, Post]) -> None:
    raw = durov_posts[533].raw
    assert (
        raw["html"].startswith('<div class="tgme_widget_message ') and 'data-post="durov/533"' in raw["html"]
    )
    assert raw["views"] == "5.3M" and raw["datetime"] == "2026-07-21T14:36:55+00:00"


def test_observed_at_is_the_fetch_time(durov_html: str) -> None:
    at = datetime(2026, 8, 9, 12, 0, tzinfo=timezone.utc)
    rec = parse_page(durov_html, fetched_at=at).records[0]
    assert normalize_widget(rec)[0].observed_at == at


# ------------------------------------------------------------------------------------- synthetic page


def test_album_widget_is_one_post_with_all_media(synth_posts: dict[int, Post]) -> None:
    album = synth_posts[42]
    assert album.text == "Three views of the flooded harbour"
    assert [(m["type"], m["msg_id"]) for m in album.media] == [("video", 42), ("photo", 43), ("photo", 44)]
    assert album.media[1]["id"] == 5111111111111111111 and album.media[1]["url"] == "https://t.me/wwsynth/43"
    assert album.media[0]["duration"] == 27
    assert 43 not in synth_posts and 44 not in synth_posts  # members are not posts of their own
    assert album.metrics.views == 1_200_000


def test_forward_from_a_channel_and_from_a_hidden_user(synth_posts: dict[int, Post]) -> None:
    fwd = synth_posts[40].forwarded_from
    assert fwd is not None and (fwd.platform, fwd.channel_id, fwd.post_id, fwd.name) == (
        "telegram", None, 77, "Other & News",
    )  # fmt: skip
    assert fwd.posted_at is None  # t.me does not show the original date
    assert synth_posts[40].raw["forwarded_from"]["handle"] == "othernews"
    hidden = synth_posts[41].forwarded_from
    assert hidden is not None and (hidden.channel_id, hidden.post_id, hidden.name) == (
        None,
        None,
        "Hidden Person",
    )
    assert synth_posts[40].text == "Port closed after the storm\nShips wait offshore."


def test_reply_header_is_a_reference_not_text(synth_posts: dict[int, Post]) -> None:
    p = synth_posts[45]
    assert p.reply_to is not None and (p.reply_to.channel_id, p.reply_to.post_id) == (1777000111, 40)
    assert p.text == "Update: the port reopens at noon."  # the quoted text of the replied post is left out
    assert p.metrics.reactions == {"👍": 1200, "😢": 37}
    assert p.raw["author"] == "Night Desk"


def test_service_message(synth_posts: dict[int, Post]) -> None:
    p = synth_posts[1]
    assert p.kind == "service" and p.text == "Channel created" and p.metrics is None


def test_entity_heavy_text(synth_posts: dict[int, Post]) -> None:
    p = synth_posts[46]
    assert p.text == (
        "🚨 BREAKING #flood #harbour\nSource: @othernews and the report!\n🌊 casualties unconfirmed\n"
        "Officials: “stay indoors”\nlevel = 4.2 m\nRaw: https://example.org/plain"
    )
    assert p.hashtags == ("flood", "harbour")
    assert p.mentions == ("othernews",)
    assert p.links == ("https://example.org/report?id=7&lang=en",)  # t.me's doubled &amp; undone
    assert p.raw["edited"] is True and p.edited_at is None
    assert p.metrics.reactions == {"5265077361648368841": 2500, "paid": 15}
    assert p.metrics.views == 31_400


def test_document_poll_and_unsupported_media(synth_posts: dict[int, Post]) -> None:
    assert synth_posts[47].media == (
        {"type": "document", "file_name": "harbour_report.pdf", "size": "2.4 MB"},
    )
    assert synth_posts[47].text == "Full report attached"
    assert synth_posts[48].media == (
        {"type": "poll", "question": "Is your street flooded?", "answers": ["Yes", "No"]},
    )
    assert synth_posts[49].media == (
        {"type": "unsupported", "label": "Please open Telegram to view this post"},
    )


def test_widget_without_data_view_takes_the_pages_channel_id(synth_posts: dict[int, Post]) -> None:
    assert synth_posts[49].raw["view"] is None
    assert synth_posts[49].channel_id == 1777000111


# -------------------------------------------------------------------------------------------- rejects


def _record(payload: object, **context: object) -> RawRecord:
    return RawRecord(source="telegram_web", payload=payload, origin="test#1", context=dict(context))


def _good_payload(durov_html: str) -> dict:
    return dict(parse_page(durov_html).records[0].payload)


def _reason(items: list) -> str:
    [item] = items
    assert isinstance(item, Rejected), item
    assert item.source == "telegram_web" and item.origin == "test#1"
    return item.reason


def test_no_channel_id_anywhere_is_rejected(durov_html: str) -> None:
    payload = {**_good_payload(durov_html), "view": None}
    assert "channel id unknown for durov/519" in _reason(normalize_widget(_record(payload)))
    [post] = normalize_widget(_record(payload, channel_id=DUROV_ID))
    assert isinstance(post, Post) and post.channel_id == DUROV_ID


def test_unreadable_data_view_falls_back_then_rejects(durov_html: str) -> None:
    payload = {**_good_payload(durov_html), "view": "%%%not-base64%%%"}
    reason = _reason(normalize_widget(_record(payload)))
    assert "channel id unknown" in reason and "data-view" in reason
    positive = {**_good_payload(durov_html), "view": "eyJjIjoxMjN9"}  # {"c":123}: not a channel peer id
    assert "expected a negative channel peer id" in _reason(normalize_widget(_record(positive)))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"post": None}, "data-post missing"),
        ({"post": "durov/abc"}, "data-post is not <handle>/<id>"),
        ({"post": "durov/99999999999999999999"}, "data-post is not <handle>/<id>"),
        ({"datetime": None}, "time[datetime] missing"),
        ({"datetime": "yesterday"}, "time[datetime] is not ISO 8601"),
        ({"datetime": "2026-05-20T15:38:10"}, "time[datetime] has no time zone"),
        ({"views": "lots"}, "views: not a count"),
        ({"reactions": [{"emoji": "👍", "count": "many"}]}, "reaction 👍: not a count"),
        ({"reactions": [{"count": "3"}]}, "reaction without emoji"),
    ],
)
def test_malformed_widgets_are_rejected_with_the_field(durov_html: str, change: dict, expected: str) -> None:
    payload = {**_good_payload(durov_html), **change}
    assert expected in _reason(normalize_widget(_record(payload)))


def test_not_a_dict_or_not_a_widget_is_rejected() -> None:
    assert "payload is str" in _reason(normalize_widget(_record("<div>")))
    landing = {
        "page_kind": "landing",
        "problem": "t.me landing page of @durov ('Pavel Durov'), not its post list",
    }
    assert _reason(normalize_widget(_record(landing))).startswith("t.me landing page of @durov")
