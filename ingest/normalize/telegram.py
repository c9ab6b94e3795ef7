"""Normalise one Telethon message (`Message.to_dict()` / `MessageService.to_dict()`) into a Post.

The same function serves the live source (payloads made JSON-safe by `ingest.sources.telegram`, dates as ISO
strings with an offset) and Telethon JSONL dumps (`telethon_jsonl`, dates written by `str()` of a naive
datetime, e.g. "2025-08-20 05:54:04.000000": Telethon dates are UTC, so a naive string is read as UTC there
and refused anywhere else). Quirks absorbed here:

- entity offsets and lengths count UTF-16 code units, not Python characters: an emoji outside the BMP before
  a link shifts every offset by one per emoji;
- Telegram moves `edit_date` when reactions change, so it is only `version_at` (the loader detects edits by
  content hash, never by `edit_date`);
- an album is one message per media item sharing `grouped_id`; each normalises alone, the pipeline merges;
- only channels and supergroups (`PeerChannel`) have a stable public id space: basic groups (`PeerChat`) and
  private chats (`PeerUser`) are rejected with the reason, as are forwards' and replies' non-channel peers
  reduced to a name or nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ingest.models import (
    Channel,
    Deletion,
    Metrics,
    Post,
    PostRef,
    RawRecord,
    Rejected,
    check_id,
    id_problem,
    utc_from_unix,
)
from ingest.normalize.common import telegram_post_url
from ingest.times import NaiveTime, iso_to_utc

PLATFORM = "telegram"
SOURCE_LIVE = "telethon"
SOURCE_JSONL = "telethon_jsonl"
_MESSAGE_TYPES = ("Message", "MessageService")


class _Bad(ValueError):
    """A field is malformed: the message becomes a Rejected with this reason."""


def normalize_message(record: RawRecord) -> list[Post | Rejected | Deletion]:
    """One Telethon message dict -> [Post] (kind "post" or "service"), [Deletion] for a dated MessageEmpty,
    or [Rejected] with a precise reason. Pure: no I/O, no clock."""
    msg = record.payload
    if msg is None and record.raw_text is not None:
        why = (record.context or {}).get("decode_error") or "not valid JSON"
        return [_reject(record, f"undecodable line: {why}")]
    if not isinstance(msg, dict):
        return [
            _reject(record, f"payload is a JSON {type(msg).__name__}, expected a Telethon message object")
        ]
    kind = msg.get("_")
    if kind == "MessageEmpty":
        return [_empty(record, msg)]
    if kind not in _MESSAGE_TYPES:
        shown = kind if isinstance(kind, str) else type(kind).__name__
        return [_reject(record, f"unknown record type {shown!r} in '_': expected Message or MessageService")]
    try:
        channel_id = _channel_of(msg.get("peer_id"), "peer_id", required=True)
    except _Bad as exc:
        return [_reject(record, str(exc))]
    try:
        post_id = _message_id(msg.get("id"))
    except _Bad as exc:
        return [_reject(record, str(exc), channel_id=channel_id)]
    try:
        return [_post(record, msg, channel_id, post_id)]
    except _Bad as exc:
        return [_reject(record, str(exc), channel_id=channel_id, post_id=post_id)]


# --------------------------------------------------------------------------------------------- the post


def _post(record: RawRecord, msg: dict[str, Any], channel_id: int, post_id: int) -> Post:
    ctx = record.context or {}
    naive_ok = record.source == SOURCE_JSONL or bool(ctx.get("naive_dates_are_utc"))
    posted_at = _time(msg.get("date"), "date", naive_ok=naive_ok)
    if posted_at is None:
        raise _Bad("date missing: the message has no time")
    edited_at = _time(msg.get("edit_date"), "edit_date", naive_ok=naive_ok)
    handle, title = _channel_names(ctx, channel_id)
    service = msg["_"] == "MessageService"
    if service:
        text = _service_text(msg.get("action"))
        media: tuple[dict[str, Any], ...] = ()
        links: tuple[str, ...] = ()
        hashtags: tuple[str, ...] = ()
        mentions: tuple[str, ...] = ()
        metrics = None
    else:
        text = msg.get("message")
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise _Bad(f"message has type {type(text).__name__}, expected a string")
        media = tuple(_media(msg.get("media")))
        links, hashtags, mentions = _entities(text, msg.get("entities"))
        metrics = _metrics(msg)
    grouped_id = msg.get("grouped_id")
    if grouped_id is not None:
        grouped_id = _int(grouped_id, "grouped_id")
    return Post(
        platform=PLATFORM,
        channel_id=channel_id,
        post_id=post_id,
        posted_at=posted_at,
        text=text,
        channel=Channel(PLATFORM, channel_id, handle, title),
        edited_at=edited_at,
        # edit_date also moves when reactions change; the loader compares content hashes to find real edits.
        version_at=edited_at or posted_at,
        lang=None,
        url=telegram_post_url(handle, channel_id, post_id),
        reply_to=_reply_to(msg.get("reply_to"), channel_id),
        forwarded_from=_forwarded_from(msg.get("fwd_from"), naive_ok=naive_ok),
        grouped_id=grouped_id,
        kind="service" if service else "post",
        media=media,
        links=links,
        hashtags=hashtags,
        mentions=mentions,
        metrics=metrics,
        observed_at=record.fetched_at,
        source=record.source,
        raw=msg,
        origin=record.origin,
    )


def _channel_names(ctx: dict[str, Any], channel_id: int) -> tuple[str | None, str | None]:
    """The handle and title the source knows for this channel. A file named after one channel may hold
    another channel's messages: the names apply only when their channel id (if given) matches."""
    owner = ctx.get("handle_channel_id")
    if owner is not None and owner != channel_id:
        return None, None
    handle = ctx.get("handle")
    handle = handle.strip().lstrip("@") if isinstance(handle, str) else None
    title = ctx.get("title")
    return (handle or None), (title if isinstance(title, str) and title else None)


