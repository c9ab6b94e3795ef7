"""Units of t.me/s widgets (live walks and saved pages): one widget, one post (an album is one widget). See
`ingest.sources.fingerprint`. The hash covers the parsed widget and the page facts its normaliser reads (handle,
title, channel id), not the page's URL: the same widget met on the next page of a walk is the same input."""

from __future__ import annotations

from collections.abc import Sequence

from ingest.models import RawRecord
from ingest.normalize.telegram_web import channel_id_from_view, parse_data_post
from ingest.sources.fingerprint import Fingerprinter, Unit, int_id, raw_hash

PLATFORM = "telegram"
#: Part of every hash: raise it when `ingest.normalize.telegram_web` makes something else of the same widget.
SALT = "tme-widget-1"


def units(records: Sequence[RawRecord], key: int) -> list[Unit]:
    out: list[Unit] = []
    for i, rec in enumerate(records):
        payload = rec.payload
        if (
            rec.raw_text is not None
            or not isinstance(payload, dict)
            or payload.get("page_kind") not in (None, "widget")
        ):
            continue
        try:
            _handle, post_id = parse_data_post(payload.get("post"))
            channel_id = channel_id_from_view(payload["view"]) if payload.get("view") else None
        except ValueError:
            continue
        ctx = rec.context
        if channel_id is None:
            channel_id = int_id(ctx.get("channel_id"))
        if channel_id is None:
            continue
        facts = (ctx.get("handle"), ctx.get("title"), ctx.get("channel_id"))
        h = raw_hash(SALT, rec.source, facts, payload, key=key)
        if h is not None:
            out.append(Unit(PLATFORM, channel_id, post_id, h, (i,), (post_id,), rec.fetched_at))
    return out


FINGERPRINT = Fingerprinter(units)
