"""Load normalised posts: skip unchanged rows before they cross the wire, COPY the rest into a staging table,
then one set-based upsert each for posts, versions, metrics and raw payloads.

All of it runs in the caller's transaction, so a batch's rows and the cursor or run counters that describe them
commit together (see `ingest.run.channel`).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain

import orjson
import psycopg
from psycopg import pq
from psycopg.adapt import Dumper
from psycopg.copy import QueuedLibpqWriter
from psycopg.types.json import set_json_dumps

from ingest.models import Channel, Deletion, Post, Rejected, stable_hash
from ingest.warehouse.channels import record_channel, record_channels_at_once
from ingest.warehouse.keys import read_key
from ingest.warehouse.locks import lock_channels
from ingest.warehouse.metrics_policy import MetricsPolicy
from ingest.warehouse.post_rows import Prepared, post_row, prepare, raw_row, stage_row
from ingest.warehouse.post_sql import (
    CHANGED_KEYS,
    DROP_REPEATED_METRICS,
    INSERT_METRICS,
    INSERT_RAW,
    INSERT_VERSIONS,
    POST_COLS,
    POST_TYPES,
    POSTS_ROWS_COVERED,
    RANGE_RAW,
    RAW_COLS,
    RAW_TYPES,
    REFRESH_RAW_HASH,
    REPLACE_LATER_RAW,
    SEED_METRICS,
    SEED_VERSIONS,
    STAGE_COLS,
    STAGE_DDL,
    UNCHANGED_RAW,
    UPSERT_POSTS,
)
from ingest.warehouse.raw_ahead import StoredAhead

__all__ = ["SOURCE_VERSION", "LoadStats", "Loader"]

log = logging.getLogger(__name__)

SOURCE_VERSION = "wirewatch-0.1"
MAX_REJECT_PAYLOAD = 64 * 1024


@dataclass
class LoadStats:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    versions: int = 0
    metrics: int = 0
    deleted: int = 0

    def add(self, other: LoadStats) -> None:
        for name in ("inserted", "updated", "unchanged", "rejected", "versions", "metrics", "deleted"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {
            n: getattr(self, n)
            for n in ("inserted", "updated", "unchanged", "rejected", "versions", "metrics", "deleted")
        }


class Loader:
    """Writes batches into the warehouse inside the caller's transaction."""

    def __init__(
        self,
        conn: psycopg.Connection,
        *,
        run_id: int | None = None,
        skip_unchanged: bool = True,
        observed_at: datetime | None = None,
        metrics_policy: MetricsPolicy | None = None,
    ):
        # When a record carries no observation time: the time the input was captured (a file's mtime), else now.
        self.observed_at = observed_at
        # psycopg's default JSON dumper is the stdlib's; orjson is several times faster on media and reactions.
        set_json_dumps(orjson.dumps, conn)
        # The key probe's arrays (only this module's _Int8s, so nothing else the connection dumps changes).
        conn.adapters.register_dumper(_Int8s, _Int8sDumper)
        if conn.autocommit:
            # Staging tables empty themselves at each commit: in autocommit every staged row would vanish.
            raise ValueError("Loader needs a connection with autocommit off (it commits with the caller)")
        self.conn = conn
        self.run_id = run_id
        self.skip_unchanged = skip_unchanged
        # Read once: every batch of this loader keeps count observations by the same rule.
        self.metrics_policy = metrics_policy or MetricsPolicy.from_env()
        self._metrics_params = {"run_id": run_id, **self.metrics_policy.sql_params()}
        self._staged = False
        self._inserted_since_analyze = 0
        self._rows_at_analyze = 0
        self._seen_reltuples = False
        self._channels_seen: dict[tuple[str, int], tuple[str | None, str | None]] = {}
        self._ahead: StoredAhead | None = None
        self._raw_key: int | None = None

    def raw_key(self) -> int:
        """The key the raw-record hashes are taken under (`ingest.warehouse.keys`), read once."""
        if self._raw_key is None:
            self._raw_key = read_key(self.conn)
        return self._raw_key

    def probe_ahead(self, platform: str, channel_id: int) -> None:
        """Answer `stored_raw(..., ahead=True)` for this channel from windows of its stored posts read ahead (see
        `raw_ahead.StoredAhead`): a live rescan hands over ~100 posts a batch, newest first, nearly all stored unchanged."""
        self._ahead = StoredAhead(platform, channel_id)

    def _ensure_stage(self) -> None:
        if not self._staged:
            self.conn.execute(STAGE_DDL)
            self._staged = True

    def load(
        self,
        items: Sequence[Post | Rejected | Deletion],
        *,
        only_existing: bool = False,
        rounds: list[list[Prepared]] | None = None,
        new_keys: AbstractSet[tuple[str, int, int]] = frozenset(),
    ) -> LoadStats:
        """Load a batch. `rounds`: its posts already prepared (`post_rows.prepare_ahead`, in order). `new_keys`:
        keys the caller knows are not stored (a probe said so, and nothing wrote them since): their posts go
        straight to the insert, without asking the server which keys it holds. A key stored meanwhile by another
        writer makes that insert fail on the primary key, and the round is then upserted as usual."""
        posts = [i for i in items if isinstance(i, Post)]
        rejects = [i for i in items if isinstance(i, Rejected)]
        deletions = [i for i in items if isinstance(i, Deletion)]
        if self._ahead is not None:
            self._ahead.forget((p.platform, p.channel_id, p.post_id) for p in chain(posts, deletions))
        # Before the savepoint: a lock taken inside one would go when it rolls back.
        lock_channels(
            self.conn,
            [(p.platform, p.channel_id) for p in posts]
            + [(r.platform, r.channel_id) for r in rejects if r.platform and r.channel_id is not None]
            + [(d.platform, d.channel_id) for d in deletions if d.channel_id is not None],
        )
        # A savepoint, not conn.transaction(): on an idle connection that would commit on its own, before the
        # caller's cursor and run counters.
        self.conn.execute("SAVEPOINT wirewatch_load")
        try:
            stats = self.load_posts(posts, only_existing=only_existing, rounds=rounds, new_keys=new_keys)
            self.conn.execute("RELEASE SAVEPOINT wirewatch_load")
        except (TypeError, RecursionError):
            self.conn.execute("ROLLBACK TO SAVEPOINT wirewatch_load")
            # A payload orjson cannot write (nested deeper than 254 levels, a lone surrogate in a field the
            # normaliser ignores) cannot be kept as provenance. Refuse those posts (found only now, so the common
            # path serialises each payload once) and load the rest.
            self._staged = False  # the savepoint also undid the staging tables and the channel rows
            self._channels_seen.clear()
            storable = []
            for p in posts:
                try:
                    orjson.dumps(p.raw, default=str)
                    storable.append(p)
                except (TypeError, RecursionError) as exc:
                    rejects.append(
                        Rejected(
                            source=p.source, platform=p.platform, channel_id=p.channel_id, post_id=p.post_id,
                            origin=p.origin or f"{p.source}:{p.platform}/{p.channel_id}/{p.post_id}",
                            reason=f"payload cannot be stored as JSON provenance: {exc}",
                        )
                    )  # fmt: skip
            stats = self.load_posts(storable, only_existing=only_existing)
        stats.rejected += self.load_rejects(rejects)
        stats.deleted += self.mark_deletions(deletions)
        return stats

    def load_posts(
        self,
        posts: Sequence[Post],
        *,
        only_existing: bool = False,
        rounds: list[list[Prepared]] | None = None,
        new_keys: AbstractSet[tuple[str, int, int]] = frozenset(),
    ) -> LoadStats:
        """Upsert posts; with `only_existing`, posts the warehouse does not hold yet are left out. `new_keys`: as
        in `load` (only the first round's rows can be new)."""
        stats = LoadStats()
        if not posts:
            return stats
        if not only_existing:
            self.upsert_channels(p.channel for p in posts if p.channel is not None)
        for n, prepared in enumerate(rounds if rounds is not None else prepare(posts)):
            # A later round holds later states of keys the first round loaded: none of them is new.
            self._load_round(prepared, only_existing, stats, new_keys if n == 0 else frozenset())
        return stats

    def _load_round(
        self,
        prepared: list[Prepared],
        only_existing: bool,
        stats: LoadStats,
        new_keys: AbstractSet[tuple[str, int, int]] = frozenset(),
    ) -> None:
        # Keys the server says were observed no earlier than their stored counts (see CHANGED_KEYS).
        newer: set[tuple[str, int, int]] = set()
        if new_keys and self.skip_unchanged and not only_existing:
            fresh = [(pr, False) for pr in prepared if pr.post.key in new_keys]
            rest = [pr for pr in prepared if pr.post.key not in new_keys] if fresh else prepared
            candidates = fresh + self._changed(rest, newer) if rest else fresh
        elif self.skip_unchanged or only_existing:
            candidates = self._changed(prepared, newer)
        else:
            candidates = [(pr, True) for pr in prepared]
        if only_existing:
            # A rescan refreshes what is stored: posts (and channels) the warehouse does not hold are left out,
            # so a windowed run records nothing from outside its window.
            candidates = [(pr, True) for pr, exists in candidates if exists]
            self.upsert_channels(pr.post.channel for pr, _ in candidates if pr.post.channel is not None)
        stats.unchanged += len(prepared) - len(candidates)
        if not candidates:
            return
        now = self.observed_at or datetime.now(UTC)
        before = stats.inserted
        # Rows go to the server in key order: two writers loading overlapping posts (two imports of one file
        # in opposite orders) then take the key locks in the same order and wait for each other, not deadlock.
        candidates.sort(key=lambda c: c[0].post.key)
        new = [pr for pr, exists in candidates if not exists]
        stored = [pr for pr, exists in candidates if exists]
        if new and not self._copy_new(new, now, stats):
            stored = sorted(stored + new, key=lambda pr: pr.post.key)  # a concurrent writer got there first
        if stored:
            # Rows known to be observed no earlier than the stored counts cannot reorder what is stored: a batch of
            # only those (an hourly rescan with new counts) skips the out-of-order statements.
            late = any(pr.post.key not in newer for pr in stored)
            self._stage_and_upsert(stored, now, stats, late=late)
        self._maybe_analyze(stats.inserted - before)

    def _maybe_analyze(self, inserted: int) -> None:
        """Refresh planner statistics when this loader has grown `posts` a lot. A bulk import into an empty
        table otherwise leaves the planner assuming it is empty, and the existing-rows lookup of a re-run
        picks a plan 12x slower until autovacuum catches up. "A lot" is as many rows again as the statistics
        already cover: those an earlier loader or autovacuum took count too (a folder's second file, an hourly
        pass into a big warehouse), read from pg_class the first time a refresh is due."""
        self._inserted_since_analyze += inserted
        due = self._inserted_since_analyze >= max(5000, self._rows_at_analyze)
        if due and not self._seen_reltuples:
            self._seen_reltuples = True
            covered = self.conn.execute(POSTS_ROWS_COVERED).fetchone()[0]
            self._rows_at_analyze = max(self._rows_at_analyze, covered)
            due = self._inserted_since_analyze >= max(5000, self._rows_at_analyze)
        if due:
            # Only the key columns: enough for the row count and the join plan, a fraction of a full ANALYZE.
            self.conn.execute("ANALYZE posts (platform, channel_id, post_id)")
            self._rows_at_analyze += self._inserted_since_analyze
            self._inserted_since_analyze = 0

    def _copy_new(self, rows: list[Prepared], now: datetime, stats: LoadStats) -> bool:
        """Fast path for a batch of posts the warehouse has never seen: COPY straight into the tables, no
        staging and no upsert. A concurrent writer that inserted one of the keys meanwhile makes COPY fail on
        the primary key; the savepoint then rolls back and the batch takes the upsert path."""
        with_raw: list[Prepared] = []
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                # Rows are built inside the COPY loop and sent by a writer thread, so the server ingests one
                # chunk while this process formats the next (two cores: client and server work overlap). Binary:
                # a row of X pages formats in 1.6 µs against 4.5 µs as text, and the server parses less.
                with cur.copy(
                    f"COPY posts ({', '.join(POST_COLS)}) FROM STDIN (FORMAT BINARY)",
                    writer=QueuedLibpqWriter(cur),
                ) as copy:
                    copy.set_types(POST_TYPES)
                    for pr in rows:
                        copy.write_row(post_row(pr, now, binary=True))
                        if pr.post.raw is not None:
                            with_raw.append(pr)
                # Binary: each payload goes as the bytes orjson made, not decoded to a str and escaped again
                # for the text format (the payloads are most of the bytes an import writes).
                cur.adapters.register_dumper(bytes, _Utf8Dumper)
                with cur.copy(
                    f"COPY raw_records ({', '.join(RAW_COLS)}) FROM STDIN (FORMAT BINARY)",
                    writer=QueuedLibpqWriter(cur),
                ) as copy:
                    copy.set_types(RAW_TYPES)
                    for pr in with_raw:
                        copy.write_row(raw_row(pr, now, SOURCE_VERSION, self.run_id))
        except psycopg.errors.UniqueViolation:
            log.info("a concurrent writer inserted some of these posts; upserting instead")
            return False
        stats.inserted += len(rows)
        return True

    def _stage_and_upsert(
        self, changed: list[Prepared], now: datetime, stats: LoadStats, *, late: bool = True
    ) -> None:
        self._ensure_stage()
        cur = self.conn.cursor()
        with cur.copy(f"COPY stage_posts ({', '.join(STAGE_COLS)}) FROM STDIN") as copy:
            for pr in changed:
                copy.write_row(stage_row(pr, now))
        # Fresh statistics on the small staging tables let the planner probe posts by key instead of scanning it.
        cur.execute("ANALYZE stage_posts")
        # History first (it reads the rows as they were), then the rows themselves.
        stats.versions += cur.execute(SEED_VERSIONS).rowcount
        stats.versions += cur.execute(INSERT_VERSIONS).rowcount
        stats.metrics += cur.execute(SEED_METRICS).rowcount
        stats.metrics += cur.execute(INSERT_METRICS, self._metrics_params).rowcount
        raw_params = {"source_version": SOURCE_VERSION, "run_id": self.run_id}
        if late:  # observations older than stored ones: keep each state's first observation
            stats.metrics -= cur.execute(DROP_REPEATED_METRICS).rowcount
            cur.execute(REPLACE_LATER_RAW, raw_params)
        cur.execute(INSERT_RAW, raw_params)
        cur.execute(UPSERT_POSTS)
        flags = [r[0] for r in cur.fetchall()]
        ins = sum(1 for f in flags if f)
        stats.inserted += ins
        stats.updated += len(flags) - ins
        stats.unchanged += len(changed) - len(flags)
        cur.execute("TRUNCATE stage_posts")

    def _changed(
        self, prepared: list[Prepared], newer: set[tuple[str, int, int]]
    ) -> list[tuple[Prepared, bool]]:
        """The rows worth sending, each with whether the post is already stored. A record observed before the
        stored counts is sent even when equal: it may belong in the metrics history before the stored one. Adds
        to `newer` the keys of rows sent that were observed no earlier than their stored counts."""
        by_platform: dict[str, list[Prepared]] = {}
        for pr in prepared:
            by_platform.setdefault(pr.post.platform, []).append(pr)
        out: list[tuple[Prepared, bool]] = []
        # Binary arrays: dumping thousands of keys as text costs more than the lookup itself.
        cur = self.conn.cursor(binary=True)
        for platform, rows in by_platform.items():
            params = (
                [pr.post.channel_id for pr in rows], [pr.post.post_id for pr in rows], [pr.row_hash for pr in rows],
                [pr.post.observed_at if pr.post.metrics is not None else None for pr in rows],
                [pr.post.raw_hash for pr in rows], platform,
            )  # fmt: skip
            cur.execute(CHANGED_KEYS, params, binary=True)
            settled: list[Prepared] = []
            for i, exists, load, is_newer in cur.fetchall():
                if load:
                    out.append((rows[i - 1], exists))
                    if is_newer:
                        newer.add(rows[i - 1].post.key)
                else:
                    settled.append(rows[i - 1])
            if settled:
                cur.execute(
                    REFRESH_RAW_HASH,
                    (
                        [pr.post.channel_id for pr in settled],
                        [pr.post.post_id for pr in settled],
                        [pr.row_hash for pr in settled],
                        [pr.post.raw_hash for pr in settled],
                        platform,
                    ),  # fmt: skip
                )
        return out

    def stored_raw(
        self,
        platform: str,
        keys: Sequence[tuple[int, int, int, datetime | None]],
        *,
        ahead: bool = False,
    ) -> tuple[list[int], list[int]]:
        """For these (channel_id, post_id, raw_hash, observed): the positions in `keys` that need not be normalised
        (posts stored, not deleted, whose current state was loaded from a record with this raw hash, with counts
        observed no later than `observed`; None: now, or the loader's observation time), and the positions of the
        keys stored at all (the others are new as of this snapshot). `ahead`: answer from the channel's stored
        posts read ahead where `probe_ahead` asked for it (a rescan batch)."""
        if not keys:
            return [], []
        default = self.observed_at or datetime.now(UTC)
        micros: dict[datetime, int] = {}  # a batch shares one or two fetch times: convert each once
        observed = []
        for k in keys:
            at = k[3] or default
            us = micros.get(at)
            if us is None:
                us = micros[at] = (at - _EPOCH) // _MICROSECOND
            observed.append(us)
        cache = (
            self._ahead if ahead and self._ahead is not None and self._ahead.platform == platform else None
        )
        if cache is None:
            return self._stored_raw(platform, keys, observed)
        hits: list[int] = []
        stored: list[int] = []
        rest: list[int] = []
        rows = cache.rows
        for i, k in enumerate(keys):
            row = rows.get(k[1]) if k[0] == cache.channel_id else None
            if row is None and k[0] == cache.channel_id and cache.wants(k[1]):
                cache.extend(self.conn, k[1])
                row = rows.get(k[1])
            if row is None:
                rest.append(i)
                continue
            stored.append(i)
            if _unchanged(row, k[2], observed[i]):
                hits.append(i)
        if rest:
            more_hits, more_stored = self._stored_raw(
                platform, [keys[i] for i in rest], [observed[i] for i in rest]
            )
            hits += [rest[j] for j in more_hits]
            stored += [rest[j] for j in more_stored]
            hits.sort()
            stored.sort()
        return hits, stored

    def _stored_raw(
        self, platform: str, keys: Sequence[tuple[int, int, int, datetime | None]], observed: list[int]
    ) -> tuple[list[int], list[int]]:
        """`stored_raw` asked of the server: each channel's stored posts read as one range of post ids (RANGE_RAW,
        at most twice its keys plus a few), then, for a channel whose read stopped short of its highest key (ids
        sparse in the range: X accounts' tweets across a long stretch), its keys past that point one by one
        (UNCHANGED_RAW)."""
        positions: dict[int, list[int]] = {}  # channel -> positions of its keys
        for i, k in enumerate(keys):
            positions.setdefault(k[0], []).append(i)
        channels = list(positions)
        ids = [[keys[i][1] for i in positions[ch]] for ch in channels]
        limits = [2 * len(these) + RANGE_SLACK for these in ids]
        cur = self.conn.cursor(binary=True)
        cur.execute(
            RANGE_RAW,
            (_Int8s(channels), _Int8s(map(min, ids)), _Int8s(map(max, ids)), _Int8s(limits), platform),
            binary=True,
        )
        rows: dict[int, dict[int, tuple[int | None, bool, int | None]]] = {}  # a channel with none: no row
        for channel_id, post_ids, raw_hashes, alive, observed_us in cur.fetchall():
            rows[channel_id] = dict(
                zip(post_ids, zip(raw_hashes, alive, observed_us, strict=True), strict=True)
            )
        hits: list[int] = []
        stored: list[int] = []
        rest: list[int] = []
        for ch, limit in zip(channels, limits, strict=True):
            of_channel = rows.get(ch, {})
            # A read that hit its limit answered the keys up to the last id it read, and no further.
            stop = max(of_channel) if len(of_channel) == limit else None
            for i in positions[ch]:
                k = keys[i]
                if stop is not None and k[1] > stop:
                    rest.append(i)
                    continue
                row = of_channel.get(k[1])
                if row is None:
                    continue
                stored.append(i)
                if _unchanged(row, k[2], observed[i]):
                    hits.append(i)
        if rest:
            cur.execute(
                UNCHANGED_RAW,
                (
                    _Int8s(keys[i][0] for i in rest),
                    _Int8s(keys[i][1] for i in rest),
                    _Int8s(keys[i][2] for i in rest),
                    _Int8s(observed[i] for i in rest),
                    platform,
                ),  # fmt: skip
                binary=True,
            )
            for j, same in cur.fetchall():
                stored.append(rest[j - 1])
                if same:
                    hits.append(rest[j - 1])
        hits.sort()
        stored.sort()
        return hits, stored

    def upsert_channels(self, channels: Iterable[Channel]) -> None:
        """Record channels and their handle history; a handle change closes the old alias and opens a new one."""
        fresh: dict[tuple[str, int], Channel] = {}
        for c in channels:
            known = self._channels_seen.get((c.platform, c.channel_id))
            if known is not None and known == (c.handle, c.title):
                continue
            fresh[(c.platform, c.channel_id)] = c
        rows: dict[str, list[tuple[int, str | None, str | None]]] = {}
        for (platform, channel_id), c in fresh.items():
            handle = c.handle.lower().lstrip("@") if c.handle else None
            rows.setdefault(platform, []).append((channel_id, handle, c.title))
        for platform, group in rows.items():
            # Channels never seen, in one go; the others (renames, handles in use) one at a time.
            for channel_id, handle, title in record_channels_at_once(self.conn, platform, group):
                record_channel(self.conn, platform, channel_id, handle, title)
        for key, c in fresh.items():
            self._channels_seen[key] = (c.handle, c.title)

    def load_rejects(self, rejects: Sequence[Rejected]) -> int:
        if not rejects:
            return 0
        rows = []
        for r in rejects:
            payload = r.raw_text
            if payload is None and r.payload is not None:
                try:
                    payload = orjson.dumps(r.payload, default=str).decode()
                except (TypeError, orjson.JSONEncodeError):
                    payload = repr(r.payload)
            payload = _clean_text(payload[:MAX_REJECT_PAYLOAD]) if payload is not None else None
            rows.append(
                (
                    r.source,
                    _clean_text(r.reason)[:1000],
                    r.origin,
                    r.platform,
                    r.channel_id,
                    r.post_id,
                    payload,
                    stable_hash(payload, r.origin if payload is None else None),
                    self.run_id,
                )  # fmt: skip
            )
        # In key order, like posts: two imports refusing the same records in opposite orders do not deadlock.
        rows.sort(key=lambda r: (r[0], r[7], r[1]))
        with self.conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO rejected_records
                       (source, reason, origin, platform, channel_id, post_id, payload, payload_hash, run_id)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (source, payload_hash, reason) DO NOTHING""",
                rows,
            )
        # Count what was refused in this batch, new or already on file: the summary reports the input.
        return len(rows)

    def mark_deletions(self, deletions: Sequence[Deletion]) -> int:
        n = 0
        for d in deletions:
            n += self.conn.execute(
                # X names a deleted post by any of its edit versions' ids: match the current version's id too.
                """UPDATE posts SET deleted_at = %s
                   WHERE platform = %s AND (post_id = %s OR source_post_id = %s)
                     AND (%s::bigint IS NULL OR channel_id = %s) AND deleted_at IS NULL""",
                (d.deleted_at, d.platform, d.post_id, d.post_id, d.channel_id, d.channel_id),
            ).rowcount
        return n

    def confirm_listing(
        self,
        platform: str,
        channel_id: int,
        seen: AbstractSet[int],
        when: datetime,
        *,
        listed: Sequence[tuple[int, int]] = (),
        touched: AbstractSet[int] = frozenset(),
    ) -> int:
        """What live batches say about stored posts, in one statement under the channel's lock: the stored posts
        in a `listed` range (a complete listing of ids [low, high]) that are not in `seen` are deleted; the posts
        in `touched` (those a rescan returned) are stamped as seen. Returns the posts marked deleted."""
        if not listed and not touched:
            return 0
        lock_channels(self.conn, [(platform, channel_id)])  # it writes the channel's rows, like a load
        # Two updates of disjoint rows (returned vs not returned) in one round trip: an hourly rescan makes one
        # such statement for every few thousand posts it rescans.
        gone: list[int] = self.conn.execute(
            # Without a listing, low and high are NULL and `gone` matches nothing. The overall bounds let the
            # primary key narrow the rows before the ranges are tested.
            """WITH gone AS (
                   UPDATE posts SET deleted_at = %(when)s
                   WHERE platform = %(platform)s AND channel_id = %(channel_id)s
                     AND post_id BETWEEN %(low)s AND %(high)s AND deleted_at IS NULL AND kind <> 'service'
                     AND EXISTS (SELECT FROM unnest(%(lows)s::bigint[], %(highs)s::bigint[]) AS r(lo, hi)
                                 WHERE post_id BETWEEN r.lo AND r.hi)
                     AND NOT (post_id = ANY(%(seen)s::bigint[]))
                   RETURNING post_id),
               touched AS (
                   UPDATE posts SET last_seen_at = %(when)s
                   WHERE platform = %(platform)s AND channel_id = %(channel_id)s
                     AND post_id = ANY(%(touched)s::bigint[])
                   RETURNING 1)
               SELECT coalesce(array_agg(post_id), '{}') FROM gone""",
            {"when": when, "platform": platform, "channel_id": channel_id,
             "low": min((lo for lo, _ in listed), default=None), "high": max((hi for _, hi in listed), default=None),
             "lows": _Int8s(lo for lo, _ in listed), "highs": _Int8s(hi for _, hi in listed),
             "seen": _Int8s(sorted(seen)) if listed else _Int8s(), "touched": _Int8s(sorted(touched))},
        ).fetchone()[0]  # fmt: skip
        if gone and self._ahead is not None:
            self._ahead.forget((platform, channel_id, pid) for pid in gone)  # the read-ahead held them alive
        return len(gone)


def _unchanged(row: tuple[int | None, bool, int | None], raw_hash: int, observed_us: int) -> bool:
    """UNCHANGED_RAW's test on a stored post read to the client (raw hash, not deleted, counts' observation in µs):
    loaded from these very bytes, not deleted, and holding counts observed no later than this record's."""
    stored_hash, alive, counts_us = row
    return stored_hash == raw_hash and alive and (counts_us is None or observed_us >= counts_us)


