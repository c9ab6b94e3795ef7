"""Normalise one Telegram Desktop export message (a `result.json` messages item) into a Post.

Quirks absorbed here (tdesktop's `export_output_json.cpp` is the reference):
- `date` and `edited` are the exporter's LOCAL wall-clock time without a zone; only `date_unixtime` /
  `edited_unixtime` say when. A message without `date_unixtime` (exports before tdesktop 3.3) is rejected.
- `text` is a string, or a list of strings and entity objects ({"type": "link", "text": ...},
  {"type": "text_link", "text": ..., "href": ...}, hashtag, mention, bold, ...); `text_entities` is the same
  list with plain runs as {"type": "plain"} objects.
- forwards name the source (`forwarded_from`) and, in recent versions, its peer (`forwarded_from_id`:
  "channel123", "user123", "chat123"), but never the original message id or date.
- media are described by keys on the message (`photo`, `file` + `media_type`, `poll`, `location_information`,
  `contact_information`, ...); paths read "(File not included. ...)" when media were not exported, so paths
  are kept out of the content hash.
- exports carry no view or forward counts and no album ids: metrics and grouped_id stay None.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ingest.models import Channel, Post, PostRef, RawRecord, Rejected, positive_id, utc_from_unix
from ingest.textsafe import telegram_post_url

PLATFORM = "telegram"
SOURCE = "telegram_export"

#: tdesktop `media_type` -> wirewatch media type (shared vocabulary with the Telethon normaliser).
_DOCUMENT_TYPES = {
    "sticker": "sticker",
    "video_file": "video",
    "video_message": "video_note",
    "voice_message": "voice",
    "animation": "animation",
    "audio_file": "audio",
}
#: Export keys describing a file -> the names the Telethon normaliser gives the same facts.
_MEDIA_DETAIL_KEYS = {
    "mime_type": "mime_type", "file_name": "file_name", "file_size": "size", "photo_file_size": "size",
    "width": "width", "height": "height", "duration_seconds": "duration", "sticker_emoji": "emoji",
    "performer": "performer", "title": "title",
}  # fmt: skip
_PEER_PREFIXES = ("channel", "chat", "user")


class _Bad(ValueError):
    """A field is malformed: the message becomes a Rejected with this reason."""


def normalize_export_message(record: RawRecord) -> list[Post | Rejected]:
    """One export message -> [Post] (kind "post" or "service"), or [Rejected] with a precise reason."""
    msg = record.payload
    ctx = record.context or {}
    if not isinstance(msg, dict):
        return [_reject(record, f"message is a JSON {type(msg).__name__}, expected an object")]
    try:
        channel_id = positive_id(ctx.get("channel_id"), "export channel id (top-level 'id')")
    except ValueError as exc:
        return [_reject(record, str(exc))]
    try:
        post_id = positive_id(msg.get("id"), "message 'id'")
    except ValueError as exc:
        return [_reject(record, str(exc), channel_id=channel_id)]
    try:
        return [_post(record, msg, ctx, channel_id, post_id)]
    except _Bad as exc:
        return [_reject(record, str(exc), channel_id=channel_id, post_id=post_id)]


def _post(record: RawRecord, msg: dict[str, Any], ctx: dict[str, Any], channel_id: int, post_id: int) -> Post:
    mtype = msg.get("type", "message")
    if mtype == "unsupported":
        raise _Bad("message type 'unsupported': tdesktop exported no date or content for it")
    if mtype not in ("message", "service"):
        raise _Bad(f"unknown message type {mtype!r}")
    posted_at = _unix(msg, "date_unixtime", required=True)
    edited_at = _unix(msg, "edited_unixtime", required=False)
    handle = ctx.get("handle") or None
    text, links, hashtags, mentions = _text(msg)
    kind = "post"
    media: tuple[dict[str, Any], ...] = ()
    if mtype == "service":
        kind = "service"
        text = text or _service_text(msg)
    else:
        media = tuple(_media(msg))
    return Post(
        platform=PLATFORM,
        channel_id=channel_id,
        post_id=post_id,
        posted_at=posted_at,
        text=text,
        channel=Channel(PLATFORM, channel_id, handle, _str_or_none(ctx.get("channel_name"))),
        edited_at=edited_at,
        version_at=edited_at or posted_at,
        source_post_id=post_id,
        url=telegram_post_url(handle, channel_id, post_id),
        reply_to=_reply_to(msg, channel_id) if kind == "post" else None,
        forwarded_from=_forwarded_from(msg),
        kind=kind,
        media=media,
        links=links,
        hashtags=hashtags,
        mentions=mentions,
        metrics=None,  # exports carry no counts, and no observation time to date them by
        observed_at=record.fetched_at,
        source=SOURCE,
        raw=msg,
        origin=record.origin,
    )


def _unix(msg: dict[str, Any], key: str, *, required: bool) -> datetime | None:
    value = msg.get(key)
    if value is None:
        if not required:
            return None
        local = msg.get(key.removesuffix("_unixtime"))
        if local is not None:
            raise _Bad(
                f"{key} missing; 'date' ({str(local)[:40]}) is the exporter's local time without a zone, so "
                "the UTC time is unknowable (re-export with Telegram Desktop 3.3 or later)"
            )
        raise _Bad(f"{key} missing: the message has no time")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _Bad(f"{key} has type {type(value).__name__}, expected a Unix time")
    try:
        return utc_from_unix(value)
    except (ValueError, OverflowError, OSError):
        raise _Bad(f"{key} is not a Unix time: {str(value)[:40]!r}") from None


def _text(msg: dict[str, Any]) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Plain text and the links, hashtags and mentions its entities mark."""
    parts = msg.get("text_entities")
    if not isinstance(parts, list):  # older exports have only `text`
        parts = msg.get("text", "")
    if parts is None:
        parts = ""
    if isinstance(parts, str):
        parts = [parts]
    if not isinstance(parts, list):
        raise _Bad(f"text has type {type(parts).__name__}, expected a string or a list")
    out: list[str] = []
    links: list[str] = []
    hashtags: list[str] = []
    mentions: list[str] = []
    for i, part in enumerate(parts):
        if isinstance(part, str):
            out.append(part)
            continue
        if not isinstance(part, dict):
            raise _Bad(f"text part {i} has type {type(part).__name__}, expected a string or an object")
        chunk = part.get("text", "")
        if not isinstance(chunk, str):
            raise _Bad(f"text part {i} ({part.get('type')!r}) has a non-string 'text'")
        out.append(chunk)
        etype = part.get("type")
        if etype == "link":
            links.append(_with_scheme(chunk))
        elif etype == "text_link" and isinstance(part.get("href"), str):
            links.append(part["href"])
        elif etype == "hashtag":
            hashtags.append(chunk.lstrip("#"))
        elif etype == "mention":
            mentions.append(chunk.lstrip("@"))
    return (
        "".join(out),
        tuple(dict.fromkeys(x for x in links if x)),
        tuple(dict.fromkeys(x for x in hashtags if x)),
        tuple(dict.fromkeys(x for x in mentions if x)),
    )


