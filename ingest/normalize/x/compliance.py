"""X compliance records (batch job results, the v2 compliance stream, v1.1 events): deletions, or rejects
that say why nothing is stored."""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.models import Deletion, Post, RawRecord, Rejected, positive_id
from ingest.normalize.x.fields import (
    COMPLIANCE_EVENTS,
    DELETE_EVENTS,
    PAGE_KEYS,
    PLATFORM,
    id_or_none,
    int_or_none,
    parse_time,
    reject,
    snowflake_time,
)


def compliance_event(p: dict) -> tuple[str, dict] | None:
    """(event name, event body) when the line is a compliance record rather than a page.

    Three shapes: batch compliance job results `{"id", "action", "created_at", "redacted_at", "reason"}`,
    the v2 compliance stream `{"data": {"delete": {"tweet": {...}, "event_at"}}}`, and v1.1 `{"delete": ...}`.
    """
    if "action" in p and "id" in p and not p.keys() & PAGE_KEYS:
        return str(p["action"]), p
    data = p.get("data")
    if isinstance(data, dict) and len(data) == 1:
        ((name, body),) = data.items()
        if name in COMPLIANCE_EVENTS and isinstance(body, dict):
            return name, body
    if len(p) == 1:
        ((name, body),) = p.items()
        if name in COMPLIANCE_EVENTS and isinstance(body, dict):
            return name, body
    return None


def compliance_records(
    record: RawRecord, payload: dict, event: str, body: dict
) -> list[Post | Rejected | Deletion]:
    if "action" in body and "id" in body:  # batch compliance result
        return [_batch_result(record, body)]
    if event not in DELETE_EVENTS:
        return [
            reject(
                record,
                f"compliance event {event!r} is not a deletion: nothing to store (kept here "
                "for the record; edits and withholdings arrive with the next fetch)",
                payload,
            )
        ]
    tweet = body.get("tweet") or body.get("status") or {}
    if not isinstance(tweet, dict):
        return [reject(record, f"compliance {event}: tweet is a {type(tweet).__name__}", payload)]
    try:
        post_id = positive_id(tweet.get("id_str") or tweet.get("id"), f"{event}.tweet.id")
    except ValueError as exc:
        return [reject(record, f"compliance {event}: {exc}", payload)]
    channel_id = id_or_none(tweet.get("author_id") or tweet.get("user_id_str") or tweet.get("user_id"))
    when: datetime | None = None
    if body.get("event_at") is not None:
        try:
            when = parse_time(body["event_at"], "event_at")
        except ValueError as exc:
            return [reject(record, f"compliance {event} of {post_id}: {exc}", payload, post_id=post_id)]
    elif int_or_none(body.get("timestamp_ms")) is not None:
        ms = int_or_none(body["timestamp_ms"]) or 0
        when = datetime.fromtimestamp(ms / 1000, tz=UTC)
    when = when or record.fetched_at or snowflake_time(post_id)
    if when is None:
        return [reject(record, f"compliance {event} of {post_id}: no event time and the id carries none",
                        payload, post_id=post_id)]  # fmt: skip
    return [Deletion(PLATFORM, channel_id, post_id, when, source=record.source)]


def _batch_result(record: RawRecord, body: dict) -> Rejected | Deletion:
    """A batch compliance job result line. `created_at` is the post's creation time, `redacted_at` when the
    action happened; without `redacted_at` the deletion time is unknown and the creation time stands in as its
    lower bound (a fetched_at, when the source gives one, is a better bound: the post was gone by then)."""
    action, reason = body.get("action"), body.get("reason")
    try:
        post_id = positive_id(body.get("id"), "id")
    except ValueError as exc:
        return reject(record, f"compliance result: {exc}", body)
    if action != "delete" or reason == "scrub_geo":
        return reject(record, f"compliance result {action!r} ({reason!r}) for {post_id} does not remove the "
                               "post: nothing to store", body, post_id=post_id)  # fmt: skip
    try:
        if body.get("redacted_at") is not None:
            when = parse_time(body["redacted_at"], "redacted_at")
        elif record.fetched_at is not None:
            when = record.fetched_at
        elif body.get("created_at") is not None:
            when = parse_time(body["created_at"], "created_at")
        else:
            when = snowflake_time(post_id)
    except ValueError as exc:
        return reject(record, f"compliance result for {post_id}: {exc}", body, post_id=post_id)
    if when is None:
        return reject(record, f"compliance result for {post_id}: no time given and the id carries none", body,
                       post_id=post_id)  # fmt: skip
    return Deletion(PLATFORM, None, post_id, when, source=record.source)
