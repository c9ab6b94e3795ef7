"""A channel's history by message id: pages in ascending id order, cut into batches that each claim the id range
they list completely (`Listed`), an album never split across two."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

from ingest.models import Cursor, RawRecord
from ingest.sources.base import Batch, Listed
from ingest.sources.telegram.jsonl import json_safe
from ingest.sources.telegram.peers import Entity

SOURCE_LIVE = "telethon"


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


class History:
    """Reads one channel's history through `request` (a source's request, with its FloodWait and retry
    handling); `note_chats` sees the chats each response carries."""

    def __init__(
        self,
        request: Callable[[Any], Any],
        note_chats: Callable[[list[Any]], None],
        *,
        page_size: int,
        page_delay: float,
        sleep: Callable[[float], None],
        now: Callable[[], datetime],
    ):
        self._send = request
        self._note_chats = note_chats
        self.page_size = page_size
        self.page_delay = page_delay
        self._sleep = sleep
        self._now = now

    def scan(
        self,
        ent: Entity,
        *,
        start_id: int | None = None,
        start_date: datetime | None = None,
        stop_id: int | None = None,
        stop_date: datetime | None = None,
        rescan: bool = False,
        cursor_mode: str = "never",
        cursor_floor: int | None = None,
    ) -> Iterator[Batch]:
        """Enumerate every message from `start_id` (or the first at/after `start_date`) up to `stop_id`
        (or before `stop_date`) in batches that each claim the id range they list completely."""
        low: int | None = None
        held: list[Any] = []
        emit_cursor = cursor_mode == "always"
        for index, (page, before_id) in enumerate(self._pages(ent, start_id=start_id, start_date=start_date)):
            if index == 0:
                if before_id is not None:
                    low = before_id + 1
                elif start_id is not None:
                    low = start_id
                elif page:
                    low = page[0].id  # nothing older came back: claim no more than what was seen
                if cursor_mode == "contiguous":
                    emit_cursor = before_id is None or (
                        cursor_floor is not None and before_id <= cursor_floor
                    )
            keep: list[Any] = []
            stop_high: int | None = None
            for m in page:
                if stop_id is not None and m.id > stop_id:
                    stop_high = stop_id
                    break
                if stop_date is not None and _aware(m.date) >= stop_date:
                    stop_high = m.id - 1
                    break
                keep.append(m)
            msgs = held + keep
            held = []
            if stop_high is None:
                held = _trailing_album(msgs)  # its other members may be on the next page
                msgs = msgs[: len(msgs) - len(held)]
            if msgs or (stop_high is not None and low is not None and low <= stop_high):
                high = stop_high if stop_high is not None else msgs[-1].id
                yield self._batch(ent, msgs, low, high, rescan=rescan, cursor=emit_cursor)
                low = high + 1
            if stop_high is not None:
                return
        # History exhausted: every message up to stop_id (if given) has been listed.
        high = stop_id if stop_id is not None else (held[-1].id if held else None)
        if held or (high is not None and low is not None and low <= high):
            yield self._batch(ent, held, low, high, rescan=rescan, cursor=emit_cursor)

    def _pages(
        self, ent: Entity, *, start_id: int | None, start_date: datetime | None
    ) -> Iterator[tuple[list[Any], int | None]]:
        """Pages of messages in ascending id order. The first page of a date start also reports the id of
        the newest message before that date (asked for with one slot of the page), which bounds the listing.
        Stops on an empty page only: some channels return short pages mid-history."""
        from telethon.tl import types
        from telethon.tl.functions.messages import GetHistoryRequest

        limit = self.page_size
        peer = types.InputPeerChannel(ent.channel_id, ent.access_hash)
        if start_date is not None:
            # offset_date returns messages older than it; add_offset -(limit-1) shifts the slice to the
            # limit-1 messages at/after it plus the newest one before it.
            args: dict[str, Any] = {"offset_id": 0, "offset_date": start_date, "add_offset": -(limit - 1)}
        else:
            args = {"offset_id": max(1, start_id or 1), "offset_date": None, "add_offset": -limit}
        last_id = 0
        first = True
        while True:
            request = GetHistoryRequest(peer=peer, limit=limit, max_id=0, min_id=0, hash=0, **args)
            response = self._send(request)
            self._note_chats(getattr(response, "chats", None) or [])
            msgs = sorted(
                (m for m in response.messages if isinstance(m, (types.Message, types.MessageService))),
                key=lambda m: m.id,
            )
            before_id = None
            if first and start_date is not None:
                older = [m for m in msgs if _aware(m.date) < start_date]
                before_id = older[-1].id if older else None
                msgs = [m for m in msgs if _aware(m.date) >= start_date]
            msgs = [m for m in msgs if m.id > last_id]
            if first or msgs:
                yield msgs, before_id
            if not msgs:
                return
            first = False
            last_id = msgs[-1].id
            args = {"offset_id": last_id + 1, "offset_date": None, "add_offset": -limit}
            if self.page_delay > 0:
                self._sleep(self.page_delay)

    def _batch(
        self, ent: Entity, msgs: list[Any], low: int | None, high: int | None, *, rescan: bool, cursor: bool
    ) -> Batch:
        fetched_at = self._now()
        context = {"handle": ent.username, "handle_channel_id": ent.channel_id, "title": ent.title}
        records = [
            RawRecord(
                SOURCE_LIVE,
                json_safe(m.to_dict()),
                origin=f"https://t.me/c/{ent.channel_id}/{m.id}",
                fetched_at=fetched_at,
                context=context,
            )  # fmt: skip
            for m in msgs
        ]
        batch_cursor = None
        if cursor and not rescan and msgs:
            batch_cursor = Cursor(last_post_id=msgs[-1].id, last_posted_at=_aware(msgs[-1].date))
        listed = Listed(low, high) if low is not None and high is not None and low <= high else None
        return Batch(records, cursor=batch_cursor, listed=listed, rescan=rescan)


def _trailing_album(msgs: list[Any]) -> list[Any]:
    """The run of messages at the end sharing the last message's album id (empty if it has none)."""
    if not msgs or getattr(msgs[-1], "grouped_id", None) is None:
        return []
    gid = msgs[-1].grouped_id
    n = 0
    while n < len(msgs) and getattr(msgs[-1 - n], "grouped_id", None) == gid:
        n += 1
    return msgs[-n:]