def _with_scheme(url: str) -> str:
    # Telegram links bare domains ("kyivpost.com/..."): store them as the URL a click opens.
    url = url.strip()
    if url and "://" not in url and not url.lower().startswith(("mailto:", "tg:")):
        return "https://" + url
    return url


def _media(msg: dict[str, Any]) -> Iterable[dict[str, Any]]:
    # Paths go under "path", outside the content hash: the same post exported with and without media
    # (or on another day) must not look edited.
    if "photo" in msg:
        item: dict[str, Any] = {"type": "photo"}
        _put_path(item, msg.get("photo"))
        yield _details(item, msg, ("photo_file_size", "width", "height"))
    if "file" in msg or "media_type" in msg:
        media_type = msg.get("media_type")
        item = {
            "type": _DOCUMENT_TYPES.get(media_type, "document") if isinstance(media_type, str) else "document"
        }
        if isinstance(media_type, str):
            item["media_type"] = media_type
        _put_path(item, msg.get("file"))
        thumbnail = msg.get("thumbnail")
        if isinstance(thumbnail, str) and thumbnail and not thumbnail.startswith("("):
            item["thumbnail"] = thumbnail
        yield _details(item, msg, _MEDIA_DETAIL_KEYS)
    poll = msg.get("poll")
    if isinstance(poll, dict):
        answers = poll.get("answers") if isinstance(poll.get("answers"), list) else []
        yield {
            "type": "poll",
            "question": poll.get("question"),
            "answers": [a.get("text") for a in answers if isinstance(a, dict)],
            "closed": poll.get("closed"),
            "total_voters": poll.get("total_voters"),
        }
    loc = msg.get("location_information")
    if isinstance(loc, dict) or "place_name" in msg:
        item = {"type": "venue" if "place_name" in msg else "geo"}
        if isinstance(loc, dict):
            item["latitude"], item["longitude"] = loc.get("latitude"), loc.get("longitude")
        for key in ("place_name", "address", "live_location_period_seconds"):
            if key in msg:
                item[key] = msg[key]
        yield item
    contact = msg.get("contact_information")
    if isinstance(contact, dict):
        yield {"type": "contact", **{k: contact.get(k) for k in ("first_name", "last_name", "phone_number")}}
    if "game_title" in msg:
        yield {"type": "game", "title": msg.get("game_title"), "description": msg.get("game_description")}
    invoice = msg.get("invoice_information")
    if isinstance(invoice, dict):
        yield {
            "type": "invoice",
            **{k: invoice.get(k) for k in ("title", "description", "amount", "currency")},
        }


