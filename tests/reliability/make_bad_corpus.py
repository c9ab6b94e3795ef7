"""Write the bad-input corpus in tests/data/bad/ (run from the repo root: `python -m tests.reliability.make_bad_corpus`).

Each file holds one kind of damage, usually beside one good record so that "the rest still loads" is checked
too. What each case must produce (loaded posts, rejects and the exact reason) is in tests/data/bad/MANIFEST.toml,
written by hand; this script only makes the bytes (several cases are not writable by an editor: raw NUL
bytes, invalid UTF-8, lone surrogates). Cases too big to commit (a 5 MB text) or not files at all (a
directory, a missing path) are made by the test itself.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1] / "data" / "bad"
CHANNEL = 1555000001
X_USER = "2244994945"


# ------------------------------------------------------------------------------------------------ Telethon


def tl(mid: int = 101, **over) -> dict:
    msg = {
        "_": "Message", "id": mid, "peer_id": {"_": "PeerChannel", "channel_id": CHANNEL},
        "date": "2026-03-01T10:00:00+00:00", "message": f"good post {mid}", "out": False, "post": True,
        "from_id": None, "fwd_from": None, "reply_to": None, "media": None, "entities": [], "views": 10,
        "forwards": 1, "replies": None, "edit_date": None, "grouped_id": None, "reactions": None,
    }  # fmt: skip
    msg.update(over)
    return msg


def line(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def deep(data: bytes, depth: int = 5000) -> bytes:
    """Replace the string "DEEP" by a value nested `depth` arrays deep (json.dumps cannot write it)."""
    return data.replace(b'"DEEP"', b"[" * depth + b'"deep"' + b"]" * depth)


def webpage(title: str) -> dict:
    return {
        "_": "MessageMediaWebPage",
        "webpage": {"_": "WebPage", "id": 5, "url": "https://a.example", "title": title},
    }


def telethon_cases() -> dict[str, bytes]:
    good = line(tl(100))
    cases = {
        "truncated_json.jsonl": good + b"\n" + line(tl(101))[:57] + b"\n",
        "nul_escape_in_text.jsonl": good + b"\n" + line(tl(101, message="before\u0000after")) + b"\n",
        "raw_nul_byte.jsonl": good + b"\n" + line(tl(101)).replace(b"good", b"go\x00od") + b"\n",
        "lone_surrogate.jsonl": good
        + b"\n"
        + line(tl(101, message="AAA")).replace(b"AAA", b"x\\ud800y")
        + b"\n",
        "invalid_utf8.jsonl": good
        + b"\n"
        + line(tl(101, message="AAA")).replace(b"AAA", b"caf\xe9 \xff")
        + b"\n",
        "naive_date.jsonl": line(tl(101, date="2026-03-01 10:00:00.000000")) + b"\n",
        "missing_date.jsonl": good + b"\n" + line({k: v for k, v in tl(101).items() if k != "date"}) + b"\n",
        "far_future_date.jsonl": good + b"\n" + line(tl(101, date="2099-01-01T00:00:00+00:00")) + b"\n",
        "epoch_zero_date.jsonl": good + b"\n" + line(tl(101, date=0)) + b"\n",
        "garbage_date.jsonl": good + b"\n" + line(tl(101, date="yesterday at noon")) + b"\n",
        "negative_id.jsonl": good + b"\n" + line(tl(-101)) + b"\n",
        "huge_id.jsonl": good
        + b"\n"
        + line(tl(101)).replace(b'"id": 101', b'"id": 99999999999999999999999')
        + b"\n",
        "id_changes_type.jsonl": good + b"\n" + line(tl("101")) + b"\n" + line(tl(102.0)) + b"\n",
        "bool_id.jsonl": good + b"\n" + line(tl(True)) + b"\n",
        "huge_channel_id.jsonl": good
        + b"\n"
        + line(tl(101, peer_id={"_": "PeerChannel", "channel_id": 2**64}))
        + b"\n",
        "private_chat.jsonl": good + b"\n" + line(tl(101, peer_id={"_": "PeerUser", "user_id": 42})) + b"\n",
        "unknown_record_type.jsonl": good + b"\n" + line(tl(101, _="MessageHologram")) + b"\n",
        "not_an_object.jsonl": good + b"\n" + b"[1, 2, 3]\n",
        "deeply_nested.jsonl": good + b"\n" + deep(line(tl(101, reply_markup="DEEP"))) + b"\n",
        "nested_500.jsonl": good + b"\n" + deep(line(tl(101, reply_markup="DEEP")), 500) + b"\n",
        "unknown_media_type.jsonl": line(tl(101, media={"_": "MessageMediaHologram", "depth": 3})) + b"\n",
        "media_wrong_type.jsonl": good + b"\n" + line(tl(101, media="a photo")) + b"\n",
        "text_wrong_type.jsonl": good + b"\n" + line(tl(101, message=12345)) + b"\n",
        "negative_views.jsonl": good + b"\n" + line(tl(101, views=-5)) + b"\n",
        "entities_out_of_range.jsonl": line(
            tl(
                101,
                message="short #tag",
                entities=[
                    {"_": "MessageEntityHashtag", "offset": 900, "length": 4},
                    {"_": "MessageEntityHashtag", "offset": 6, "length": 4},
                ],
            )
        )
        + b"\n",  # fmt: skip
        "same_id_twice_different_content.jsonl": line(tl(101, message="first text"))
        + b"\n"
        + line(tl(101, message="second text"))
        + b"\n",
        "deleted_message_no_fetch_time.jsonl": good
        + b"\n"
        + line({"_": "MessageEmpty", "id": 101, "peer_id": {"_": "PeerChannel", "channel_id": CHANNEL}})
        + b"\n",
        "nul_in_media_title.jsonl": good + b"\n" + line(tl(101, media=webpage("x\u0000y"))) + b"\n",
        "lone_surrogate_in_media_title.jsonl": good
        + b"\n"
        + line(tl(101, media=webpage("AAA"))).replace(b"AAA", b"x\\ud800y")
        + b"\n",
        "nul_in_link.jsonl": good
        + b"\n"
        + line(
            tl(
                101,
                message="see this",
                entities=[{"_": "MessageEntityTextUrl", "offset": 0, "length": 3, "url": "https://a\u0000b"}],
            )
        )
        + b"\n",
        "nul_in_reaction.jsonl": good
        + b"\n"
        + line(
            tl(
                101,
                reactions={
                    "_": "MessageReactions",
                    "results": [
                        {
                            "_": "ReactionCount",
                            "reaction": {"_": "ReactionEmoji", "emoticon": "a\u0000"},
                            "count": 2,
                        }
                    ],
                },
            )
        )
        + b"\n",
        "nul_in_forward_name.jsonl": good
        + b"\n"
        + line(
            tl(
                101,
                fwd_from={
                    "_": "MessageFwdHeader",
                    "date": "2026-03-01T09:00:00+00:00",
                    "from_name": "ab\u0000c",
                },
            )
        )
        + b"\n",
        "lone_surrogate_in_ignored_field.jsonl": good
        + b"\n"
        + line(tl(101, post_author="AAA")).replace(b"AAA", b"x\\udc00y")
        + b"\n",
        "bom_crlf_blank_lines.jsonl": b"\xef\xbb\xbf" + good + b"\r\n\r\n   \r\n" + line(tl(101)) + b"\r\n",
        "empty.jsonl": b"",
    }
    return cases


# ------------------------------------------------------------------------------------------------------ X


def tweet(tid: str = "1600000000000000001", **over) -> dict:
    t = {
        "id": tid, "text": f"good tweet {tid[-3:]}", "author_id": X_USER, "created_at": "2022-12-06T10:00:00.000Z",
        "edit_history_tweet_ids": [tid], "lang": "en",
        "public_metrics": {"retweet_count": 1, "reply_count": 0, "like_count": 5, "quote_count": 0},
    }  # fmt: skip
    t.update(over)
    return t


def page(*tweets, includes=None, **extra) -> dict:
    inc = {"users": [{"id": X_USER, "username": "badx", "name": "Bad X"}]}
    if includes:
        inc.update(includes)
    return {"data": list(tweets), "includes": inc, **extra}


def x_cases() -> dict[str, bytes]:
    good = line(page(tweet()))
    rt = tweet("1600000000000000002", text="RT @other: the start of a long tw…",
               referenced_tweets=[{"type": "retweeted", "id": "1599999999999999999"}])  # fmt: skip
    return {
        "truncated_line.jsonl": good + b"\n" + line(page(tweet("1600000000000000002")))[:80] + b"\n",
        "missing_includes_retweet.jsonl": line(page(rt)) + b"\n",
        "missing_created_at.jsonl": line(
            page({k: v for k, v in tweet("1600000000000000002").items() if k != "created_at"})
        )
        + b"\n",  # fmt: skip
        "naive_created_at.jsonl": line(page(tweet("1600000000000000002", created_at="2022-12-06T10:00:00")))
        + b"\n",
        "future_created_at.jsonl": line(
            page(tweet("1600000000000000002", created_at="2099-01-01T00:00:00.000Z"))
        )
        + b"\n",
        "id_number_not_string.jsonl": line(page(tweet("1600000000000000002"))).replace(
            b'"id": "1600000000000000002"', b'"id": 1600000000000000002'
        )
        + b"\n",  # fmt: skip
        "id_not_numeric.jsonl": line(page(tweet("16000000000000000x2"))) + b"\n",
        "id_out_of_range.jsonl": line(page(tweet("99999999999999999999999"))) + b"\n",
        "author_missing.jsonl": line(
            page({k: v for k, v in tweet("1600000000000000002").items() if k != "author_id"})
        )
        + b"\n",  # fmt: skip
        "deeply_nested.jsonl": good
        + b"\n"
        + deep(line(page(tweet("1600000000000000002", geo="DEEP"))))
        + b"\n",
        "page_not_object.jsonl": good + b"\n" + b'"just a string"\n',
        "not_a_page.jsonl": good + b"\n" + line({"hello": "world"}) + b"\n",
        "errors_only.jsonl": line(
            {
                "errors": [
                    {
                        "value": "1600000000000000009",
                        "detail": "Could not find tweet",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "ids",
                        "resource_id": "1600000000000000009",
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                ]
            }
        )
        + b"\n",  # fmt: skip
        "data_is_object.jsonl": line({**page(), "data": tweet("1600000000000000002")}) + b"\n",
        "unknown_media_type.jsonl": line(
            page(
                tweet("1600000000000000002", attachments={"media_keys": ["99_1600000000000000077"]}),
                includes={"media": [{"media_key": "99_1600000000000000077", "type": "hologram"}]},
            )
        )
        + b"\n",  # fmt: skip
        "lone_surrogate_text.jsonl": line(page(tweet(), tweet("1600000000000000002", text="AAA"))).replace(
            b"AAA", b"x\\udc00y"
        )
        + b"\n",  # fmt: skip
        "nul_in_text.jsonl": line(page(tweet("1600000000000000002", text="a\u0000b"))) + b"\n",
        "compliance_delete.jsonl": good
        + b"\n"
        + line(
            {
                "delete": {
                    "status": {"id": "1600000000000000001", "user_id": X_USER},
                    "timestamp_ms": "1670400000000",
                }
            }
        )
        + b"\n",  # fmt: skip
    }


# --------------------------------------------------------------------------------------- Telegram Desktop


def export(messages, **top) -> bytes:
    doc = {"name": "Bad Export", "type": "public_channel", "id": 1555000002, "messages": messages}
    doc.update(top)
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def emsg(mid: int = 1, **over) -> dict:
    m = {
        "id": mid, "type": "message", "date": "2026-03-01T12:00:00", "date_unixtime": "1772366400",
        "from": "Bad Export", "from_id": "channel1555000002", "text": f"export post {mid}",
        "text_entities": [{"type": "plain", "text": f"export post {mid}"}],
    }  # fmt: skip
    m.update(over)
    return m


def export_cases() -> dict[str, bytes]:
    full = export([emsg(1), emsg(2), emsg(3)])
    return {
        "truncated.json": full[: full.index(b'"id": 3')],
        "missing_date_unixtime.json": export(
            [emsg(1), {k: v for k, v in emsg(2).items() if k != "date_unixtime"}]
        ),
        "account_export.json": json.dumps({"about": "x", "chats": {"list": []}}).encode(),
        "text_wrong_type.json": export([emsg(1), emsg(2, text=12345, text_entities=None)]),
        "negative_id.json": export([emsg(1), emsg(-2)]),
        "unknown_message_type.json": export([emsg(1), emsg(2, type="hologram")]),
        "nul_in_text.json": export(
            [emsg(1), emsg(2, text="a\u0000b", text_entities=[{"type": "plain", "text": "a\u0000b"}])]
        ),
        "huge_channel_id.json": export([emsg(1)], id=2**70),
        "messages_not_array.json": export({"1": emsg(1)}),
        "string_ids.json": export([emsg("7"), emsg(8)]),
        "deeply_nested.json": deep(export([emsg(1), emsg(2, reply_markup="DEEP")])),
    }


# ------------------------------------------------------------------------------------------------ t.me/s


def widget(post: int, text: str = "", *, when: str = "2026-03-02T09:15:00+00:00", views: str = "12") -> str:
    view = base64.urlsafe_b64encode(
        orjson.dumps({"c": -1555000003, "p": post, "t": 1790000000, "h": "00badweb0000000"})
    ).decode().rstrip("=")  # fmt: skip
    return f"""<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message text_not_supported_wrap js-widget_message" data-post="badweb/{post}" data-view="{view}">
  <div class="tgme_widget_message_bubble">
    <div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" href="https://t.me/badweb"><span dir="auto">Bad Web</span></a></div>
    <div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>
    <div class="tgme_widget_message_footer compact js-message_footer">
      <div class="tgme_widget_message_info short js-message_info">
        <span class="tgme_widget_message_views">{views}</span><span class="copyonly"> views</span><span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" href="https://t.me/badweb/{post}"><time datetime="{when}" class="time">09:15</time></a></span>
      </div>
    </div>
  </div>
