"""One Telethon message (`Message.to_dict()` / `MessageService.to_dict()`) to a Post, a Deletion (MessageEmpty)
or a Rejected with the reason: the package's entry point (see `ingest.normalize.telegram`)."""

from __future__ import annotations

from typing import Any

from ingest.models import Channel, Deletion, Post, RawRecord, Rejected, positional
from ingest.normalize.telegram.fields import (
    PLATFORM,
    Bad,
    channel_of,
    entity_lists,
    forward_ref,
    integer,
    message_id,
    reply_ref,
    timestamp,
)
from ingest.normalize.telegram.media import media_items, message_metrics, service_text
from ingest.textsafe import telegram_post_url

SOURCE_LIVE = "telethon"
SOURCE_JSONL = "telethon_jsonl"
_MESSAGE_TYPES = ("Message", "MessageService")


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
        channel_id = channel_of(msg.get("peer_id"), "peer_id", required=True)
    except Bad as exc:
        return [_reject(record, str(exc))]
    try:
        post_id = message_id(msg.get("id"))
    except Bad as exc:
        return [_reject(record, str(exc), channel_id=channel_id)]
    try:
        return [_post(record, msg, channel_id, post_id)]
    except Bad as exc:
        return [_reject(record, str(exc), channel_id=channel_id, post_id=post_id)]


# --------------------------------------------------------------------------------------------- the post


def _post(record: RawRecord, msg: dict[str, Any], channel_id: int, post_id: int) -> Post:
    ctx = record.context or {}
    naive_ok = record.source == SOURCE_JSONL or bool(ctx.get("naive_dates_are_utc"))
    posted_at = timestamp(msg.get("date"), "date", naive_ok=naive_ok)
    if posted_at is None:
        raise Bad("date missing: the message has no time")
    edited_at = timestamp(msg.get("edit_date"), "edit_date", naive_ok=naive_ok)
    handle, title = _channel_names(ctx, channel_id)
    service = msg["_"] == "MessageService"
    if service:
        text = service_text(msg.get("action"))
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
            raise Bad(f"message has type {type(text).__name__}, expected a string")
        media = msg.get("media")
        media = tuple(media_items(media)) if media is not None else ()
        links, hashtags, mentions = entity_lists(text, msg.get("entities"))
        metrics = message_metrics(msg)
    grouped_id = msg.get("grouped_id")
    if grouped_id is not None:
        grouped_id = integer(grouped_id, "grouped_id")
    # Most messages reply to nothing and forward nothing: no call to say so. (In this order: the first fault
    # found names the reject.)
    reply_to = msg.get("reply_to")
    if reply_to is not None:
        reply_to = reply_ref(reply_to, channel_id)
    forwarded_from = msg.get("fwd_from")
    if forwarded_from is not None:
        forwarded_from = forward_ref(forwarded_from, naive_ok=naive_ok)
    # Made by position (`_new_post`): a call with 16 or more keywords compiles to one through a dict, which took
    # 1.5 µs of the 3 µs a Post cost.
    return _new_post(
        PLATFORM, channel_id, post_id, posted_at, text, _channel(channel_id, handle, title), edited_at,
        # version_at: edit_date also moves when reactions change; the loader compares content hashes to find
        # real edits.
        edited_at or posted_at,
        telegram_post_url(handle, channel_id, post_id), reply_to, forwarded_from, grouped_id,
        "service" if service else "post", media, links, hashtags, mentions, metrics, record.fetched_at,
        record.source, msg, record.origin,
    )  # fmt: skip


_new_post = positional(Post, (
    "platform", "channel_id", "post_id", "posted_at", "text", "channel", "edited_at", "version_at", "url",
    "reply_to", "forwarded_from", "grouped_id", "kind", "media", "links", "hashtags", "mentions", "metrics",
    "observed_at", "source", "raw", "origin",
))  # fmt: skip

_CHANNELS: dict[tuple[int, str | None, str | None], Channel] = {}


def _channel(channel_id: int, handle: str | None, title: str | None) -> Channel:
    """The Channel of a post: one (frozen) instance a channel and names, as a file's posts all have the same."""
    key = (channel_id, handle, title)
    channel = _CHANNELS.get(key)
    if channel is None:
        if len(_CHANNELS) >= 4096:
            _CHANNELS.clear()
        channel = _CHANNELS[key] = Channel(PLATFORM, channel_id, handle, title)
    return channel


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
        post_id = message_id(msg.get("id"))
        channel_id = channel_of(msg.get("peer_id"), "peer_id", required=False)
    except Bad as exc:
        return _reject(record, f"MessageEmpty: {exc}")
    if channel_id is None:
        return _reject(record, "MessageEmpty without peer_id: cannot tell which channel lost the message",
                       post_id=post_id)  # fmt: skip
    if record.fetched_at is None:
        return _reject(record, "MessageEmpty (deleted message) without a fetch time: the deletion cannot be dated",
                       channel_id=channel_id, post_id=post_id)  # fmt: skip
    return Deletion(PLATFORM, channel_id, post_id, record.fetched_at, source=record.source)


# ---------------------------------------------------------------------------------------------------- rejects


def _reject(
    record: RawRecord, reason: str, *, channel_id: int | None = None, post_id: int | None = None
) -> Rejected:
    return Rejected(
        source=record.source, reason=reason, payload=record.payload, origin=record.origin,
        raw_text=record.raw_text, platform=PLATFORM, channel_id=channel_id, post_id=post_id,
    )  # fmt: skip
