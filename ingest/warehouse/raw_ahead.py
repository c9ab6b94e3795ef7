"""A channel's stored posts read ahead for a live rescan's raw-hash probes (`Loader.probe_ahead`,
`Loader.stored_raw(..., ahead=True)`): one read answers the probes of many batches instead of one query a batch."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain

import psycopg

from ingest.warehouse.post_sql import AHEAD_DOWN, AHEAD_UP


class StoredAhead:
    """One channel's stored posts as a raw-hash probe needs them (raw hash, not deleted, counts' observation in
    µs), read in windows of `WINDOW` by the primary key around the first key a probe misses: a rescan of 48 h
    asks for a few hundred to a few thousand posts in id order, so one read answers ~10-20 batches.

    Only what is read here is answered here; a key not read (new, or out of the windows) goes to the server as
    before, and so does a key this loader wrote or deleted since (`forget`). Another writer that changes one of
    these posts meanwhile (a file import of the same channel) can make a rescan skip a record the probe would
    not have: the post then keeps that writer's state until the next rescan, whose probe sees the difference."""

    WINDOW = 2_000

    def __init__(self, platform: str, channel_id: int):
        self.platform = platform
        self.channel_id = channel_id
        self.rows: dict[int, tuple[int | None, bool, int | None]] = {}
        self.windows: list[tuple[int, int]] = []  # [low, high] of post ids read (every stored one is in rows)
        self.forgotten: set[int] = set()

    def wants(self, post_id: int) -> bool:
        """Whether a window read would tell more about this key than the server's probe of it alone."""
        return post_id not in self.forgotten and not any(lo <= post_id <= hi for lo, hi in self.windows)

    def extend(self, conn: psycopg.Connection, post_id: int) -> None:
        """Read a window from `post_id`: the first read both ways (WINDOW/2 stored posts at or below it and as
        many above), later ones the way the rescan runs (Telethon's newest first, a replayed file oldest first)."""
        down = any(post_id < lo for lo, _ in self.windows)
        up = any(post_id > hi for _, hi in self.windows)
        if not self.windows or (down and up):
            down = up = True
        n = self.WINDOW // 2 if down and up else self.WINDOW
        cur = conn.cursor(binary=True)
        below = above = []
        if down:
            below = cur.execute(
                AHEAD_DOWN, (self.platform, self.channel_id, post_id, n), binary=True
            ).fetchall()
        if up:
            above = cur.execute(
                AHEAD_UP, (self.platform, self.channel_id, post_id, n), binary=True
            ).fetchall()
        # A side not read, or read short, holds nothing new that way (or every stored post that way).
        low = below[-1][0] if len(below) == n else (post_id if not down else -(2**63))
        high = above[-1][0] if len(above) == n else (post_id if not up else 2**63)
        self.windows.append((low, high))
        forgotten = self.forgotten
        for pid, raw_hash, alive, observed_us in chain(below, above):
            if pid not in forgotten:
                self.rows[pid] = (raw_hash, alive, observed_us)

    def forget(self, keys: Iterable[tuple[str, int | None, int]]) -> None:
        for platform, channel_id, post_id in keys:
            if platform == self.platform and channel_id == self.channel_id:
                self.forgotten.add(post_id)
                self.rows.pop(post_id, None)
