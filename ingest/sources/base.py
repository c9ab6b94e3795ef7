"""What every source hands the pipeline: batches of raw records and the cursor they reach.

A source knows one platform and nothing else; it never touches the database. Live sources are told the cursor
the warehouse holds and yield `Batch`es; the pipeline normalises and loads each batch and commits the batch's
cursor in the same transaction as its rows, so the cursor never passes data that is not stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ingest.models import ChannelSpec, Cursor, FetchWindow, RawRecord


@dataclass(frozen=True, slots=True)
class Listed:
    """A claim that the batch lists every existing post of the channel with id in [low, high].

    The pipeline marks posts in that range that did not come back as deleted. Sources emit it only for rescans
    that really enumerate a contiguous id range (Telethon), never for partial pages.
    """

    low: int
    high: int


@dataclass(frozen=True, slots=True)
class Batch:
    records: list[RawRecord]
    cursor: Cursor | None = None  # the cursor reached once these records are committed
    listed: Listed | None = None
    api_reads: int = 0  # posts read from a billed API for this batch
    # A rescan batch re-reads posts already fetched (edits, deletions, counts). In a windowed run it only
    # refreshes posts the warehouse already holds, so a run writes new posts for its own window only.
    rescan: bool = False
    # Facts for the run record (e.g. {"backfill_incomplete": "X timelines stop at 3,200 posts"}).
    notes: dict[str, Any] = field(default_factory=dict)


#: What a live source's `fetch` yields.
Batches = Iterator[Batch]


class Deferred(Exception):
    """The platform rate-limited us beyond what is worth sleeping: stop this channel, keep the cursor."""

    def __init__(self, until: datetime, reason: str):
        super().__init__(f"deferred until {until.isoformat()}: {reason}")
        self.until = until
        self.reason = reason


class SourceError(Exception):
    """A source cannot serve a channel at all (no public preview, unknown handle, bad credentials)."""


class LiveSource(Protocol):
    """A live source (telethon, x_api, telegram_web)."""

    name: str
    platform: str

    def resolve(self, spec: ChannelSpec) -> tuple[int, str | None, str | None]:
        """Return (numeric channel id, current handle, title) for a configured channel."""

    def fetch(
        self, spec: ChannelSpec, channel_id: int, cursor: Cursor | None, window: FetchWindow
    ) -> Batches:
        """Yield batches of posts newer than `cursor` (or in the window's [since, until)), oldest first, then a
        rescan of the posts published since the window's `rescan_since` (edits, deletions, counts)."""