</div></div>
"""


def web_page(*widgets: str) -> str:
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Bad Web – Telegram</title><meta property="og:title" content="Bad Web"></head>
<body class="widget_frame_base tgme_webpreview">
<header class="tgme_header"><div class="tgme_channel_info"><div class="tgme_channel_info_header">
<div class="tgme_channel_info_header_title"><span dir="auto">Bad Web</span></div>
<div class="tgme_channel_info_header_username"><a href="https://t.me/badweb">@badweb</a></div></div></div></header>
<main class="tgme_main" data-url="/badweb"><div class="tgme_container"><section class="tgme_channel_history js-message_history">
{"".join(widgets)}</section></div></main></body></html>
"""


def web_cases() -> dict[str, bytes]:
    heavy = "".join(f"&amp;&lt;&#x1F525;&#{1040 + i % 32};&nbsp;" for i in range(4000))
    return {
        "entity_heavy.html": web_page(widget(10, "start " + heavy + " end")).encode(),
        "bad_time.html": web_page(widget(10, "fine"), widget(11, "bad time", when="not-a-time")).encode(),
        "garbage_views.html": web_page(widget(10, "odd views", views="8.67X")).encode(),
        "not_a_post_list.html": b"<html><head><title>Telegram: Contact @badweb</title></head><body>"
        b'<div class="tgme_page"><div class="tgme_page_title">Bad Web</div></div></body></html>',
        "unclosed_tags.html": web_page(
            widget(10, "<b><i>never closed <a href='https://x.org'>link")
        ).encode(),
        "invalid_utf8.html": web_page(widget(10, "ok")).encode().replace(b"ok", b"\xff\xfe ok"),
        "nul_bytes.html": web_page(widget(10, "a\x00b")).encode(),
    }


def main() -> None:
    groups = {"telethon": telethon_cases(), "x": x_cases(), "export": export_cases(), "web": web_cases()}
    for group, cases in groups.items():
        d = ROOT / group
        d.mkdir(parents=True, exist_ok=True)
        for name, data in cases.items():
            (d / name).write_bytes(data)
    # Not a file format at all: a folder holding only a non-importable file.
    (ROOT / "misc" / "folder_without_importables").mkdir(parents=True, exist_ok=True)
    (ROOT / "misc" / "folder_without_importables" / "notes.txt").write_text("nothing to import here\n")
    print(sum(len(c) for c in groups.values()), "files under", ROOT)


if __name__ == "__main__":
    main()
