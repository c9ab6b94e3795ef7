"""Normalise one t.me/s web-preview widget (as parsed by `ingest.sources.telegram_web`) into a `Post`.

The payload is the dict the page parser builds for one `.tgme_widget_message`: the strings exactly as the page
showed them (`"8.67M"` views, the `time[datetime]` attribute, the base64url `data-view`) plus the widget's outer
HTML as provenance. Turning those strings into numbers, UTC times and ids happens here, so a markup change shows
up as a precise `Rejected` reason instead of a wrong number.

What the web preview cannot tell: edit times (only an "edited" marker, kept as `payload["edited"]`; `edited_at`
stays None), exact counts (views and reactions are rounded to three digits), forward dates, and the numeric id
of a channel a post was forwarded from.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from ingest.models import Channel, Metrics, Post, PostRef, RawRecord, Rejected, positive_id
from ingest.textsafe import telegram_post_url
from ingest.times import NaiveTime, OutOfRange, iso_to_utc

SOURCE = "telegram_web"
PLATFORM = "telegram"

_SUFFIX = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}
_COUNT_RE = re.compile(r"^(\d+(?:[.,]\d+)?)\s*([KMB]?)$", re.IGNORECASE)
_DATA_POST_RE = re.compile(r"^([A-Za-z0-9_]{1,64})/(\d{1,19})$")
_TME_LINK_RE = re.compile(
    r"^https?://(?:www\.)?(?:t|telegram)\.me/(?:s/)?([A-Za-z0-9_]{1,64})(?:/(\d{1,19}))?/?(?:[?#].*)?$"
)


def parse_count(text: str) -> int:
    """A t.me count as shown ("954", "1.2K", "8.67M", "1,234") -> int. Raises ValueError naming the value.

    Decimal, not float: "8.67M" must be 8670000, not 8669999.
    """
    s = text.replace("\xa0", "").replace(" ", "").strip()
    m = _COUNT_RE.match(s)
    if not m:
        raise ValueError(f"not a count like 954, 1.2K or 8.67M: {text[:40]!r}")
    number, suffix = m.groups()
    if suffix == "" and "," in number:
        number = number.replace(",", "")  # "1,234" is a thousands separator
    else:
        number = number.replace(",", ".")  # "1,2K" is a decimal comma
    try:
        value = Decimal(number) * _SUFFIX[suffix.upper()]
    except InvalidOperation as exc:
        raise ValueError(f"not a count: {text[:40]!r}") from exc
    return int(value)


def decode_view(data_view: str) -> dict[str, Any]:
    """The widget's `data-view` attribute: base64url JSON such as {"c":-1006503122,"p":519,"t":...,"h":...}."""
    padded = data_view + "=" * (-len(data_view) % 4)
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"data-view is not base64url JSON: {data_view[:40]!r}") from exc
    if not isinstance(decoded, dict):
        raise ValueError(f"data-view decodes to {type(decoded).__name__}, expected an object")
    return decoded


def channel_id_from_view(data_view: str) -> int:
    """The numeric channel id a `data-view` carries: `c` is the channel id negated (-1006503122 -> 1006503122)."""
    c = decode_view(data_view).get("c")
    if isinstance(c, str) and c.lstrip("-").isdigit():
        c = int(c)
    if not isinstance(c, int) or isinstance(c, bool):
        raise ValueError(f"data-view has no numeric channel id 'c': {c!r}")
    if c >= 0:
        raise ValueError(f"data-view channel id 'c' is {c}, expected a negative channel peer id")
    return positive_id(-c, "data-view channel id")


def parse_data_post(value: Any) -> tuple[str, int]:
    """`data-post="durov/519"` -> ("durov", 519)."""
    if not isinstance(value, str) or not value:
        raise ValueError("data-post missing")
    m = _DATA_POST_RE.match(value.strip())
    if not m:
        raise ValueError(f"data-post is not <handle>/<id>: {value[:60]!r}")
    return m.group(1), positive_id(m.group(2), "data-post id")