def _empty(record: RawRecord, msg: dict[str, Any]) -> Deletion | Rejected:
    """A MessageEmpty stands for an id that no longer holds a message: a deletion, if it can be dated."""
    try:
        post_id = _message_id(msg.get("id"))
        channel_id = _channel_of(msg.get("peer_id"), "peer_id", required=False)
    except _Bad as exc:
        return _reject(record, f"MessageEmpty: {exc}")
    if channel_id is None:
        return _reject(record, "MessageEmpty without peer_id: cannot tell which channel lost the message",
                       post_id=post_id)  # fmt: skip
    if record.fetched_at is None:
        return _reject(record, "MessageEmpty (deleted message) without a fetch time: the deletion cannot be dated",
                       channel_id=channel_id, post_id=post_id)  # fmt: skip
    return Deletion(PLATFORM, channel_id, post_id, record.fetched_at, source=record.source)


# ------------------------------------------------------------------------------------------ scalars


def _message_id(value: Any) -> int:
    if value is None:
        raise _Bad("id missing: the message has no id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"id has type {type(value).__name__} ({str(value)[:40]!r}), expected an integer")
    return _positive(value, "id")


def _positive(value: Any, what: str) -> int:
    """A message or channel id: the rule every platform shares (`models.id_problem`)."""
    n = _int(value, what)
    problem = id_problem(n, what)
    if problem:
        raise _Bad(problem)
    return n


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"{what} has type {type(value).__name__} ({str(value)[:40]!r}), expected an integer")
    try:
        return check_id(value, what)
    except ValueError as exc:
        raise _Bad(str(exc)) from None


