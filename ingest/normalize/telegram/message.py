"""One Telethon message (`Message.to_dict()` / `MessageService.to_dict()`) to a Post, a Deletion (MessageEmpty)
or a Rejected with the reason: the package's entry point (see `ingest.normalize.telegram`)."""

from __future__ import annotations

from typing import Any

from ingest.models import Channel, Deletion, Post, RawRecord, Rejected
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
        media = tuple(media_items(msg.get("media")))
        links, hashtags, mentions = entity_lists(text, msg.get("entities"))
        metrics = message_metrics(msg)
    grouped_id = msg.get("grouped_id")
    if grouped_id is not None:
        grouped_id = integer(grouped_id, "grouped_id")
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
        reply_to=reply_ref(msg.get("reply_to"), channel_id),
        forwarded_from=forward_ref(msg.get("fwd_from"), naive_ok=naive_ok),
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