def parse_posted_at(value: Any) -> datetime:
    """`time[datetime]` ("2026-05-20T15:38:10+00:00") -> aware UTC datetime."""
    if not isinstance(value, str) or not value:
        raise ValueError("time[datetime] missing")
    try:
        return iso_to_utc(value, naive_is_utc=False)
    except NaiveTime:
        raise ValueError(f"time[datetime] has no time zone: {value[:40]!r}") from None
    except OutOfRange:
        raise ValueError(f"time[datetime] is out of range in UTC: {value[:40]!r}") from None
    except ValueError as exc:
        raise ValueError(f"time[datetime] is not ISO 8601: {value[:40]!r}") from exc


def parse_tme_link(url: Any) -> tuple[str, int | None] | None:
    """A t.me link -> (handle, post id or None); None when the link is not a t.me channel/user link."""
    if not isinstance(url, str):
        return None
    m = _TME_LINK_RE.match(url.strip())
    if not m or m.group(1).lower() in ("s", "c", "joinchat", "addstickers", "share", "iv", "proxy"):
        return None
    return m.group(1), (int(m.group(2)) if m.group(2) else None)


def widget_post_id(payload: Any) -> int | None:
    """The post id of a widget payload, or None when it has none (the normaliser then says why)."""
    try:
        return parse_data_post(payload.get("post"))[1]
    except (ValueError, AttributeError):
        return None


def widget_posted_at(payload: Any) -> datetime | None:
    try:
        return parse_posted_at(payload.get("datetime"))
    except (ValueError, AttributeError):
        return None


def reaction_key(reaction: dict[str, Any]) -> str | None:
    """How a reaction is keyed in `Metrics.reactions`, as the Telethon normaliser keys it: the emoji itself, the
    custom emoji's document id (t.me shows no character for those, only `emoji-id`), `paid` for Stars."""
    if reaction.get("paid"):
        return "paid"
    if reaction.get("emoji"):
        return str(reaction["emoji"])
    if reaction.get("custom_emoji_id"):
        return str(reaction["custom_emoji_id"])
    return None


class _Refused(Exception):
    """Why a widget cannot become a post, with the ids known by then (for the reject record)."""

    def __init__(self, reason: str, post_id: int | None = None, channel_id: int | None = None):
        super().__init__(reason)
        self.reason, self.post_id, self.channel_id = reason, post_id, channel_id


def normalize_widget(record: RawRecord) -> list[Post | Rejected]:
    """One parsed widget -> one Post (an album widget is one post with all its media), or a Rejected."""
    try:
        return [_widget_post(record)]
    except _Refused as refused:
        return [
            Rejected(
                source=record.source or SOURCE,
                reason=refused.reason,
                payload=record.payload,
                origin=record.origin,
                raw_text=record.raw_text,
                platform=PLATFORM,
                channel_id=refused.channel_id,
                post_id=refused.post_id,
            )  # fmt: skip
        ]


def _widget_post(record: RawRecord) -> Post:
    payload = record.payload
    if not isinstance(payload, dict):
        raise _Refused(f"payload is {type(payload).__name__}, expected the parsed widget dict")
    if payload.get("page_kind") not in (None, "widget"):
        # A saved page that is not a t.me/s post list (a landing page, some other HTML): say what it is.
        raise _Refused(str(payload.get("problem") or f"not a t.me/s post list ({payload.get('page_kind')})"))
    try:
        handle, post_id = parse_data_post(payload.get("post"))
    except ValueError as exc:
        raise _Refused(str(exc)) from None
    channel_id = _widget_channel_id(record, handle, post_id)
    try:
        posted_at = parse_posted_at(payload.get("datetime"))
    except ValueError as exc:
        raise _Refused(str(exc), post_id, channel_id) from None
    metrics = _widget_metrics(payload, post_id, channel_id)
    channel = Channel(
        PLATFORM, channel_id, handle or record.context.get("handle"), record.context.get("title")
    )
    return Post(
        platform=PLATFORM,
        channel_id=channel_id,
        post_id=post_id,
        posted_at=posted_at,
        text=str(payload.get("text") or ""),
        channel=channel,
        # t.me shows only the word "edited", never when: the edit time is unknown, so it stays None and
        # the marker lives in the payload (payload["edited"]). Edits are still caught by content hash.
        edited_at=None,
        source_post_id=post_id,
        url=telegram_post_url(handle, channel_id, post_id),
        reply_to=_reply_ref(payload.get("reply_to"), handle, channel_id),
        forwarded_from=_forward_ref(payload.get("forwarded_from")),
        kind="service" if payload.get("service") else "post",
        media=tuple(dict(m) for m in payload.get("media") or () if isinstance(m, dict)),
        links=tuple(dict.fromkeys(payload.get("links") or ())),
        hashtags=tuple(dict.fromkeys(payload.get("hashtags") or ())),
        mentions=tuple(dict.fromkeys(payload.get("mentions") or ())),
        metrics=None if metrics.is_empty() else metrics,
        observed_at=record.fetched_at,
        source=SOURCE,
        raw=payload,
        origin=record.origin,
    )