def _time(value: Any, what: str, *, naive_ok: bool) -> datetime | None:
    """An aware UTC time from a datetime (live), an ISO string (JSON-safe live payloads, to_json dumps) or a
    naive string (to_dict dumps written with str(); UTC by Telethon's convention, accepted only for files)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _Bad(f"{what} is a naive datetime ({value.isoformat()}): its time zone is unknown")
        return value.astimezone(UTC)
    if isinstance(value, bool):
        raise _Bad(f"{what} has type bool, expected a time")
    if isinstance(value, (int, float)):
        try:
            return utc_from_unix(value)
        except (ValueError, OverflowError, OSError):
            raise _Bad(f"{what} is not a Unix time: {value!r}") from None
    if not isinstance(value, str):
        raise _Bad(f"{what} has type {type(value).__name__}, expected a time")
    try:
        return iso_to_utc(value, naive_is_utc=naive_ok)
    except NaiveTime:
        raise _Bad(f"{what} has no time zone ({value[:40]!r}) in a live payload") from None
    except ValueError:
        raise _Bad(f"{what} is not a time: {value[:40]!r}") from None


def _channel_of(peer: Any, what: str, *, required: bool) -> int | None:
    """The channel id of a PeerChannel; other peers are not channels and are refused with the reason."""
    if peer is None:
        if required:
            raise _Bad(f"{what} missing: cannot tell which channel the message belongs to")
        return None
    if not isinstance(peer, dict):
        raise _Bad(f"{what} has type {type(peer).__name__}, expected a Peer object")
    kind = peer.get("_")
    if kind == "PeerChannel":
        cid = peer.get("channel_id")
        if cid is None:
            raise _Bad(f"{what}.channel_id missing")
        return _positive(cid, f"{what}.channel_id")
    if kind == "PeerChat":
        raise _Bad(f"{what} is a PeerChat (basic group {peer.get('chat_id')}): only channels and supergroups "
                   "are ingested (basic groups have no public id space or links)")  # fmt: skip
    if kind == "PeerUser":
        raise _Bad(f"{what} is a PeerUser (private chat): only channels and supergroups are ingested")
    raise _Bad(f"{what} has unknown peer type {str(kind)[:40]!r}")


def _peer_channel_or_none(peer: Any, what: str) -> int | None:
    """A referenced peer's channel id, or None for users and basic groups (their ids are another space)."""
    if isinstance(peer, dict) and peer.get("_") == "PeerChannel":
        return _channel_of(peer, what, required=False)
    return None


# ------------------------------------------------------------------------------------------- references


def _reply_to(header: Any, channel_id: int) -> PostRef | None:
    if not isinstance(header, dict) or header.get("_") != "MessageReplyHeader":
        return None  # MessageReplyStoryHeader replies to a story, not a post
    msg_id = header.get("reply_to_msg_id")
    if msg_id is None:
        return None
    msg_id = _positive(msg_id, "reply_to.reply_to_msg_id")
    peer = header.get("reply_to_peer_id")
    if peer is None:
        return PostRef(PLATFORM, channel_id, msg_id)
    return PostRef(PLATFORM, _peer_channel_or_none(peer, "reply_to.reply_to_peer_id"), msg_id)


def _forwarded_from(header: Any, *, naive_ok: bool) -> PostRef | None:
    if header is None:
        return None
    if not isinstance(header, dict):
        raise _Bad(f"fwd_from has type {type(header).__name__}, expected a MessageFwdHeader object")
    origin_channel = _peer_channel_or_none(header.get("from_id"), "fwd_from.from_id")
    post = header.get("channel_post")
    post_id = _positive(post, "fwd_from.channel_post") if origin_channel and post is not None else None
    name = header.get("from_name")
    return PostRef(
        PLATFORM,
        origin_channel,
        post_id,
        _time(header.get("date"), "fwd_from.date", naive_ok=naive_ok),
        name if isinstance(name, str) and name else None,
    )


# ------------------------------------------------------------------------------------------------ entities