def _put_path(item: dict[str, Any], value: Any) -> None:
    if isinstance(value, str) and value:
        if value.startswith("("):  # "(File not included. Change data exporting settings to download.)"
            item["not_exported"] = value.strip("()")
        else:
            item["path"] = value


def _details(item: dict[str, Any], msg: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    for key in keys:
        if key in msg and msg[key] is not None:
            item[_MEDIA_DETAIL_KEYS[key]] = msg[key]
    return item


def _peer(value: Any, what: str) -> tuple[str, int] | None:
    """Parse tdesktop's peer ids ("channel1234", "user42", "chat7") into (kind, bare id)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(f"{what} has type {type(value).__name__}, expected a string like 'channel123'")
    for prefix in _PEER_PREFIXES:
        if value.startswith(prefix):
            try:
                return prefix, positive_id(value[len(prefix) :], what)
            except ValueError as exc:
                raise _Bad(str(exc)) from None
    raise _Bad(f"{what} {value[:40]!r} is not 'channel<id>', 'chat<id>' or 'user<id>'")


def _forwarded_from(msg: dict[str, Any]) -> PostRef | None:
    name = _str_or_none(msg.get("forwarded_from"))
    peer = _peer(msg.get("forwarded_from_id"), "forwarded_from_id")
    if peer is None and name is None:
        if "forwarded_from" in msg:  # tdesktop writes null for a deleted source: still a forward
            return PostRef(PLATFORM, None, None, None, None)
        return None
    # Only channels are posts' channels; a user or basic-group origin keeps just its display name.
    channel_id = peer[1] if peer is not None and peer[0] == "channel" else None
    return PostRef(PLATFORM, channel_id, None, None, name)


def _reply_to(msg: dict[str, Any], channel_id: int) -> PostRef | None:
    if msg.get("reply_to_message_id") is None:
        return None
    try:
        reply_id = positive_id(msg.get("reply_to_message_id"), "reply_to_message_id")
    except ValueError as exc:
        raise _Bad(str(exc)) from None
    peer = _peer(msg.get("reply_to_peer_id"), "reply_to_peer_id")
    return PostRef(PLATFORM, peer[1] if peer is not None else channel_id, reply_id)


def _service_text(msg: dict[str, Any]) -> str:
    """A short description of a service action ("pin_message #123", "edit_group_title: New name")."""
    action = _str_or_none(msg.get("action")) or "service"
    title = _str_or_none(msg.get("title")) or _str_or_none(msg.get("new_title"))
    target = msg.get("message_id")
    out = action
    if title:
        out += f": {title}"
    if isinstance(target, int) and not isinstance(target, bool):
        out += f" #{target}"
    return out


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _reject(
    record: RawRecord, reason: str, *, channel_id: int | None = None, post_id: int | None = None
) -> Rejected:
    return Rejected(
        source=SOURCE, reason=reason, payload=record.payload, origin=record.origin, raw_text=record.raw_text,
        platform=PLATFORM, channel_id=channel_id, post_id=post_id,
    )  # fmt: skip