def _widget_channel_id(record: RawRecord, handle: str, post_id: int) -> int:
    """The channel's numeric id: from the widget's data-view, else from the record's context."""
    channel_id: int | None = None
    view_problem = None
    if record.payload.get("view"):
        try:
            channel_id = channel_id_from_view(record.payload["view"])
        except ValueError as exc:
            view_problem = str(exc)
    if channel_id is None:
        ctx_id = record.context.get("channel_id")
        if ctx_id is not None:
            try:
                channel_id = positive_id(ctx_id, "context channel_id")
            except ValueError as exc:
                raise _Refused(str(exc), post_id) from None
    if channel_id is None:
        why = view_problem or "widget has no data-view attribute"
        raise _Refused(
            f"channel id unknown for {handle}/{post_id}: {why}, and no channel id was given", post_id
        )
    return channel_id


def _widget_metrics(payload: dict[str, Any], post_id: int, channel_id: int) -> Metrics:
    """Views and reactions as the widget shows them ("1.2K" and the like)."""
    try:
        views = parse_count(payload["views"]) if payload.get("views") else None
    except ValueError as exc:
        raise _Refused(f"views: {exc}", post_id, channel_id) from None
    reactions: dict[str, int] = {}
    for r in payload.get("reactions") or ():
        key = reaction_key(r) if isinstance(r, dict) else None
        if key is None:
            raise _Refused(f"reaction without emoji: {str(r)[:80]}", post_id, channel_id)
        try:
            reactions[key] = reactions.get(key, 0) + parse_count(str(r.get("count", "")))
        except ValueError as exc:
            raise _Refused(f"reaction {key}: {exc}", post_id, channel_id) from None
    return Metrics(views=views, reactions=reactions or None)


def _reply_ref(reply: Any, handle: str, channel_id: int) -> PostRef | None:
    """A reply header links the replied-to post; same handle -> same channel, else only the post id is known."""
    if not isinstance(reply, dict):
        return None
    link = parse_tme_link(reply.get("url"))
    name = reply.get("name") or None
    if link is None:
        return PostRef(PLATFORM, None, None, name=name) if name else None
    ref_handle, ref_id = link
    same = ref_handle.lower() == handle.lower()
    return PostRef(
        PLATFORM, channel_id if same else None, ref_id, name=None if same else (name or ref_handle)
    )


def _forward_ref(fwd: Any) -> PostRef | None:
    """A "Forwarded from" header: the origin's display name, and its post id when it links to a channel post.

    The origin's numeric channel id is not on the page (only its handle, kept in the payload), so channel_id
    stays None; the forward date is not shown either.
    """
    if not isinstance(fwd, dict):
        return None
    name = fwd.get("name") or None
    link = parse_tme_link(fwd.get("url"))
    post_id = link[1] if link else None
    handle = link[0].lower() if link else None
    if name is None and link is not None:
        name = link[0]
    if name is None and post_id is None:
        return None
    return PostRef(PLATFORM, None, post_id, name=name, handle=handle)