def _entities(text: str, entities: Any) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Links, hashtags and mentions the entities mark. Offsets count UTF-16 code units."""
    if not entities:
        return (), (), ()
    if not isinstance(entities, list):
        raise _Bad(f"entities has type {type(entities).__name__}, expected a list")
    utf16 = text.encode("utf-16-le", "surrogatepass")
    links: list[str] = []
    hashtags: list[str] = []
    mentions: list[str] = []
    for ent in entities:
        if not isinstance(ent, dict):
            continue
        kind = ent.get("_")
        if kind == "MessageEntityTextUrl":
            url = ent.get("url")
            if isinstance(url, str) and url.strip():
                links.append(url.strip())
            continue
        if kind not in ("MessageEntityUrl", "MessageEntityHashtag", "MessageEntityMention"):
            continue
        chunk = _slice_utf16(utf16, ent.get("offset"), ent.get("length"))
        if not chunk:
            continue  # offsets outside the text: nothing to read (the text itself is kept)
        if kind == "MessageEntityUrl":
            links.append(_with_scheme(chunk))
        elif kind == "MessageEntityHashtag":
            hashtags.append(chunk.lstrip("#"))
        else:
            mentions.append(chunk.lstrip("@"))
    return (
        tuple(dict.fromkeys(x for x in links if x)),
        tuple(dict.fromkeys(x for x in hashtags if x)),
        tuple(dict.fromkeys(x for x in mentions if x)),
    )


def _slice_utf16(utf16: bytes, offset: Any, length: Any) -> str:
    if isinstance(offset, bool) or isinstance(length, bool):
        return ""
    if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length <= 0:
        return ""
    start, end = 2 * offset, 2 * (offset + length)
    if end > len(utf16):
        return ""
    # A slice cutting a surrogate pair in half leaves a lone surrogate: drop it rather than store it.
    return utf16[start:end].decode("utf-16-le", "ignore").strip()


def _with_scheme(url: str) -> str:
    # Telegram links bare domains ("bloom.bg/4lzgWdi"): store them as the URL a click opens.
    if url and "://" not in url and not url.lower().startswith(("mailto:", "tg:")):
        return "https://" + url
    return url


# ---------------------------------------------------------------------------------------------------- media

_DOC_ATTR_TYPES = {
    "DocumentAttributeSticker": "sticker",
    "DocumentAttributeAnimated": "animation",
}


def _media(media: Any) -> list[dict[str, Any]]:
    if media is None:
        return []
    if not isinstance(media, dict):
        raise _Bad(f"media has type {type(media).__name__}, expected a MessageMedia object")
    kind = media.get("_")
    if kind in (None, "MessageMediaEmpty"):
        return []
    if kind == "MessageMediaPhoto":
        photo = media.get("photo") if isinstance(media.get("photo"), dict) else {}
        item: dict[str, Any] = {"type": "photo", "id": photo.get("id")}
        sizes = [s for s in photo.get("sizes") or [] if isinstance(s, dict) and isinstance(s.get("w"), int)]
        if sizes:
            big = max(sizes, key=lambda s: (s.get("w") or 0) * (s.get("h") or 0))
            item["width"], item["height"] = big.get("w"), big.get("h")
        if media.get("spoiler"):
            item["spoiler"] = True
        return [item]
    if kind == "MessageMediaDocument":
        return [_document(media.get("document"), media)]
    if kind == "MessageMediaWebPage":
        page = media.get("webpage") if isinstance(media.get("webpage"), dict) else {}
        item = {"type": "webpage", "id": page.get("id"), "url": page.get("url")}
        for key in ("display_url", "site_name", "title", "description"):
            if isinstance(page.get(key), str) and page[key]:
                item[key] = page[key]
        return [item]
    if kind == "MessageMediaPoll":
        poll = media.get("poll") if isinstance(media.get("poll"), dict) else {}
        results = media.get("results") if isinstance(media.get("results"), dict) else {}
        return [{
            "type": "poll", "id": poll.get("id"), "question": _tl_text(poll.get("question")),
            "answers": [_tl_text(a.get("text")) for a in poll.get("answers") or [] if isinstance(a, dict)],
            "closed": poll.get("closed"), "quiz": poll.get("quiz"), "total_voters": results.get("total_voters"),
        }]  # fmt: skip
    if kind in ("MessageMediaGeo", "MessageMediaGeoLive", "MessageMediaVenue"):
        geo = media.get("geo") if isinstance(media.get("geo"), dict) else {}
        item = {"type": "venue" if kind == "MessageMediaVenue" else "geo",
                "latitude": geo.get("lat"), "longitude": geo.get("long")}  # fmt: skip
        if kind == "MessageMediaGeoLive":
            item["live_period"] = media.get("period")
        if kind == "MessageMediaVenue":
            item["title"], item["address"] = media.get("title"), media.get("address")
        return [item]
    if kind == "MessageMediaContact":
        return [{"type": "contact", "first_name": media.get("first_name"), "last_name": media.get("last_name"),
                 "user_id": media.get("user_id")}]  # fmt: skip
    if kind == "MessageMediaDice":
        return [{"type": "dice", "emoticon": media.get("emoticon"), "value": media.get("value")}]
    if kind == "MessageMediaGame":
        game = media.get("game") if isinstance(media.get("game"), dict) else {}
        return [{"type": "game", "id": game.get("id"), "title": game.get("title")}]
    if kind == "MessageMediaInvoice":
        return [{"type": "invoice", "title": media.get("title"), "currency": media.get("currency"),
                 "amount": media.get("total_amount")}]  # fmt: skip
    if kind == "MessageMediaStory":
        return [{"type": "story", "id": media.get("id"),
                 "channel_id": _peer_channel_or_none(media.get("peer"), "media.peer")}]  # fmt: skip
    if kind == "MessageMediaPaidMedia":
        extended = [e for e in media.get("extended_media") or [] if isinstance(e, dict)]
        return [{"type": "paid_media", "stars": media.get("stars_amount"), "count": len(extended)}]
    if kind == "MessageMediaUnsupported":
        return [{"type": "unsupported"}]
    # MessageMediaGiveaway, MessageMediaToDo, ... : keep the kind, the raw payload keeps the rest.
    name = str(kind).removeprefix("MessageMedia") or "unknown"
    return [{"type": re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()}]


def _document(doc: Any, media: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("_") != "Document":
        return {"type": "document", "id": doc.get("id") if isinstance(doc, dict) else None}
    attrs = [a for a in doc.get("attributes") or [] if isinstance(a, dict)]
    names = {a.get("_") for a in attrs}
    kind = "document"
    for attr, mapped in _DOC_ATTR_TYPES.items():
        if attr in names:
            kind = mapped
    video = next((a for a in attrs if a.get("_") == "DocumentAttributeVideo"), None)
    audio = next((a for a in attrs if a.get("_") == "DocumentAttributeAudio"), None)
    if kind == "document" and video is not None:
        kind = "video_note" if video.get("round_message") or media.get("round") else "video"
    if kind == "document" and audio is not None:
        kind = "voice" if audio.get("voice") or media.get("voice") else "audio"
    item: dict[str, Any] = {"type": kind, "id": doc.get("id"), "mime_type": doc.get("mime_type")}
    file_name = next((a.get("file_name") for a in attrs if a.get("_") == "DocumentAttributeFilename"), None)
    if file_name:
        item["file_name"] = file_name
    if isinstance(doc.get("size"), int):
        item["size"] = doc["size"]
    timed = video or audio
    if timed is not None and timed.get("duration") is not None:
        item["duration"] = timed.get("duration")
    if audio is not None:
        for key in ("title", "performer"):
            if audio.get(key):
                item[key] = audio[key]
    sticker = next((a for a in attrs if a.get("_") == "DocumentAttributeSticker"), None)
    if sticker is not None and sticker.get("alt"):
        item["emoji"] = sticker["alt"]
    return item


def _tl_text(value: Any) -> str | None:
    """Poll questions and answers are TextWithEntities since layer 178, plain strings before."""
    if isinstance(value, dict):
        value = value.get("text")
    return value if isinstance(value, str) else None


# -------------------------------------------------------------------------------------------------- metrics


def _metrics(msg: dict[str, Any]) -> Metrics | None:
    views = _opt_count(msg.get("views"), "views")
    forwards = _opt_count(msg.get("forwards"), "forwards")
    replies = None
    rep = msg.get("replies")
    if isinstance(rep, dict):
        replies = _opt_count(rep.get("replies"), "replies.replies")
    reactions = _reactions(msg.get("reactions"))
    metrics = Metrics(views=views, forwards=forwards, replies=replies, reactions=reactions)
    return None if metrics.is_empty() else metrics


def _opt_count(value: Any, what: str) -> int | None:
    if value is None:
        return None
    count = _int(value, what)
    if count < 0:
        raise _Bad(f"{what} is negative: {count}")
    return count


def _reactions(value: Any) -> dict[str, int] | None:
    """{emoji: count}; custom emoji by their document id, paid (star) reactions under "paid"."""
    if not isinstance(value, dict):
        return None
    out: dict[str, int] = {}
    for rc in value.get("results") or []:
        if not isinstance(rc, dict):
            continue
        reaction = rc.get("reaction") if isinstance(rc.get("reaction"), dict) else {}
        kind = reaction.get("_")
        if kind == "ReactionEmoji":
            key = reaction.get("emoticon")
        elif kind == "ReactionCustomEmoji":
            key = str(reaction.get("document_id"))
        elif kind == "ReactionPaid":
            key = "paid"
        else:
            continue
        count = _opt_count(rc.get("count"), "reactions count")
        if isinstance(key, str) and key and count is not None:
            out[key] = out.get(key, 0) + count
    return out


# -------------------------------------------------------------------------------------------------- service

_ACTION_TEXT = {
    "MessageActionChatDeletePhoto": "Channel photo removed",
    "MessageActionChatEditPhoto": "Channel photo changed",
    "MessageActionHistoryClear": "History cleared",
    "MessageActionScreenshotTaken": "Screenshot taken",
    "MessageActionContactSignUp": "Joined Telegram",
    "MessageActionChatJoinedByRequest": "Joined by request",
    "MessageActionBoostApply": "Boosted the channel",
    "MessageActionGiveawayLaunch": "Giveaway launched",
    "MessageActionGiveawayResults": "Giveaway results",
    "MessageActionEmpty": "Service message",
}


def _service_text(action: Any) -> str:
    """A readable description of a service action ("Title changed to «…»", "Message pinned", ...)."""
    if not isinstance(action, dict):
        return "Service message"
    kind = str(action.get("_") or "")
    title = action.get("title") if isinstance(action.get("title"), str) else None
    if kind == "MessageActionChannelCreate":
        return f"Channel created: «{title}»" if title else "Channel created"
    if kind == "MessageActionChatCreate":
        return f"Group created: «{title}»" if title else "Group created"
    if kind == "MessageActionChatEditTitle":
        return f"Title changed to «{title}»" if title else "Title changed"
    if kind == "MessageActionPinMessage":
        return "Message pinned"
    if kind == "MessageActionChatAddUser":
        n = len(action.get("users") or [])
        return f"{n} member{'s' if n != 1 else ''} added"
    if kind == "MessageActionChatDeleteUser":
        return "Member removed"
    if kind == "MessageActionChatJoinedByLink":
        return "Joined by invite link"
    if kind == "MessageActionChannelMigrateFrom":
        return f"Upgraded from the group «{title}»" if title else "Upgraded from a basic group"
    if kind == "MessageActionChatMigrateTo":
        return f"Upgraded to supergroup {action.get('channel_id')}"
    if kind == "MessageActionGroupCall":
        duration = action.get("duration")
        return f"Live stream ended ({duration} s)" if duration is not None else "Live stream started"
    if kind == "MessageActionGroupCallScheduled":
        return f"Live stream scheduled for {action.get('schedule_date')}"
    if kind == "MessageActionSetMessagesTTL":
        period = action.get("period")
        return f"Auto-delete timer set to {period} s" if period else "Auto-delete timer disabled"
    if kind == "MessageActionTopicCreate":
        return f"Topic created: «{title}»" if title else "Topic created"
    if kind == "MessageActionTopicEdit":
        return f"Topic renamed to «{title}»" if title else "Topic edited"
    if kind == "MessageActionCustomAction":
        return str(action.get("message") or "Service message")
    if kind in _ACTION_TEXT:
        return _ACTION_TEXT[kind]
    # Any other action: its name in words, with its title if it has one.
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", kind.removeprefix("MessageAction")).strip().lower()
    text = words.capitalize() if words else "Service message"
    return f"{text}: «{title}»" if title else text


# ---------------------------------------------------------------------------------------------------- rejects


def _reject(
    record: RawRecord, reason: str, *, channel_id: int | None = None, post_id: int | None = None
) -> Rejected:
    return Rejected(
        source=record.source, reason=reason, payload=record.payload, origin=record.origin,
        raw_text=record.raw_text, platform=PLATFORM, channel_id=channel_id, post_id=post_id,
    )  # fmt: skip