#: Rows a channel's range read may return beyond twice its keys: a few posts between a batch's keys that the batch
#: does not hold (deleted at the source, or not in this capture) should not send it to the key-by-key probe.
RANGE_SLACK = 64

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class _Utf8Dumper(Dumper):
    """text in binary COPY from str or from UTF-8 bytes (the raw payloads, as orjson wrote them)."""

    format = pq.Format.BINARY
    oid = 25  # text

    def dump(self, obj: str | bytes) -> bytes:
        return obj if isinstance(obj, bytes) else obj.encode()


class _Int8s(tuple):
    """A bigint[] parameter of non-null ints."""


class _Int8sDumper(Dumper):
    """bigint[] in PostgreSQL's binary array format in one struct.pack: psycopg's list dumper formats each element
    in Python, which cost more than the key probe it feeds (a rescan probes every post it is handed)."""

    format = pq.Format.BINARY
    oid = 1016  # int8[]

    def dump(self, obj: tuple) -> bytes:
        n = len(obj)
        if not n:
            return struct.pack(">iiI", 0, 0, 20)
        return struct.pack(f">iiIii{'iq' * n}", 1, 0, 20, n, 1, *chain.from_iterable((8, v) for v in obj))


def _clean_text(s: str) -> str:
    """PostgreSQL text cannot hold NUL or lone surrogates; keep everything else as it was."""
    if "\x00" in s:
        s = s.replace("\x00", "\\u0000")
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-8", "backslashreplace").decode("utf-8")
    return s
