"""Run operations (incremental passes, windows, re-runs, armed faults) against a fake channel, checking the
invariants after each: the connection is left idle, no run is left 'running', and the committed cursor has not
passed a live message the warehouse does not hold (as a post, an album member, or a reject). `clean_pass` is the
reference schedule (one incremental pass with a full rescan per epoch); `chaotic_pass` runs a drawn schedule (see
test_property.py).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import psycopg

from ingest.run.channel import run_channel
from ingest.warehouse import runs
from tests.reliability.streams import EPOCH, FakeLiveSource, Faults, SimClock, Stream, spec_for

FULL = 24.0 * 365  # rescan hours reaching before any generated post


class Runner:
    """Runs operations against one stream, checking the invariants after each."""

    def __init__(
        self, conn: psycopg.Connection, stream: Stream, batch_size: int, configured_id: bool, empties: bool
    ):
        self.conn = conn
        self.stream = stream
        self.clock = SimClock()
        self.source = FakeLiveSource(stream, self.clock, batch_size=batch_size, empties=empties)
        self.spec = spec_for(stream, configured_id=configured_id)
        self.last_op: tuple | None = None
        self.log: list[str] = []

    def at(self, k: int, minute: float) -> None:
        self.clock.set(self.stream.t(k) + timedelta(minutes=minute))

    def _time(self, frac: float | None, k: int) -> datetime | None:
        if frac is None:
            return None
        lo = self.stream.first_time() - EPOCH
        hi = self.stream.t(k) + EPOCH
        return lo + (hi - lo) * frac

    def run(self, op: tuple, k: int):
        if op[0] == "rerun":
            if self.last_op is None:
                return None
            op = self.last_op
        if op[0] in ("defer", "fail"):
            self.source.faults = Faults(
                every=op[1], offset=self.source.requests, kind="deferred" if op[0] == "defer" else "error",
                wait=timedelta(minutes=4), only_once_per_call=True, on_resolve=False,
            )  # fmt: skip
            self.log.append(f"e{k} arm {op}")
            return None
        self.last_op = op
        if op[0] == "cursor":
            summary = run_channel(self.conn, self.spec, self.source, rescan_hours=op[1], now=self.clock())
        else:
            since, until = self._time(op[1], k), self._time(op[2], k)
            if since is not None and until is not None and until < since:
                since, until = until, since
            summary = run_channel(
                self.conn, self.spec, self.source, since=since, until=until, rescan_hours=op[3], kind=op[4],
                now=self.clock(),
            )  # fmt: skip
        self.source.faults = Faults()
        self.log.append(f"e{k} {self.clock():%H:%M} {op} -> {summary.status} {summary.error or ''}")
        if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
            # run_channel leaves a read transaction open when it skips a deferred channel
            # (test_rate_limits.py::test_skipped_deferred_channel_leaves_connection_idle); nothing was written.
            self.conn.rollback()
        self.check_invariants(k)
        return summary

    def check_invariants(self, k: int) -> None:
        conn = self.conn
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE, self.log
        running = conn.execute("SELECT run_id FROM ingest_runs WHERE status = 'running'").fetchall()
        assert not running, f"runs left running: {running}\n" + "\n".join(self.log)
        cursor, _ = runs.get_cursor(conn, "telegram", self.stream.channel_id, "telethon")
        if cursor is not None and cursor.last_post_id is not None:
            stored = set()
            for pid, media in conn.execute(
                "SELECT post_id, media FROM posts WHERE platform = 'telegram' AND channel_id = %s",
                (self.stream.channel_id,),
            ):
                stored.add(pid)
                stored.update(m["msg_id"] for m in media if isinstance(m.get("msg_id"), int))
            # A refused record is recorded too (in rejected_records, with its payload and reason).
            stored.update(
                r[0]
                for r in conn.execute(
                    "SELECT post_id FROM rejected_records WHERE platform = 'telegram' AND channel_id = %s",
                    (self.stream.channel_id,),
                )
            )
            floor = self.source.cursor_floor or 0
            missing = [
                m.msg_id
                for m in self.stream.live(k)
                if floor <= m.msg_id <= cursor.last_post_id and m.msg_id not in stored
            ]
            assert not missing, (
                f"cursor {cursor.last_post_id} passed unstored messages {missing}\n" + "\n".join(self.log)
            )
        conn.commit()


def clean_pass(conn, stream: Stream, batch_size: int, configured_id: bool, empties: bool) -> Runner:
    r = Runner(conn, stream, batch_size, configured_id, empties)
    for k in range(stream.epochs):
        r.at(k, 1)
        s = r.run(("cursor", FULL), k)
        assert s.status == "succeeded", (s.status, s.error)
    return r


def chaotic_pass(
    conn, stream: Stream, schedule, batch_size: int, configured_id: bool, empties: bool
) -> Runner:
    r = Runner(conn, stream, batch_size, configured_id, empties)
    for k, (ops, closing) in enumerate(schedule):
        for i, op in enumerate(ops):
            r.at(k, 2 + 3 * i)
            r.run(op, k)
        r.source.faults = Faults()
        # Deferrals last 4 minutes: the closing pass at minute 40 is past any of them.
        if closing[0] == "full":
            r.at(k, 40)
            s = r.run(("cursor", FULL), k)
            assert s.status == "succeeded", (s.status, s.error, r.log)
            continue
        lo = stream.first_time() - EPOCH
        hi = stream.t(k) + EPOCH
        cuts = sorted(closing[1])
        edges = [lo, *[lo + (hi - lo) * c for c in cuts], None]
        windows = []
        for a, b in zip(edges, edges[1:], strict=False):
            # Overlap each tile with its neighbours; its own rescan covers it (deletions in it are noticed).
            since = a - timedelta(minutes=7)
            until = None if b is None else b + timedelta(minutes=7)
            span = ((until or stream.t(k) + EPOCH) - since).total_seconds() / 3600
            windows.append(("window_abs", since, until, span))
        random.Random(closing[2]).shuffle(windows)
        for i, (_, since, until, span) in enumerate(windows):
            r.at(k, 40 + i)
            s = run_channel(
                conn, r.spec, r.source, since=since, until=until, rescan_hours=span, kind="backfill", now=r.clock()
            )  # fmt: skip
            r.log.append(f"e{k} tile [{since:%d %H:%M}, {until and f'{until:%d %H:%M}'}) -> {s.status}")
            assert s.status == "succeeded", (s.status, s.error, r.log)
            r.check_invariants(k)
        # The hourly incremental pass, rescanning back to the newest live post only: no listing reaches past the
        # newest live post except a rescan bounded by the cursor, so only it can tell that the posts above it
        # were deleted (a window cannot).
        r.at(k, 55)
        newest = max((m.posted_at for m in stream.live(k)), default=r.clock())
        s = r.run(("cursor", (r.clock() - newest).total_seconds() / 3600 + 0.01), k)
        assert s.status == "succeeded", (s.status, s.error, r.log)
    return r
