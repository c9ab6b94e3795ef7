"""Load normalised posts: skip unchanged rows before they cross the wire, COPY the rest into a staging table,
then one set-based upsert each for posts, versions, metrics and raw payloads.

All of it runs in the caller's transaction, so a batch's rows and the cursor or run counters that describe them
commit together (see `ingest.run.channel`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import psycopg
from psycopg.copy import QueuedLibpqWriter
from psycopg.types.json import Jsonb, set_json_dumps

from ingest.models import Channel, Deletion, Post, Rejected, stable_hash
from ingest.warehouse.locks import lock_channels

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


_POST_COLS = (
    "platform", "channel_id", "post_id", "posted_at", "edited_at", "version_at", "kind", "text", "lang", "url",
    "reply_to_channel_id", "reply_to_post_id", "fwd_platform", "fwd_channel_id", "fwd_post_id", "fwd_posted_at",
    "fwd_name", "fwd_handle", "quoted_channel_id", "quoted_post_id", "reposted_channel_id", "reposted_post_id", "grouped_id",
    "media", "links", "hashtags", "mentions", "views", "forwards", "replies", "reposts", "quotes", "likes",
    "reactions", "source_post_id", "metrics_observed_at", "content_hash", "metrics_hash", "row_hash", "source",
)  # fmt: skip
_KEY = ("platform", "channel_id", "post_id")
_I_ROW_HASH, _I_SOURCE = (_POST_COLS.index(c) for c in ("row_hash", "source"))
_METRIC_COLS = ("views", "forwards", "replies", "reposts", "quotes", "likes", "reactions", "metrics_hash",
                "metrics_observed_at")  # fmt: skip
_CONTENT_COLS = tuple(
    c for c in _POST_COLS if c not in _KEY + _METRIC_COLS + ("row_hash", "source", "version_at")
)
_STAGE_EXTRA = ("has_metrics", "payload", "origin", "observed_at")
_I_HAS_METRICS, _I_PAYLOAD, _I_ORIGIN, _I_FETCHED = (len(_POST_COLS) + i for i in range(4))
_STAGE_COLS = _POST_COLS + _STAGE_EXTRA
_VERSION_COLS = (
    "platform",
    "channel_id",
    "post_id",
    "version_at",
    "content_hash",
    "source_post_id",
    "text",
    "media",
)
_RAW_COLS = (
    "platform",
    "channel_id",
    "post_id",
    "row_hash",
    "source",
    "source_version",
    "origin",
    "fetched_at",
    "payload",
)

_STAGE_DDL = """
CREATE TEMP TABLE IF NOT EXISTS stage_posts (
    LIKE posts INCLUDING DEFAULTS, has_metrics boolean, payload text, origin text, observed_at timestamptz
) ON COMMIT DELETE ROWS;
"""

# An older record arriving late (an old export imported after live data) must not roll back newer content or
# newer counts: each group of columns takes the incoming value only when the incoming side is at least as new.
# Ties in version_at (Telegram moves edit_date without an edit; an album loses a member) go to the later edit_date,
# then to the later observation (a record without counts has no observation time: it wins ties, as before).
_NEWER_CONTENT = (
    "(EXCLUDED.version_at, coalesce(EXCLUDED.edited_at, '-infinity'), coalesce(EXCLUDED.metrics_observed_at, 'infinity'))"
    " >= (posts.version_at, coalesce(posts.edited_at, '-infinity'), coalesce(posts.metrics_observed_at, '-infinity'))"
)
_NEWER_METRICS = "EXCLUDED.metrics_observed_at >= coalesce(posts.metrics_observed_at, '-infinity')"
_UPDATE_SET = ",\n    ".join(
    [f"{c} = CASE WHEN {_NEWER_CONTENT} THEN EXCLUDED.{c} ELSE posts.{c} END" for c in _CONTENT_COLS]
    + [f"{c} = CASE WHEN {_NEWER_METRICS} THEN EXCLUDED.{c} ELSE posts.{c} END" for c in _METRIC_COLS]
    + [
        # A mixed row (older content, newer counts) matches no incoming record: 0 forces a full compare next time.
        f"row_hash = CASE WHEN {_NEWER_CONTENT} AND ({_NEWER_METRICS} OR (EXCLUDED.metrics_observed_at IS NULL"
        " AND posts.metrics_observed_at IS NULL)) THEN EXCLUDED.row_hash ELSE 0 END",
        f"source = CASE WHEN {_NEWER_CONTENT} THEN EXCLUDED.source ELSE posts.source END",
        f"version_at = CASE WHEN NOT ({_NEWER_CONTENT}) OR posts.content_hash = EXCLUDED.content_hash"
        " THEN posts.version_at ELSE EXCLUDED.version_at END",
    ]
)

_UNDELETES = "EXCLUDED.metrics_observed_at > posts.deleted_at"


def _differs(cols: tuple[str, ...]) -> str:
    return f"({', '.join(f'posts.{c}' for c in cols)}) IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in cols)})"


# A row is written only when a value would change: a record older than the stored state (an X page holding an
# edit's original, a capture re-imported after a newer one) or an identical one leaves the row, last_seen_at
# included, as it was, and counts as unchanged. Comparing the row hash alone is not enough: it differs for an
# older record that changes nothing.
_UPSERT_POSTS = f"""
INSERT INTO posts ({", ".join(_POST_COLS)}, first_seen_at, last_seen_at)
SELECT {", ".join(_POST_COLS)}, now(), now() FROM stage_posts
ORDER BY platform, channel_id, post_id
ON CONFLICT (platform, channel_id, post_id) DO UPDATE SET
    {_UPDATE_SET},
    last_seen_at = now(),
    deleted_at = CASE WHEN {_UNDELETES} THEN NULL ELSE posts.deleted_at END
WHERE ({_NEWER_CONTENT} AND {_differs(_CONTENT_COLS)})
   OR ({_NEWER_METRICS} AND {_differs(_METRIC_COLS)})
   OR {_UNDELETES}
RETURNING (xmax = 0) AS inserted
"""  # noqa: S608 - column names are constants

_NO_TIME = datetime.min.replace(tzinfo=UTC)
_SAME_KEY = "{a}.platform = {b}.platform AND {a}.channel_id = {b}.channel_id AND {a}.post_id = {b}.post_id"

# History starts at the first change: before a post's first edit is stored, its current version (in posts)
# becomes the first row of its history.
_SEED_VERSIONS = f"""
INSERT INTO post_versions ({", ".join(_VERSION_COLS)})
SELECT DISTINCT ON (p.platform, p.channel_id, p.post_id)
       p.platform, p.channel_id, p.post_id, p.version_at, p.content_hash, p.source_post_id, p.text, p.media
FROM stage_posts s JOIN posts p ON {_SAME_KEY.format(a="s", b="p")}
WHERE s.content_hash <> p.content_hash
  AND NOT EXISTS (SELECT 1 FROM post_versions v WHERE {_SAME_KEY.format(a="v", b="p")})
ORDER BY p.platform, p.channel_id, p.post_id
ON CONFLICT DO NOTHING
"""

# A version is stored when the post has a history (seeded just before, on its first change) and the latest
# earlier version has other content. A batch never holds two states of one post at once: see _prepare's rounds.
_INSERT_VERSIONS = f"""
INSERT INTO post_versions ({", ".join(_VERSION_COLS)})
SELECT s.platform, s.channel_id, s.post_id, s.version_at, s.content_hash, s.source_post_id, s.text, s.media
FROM stage_posts s
WHERE EXISTS (SELECT 1 FROM post_versions v WHERE {_SAME_KEY.format(a="v", b="s")})
  AND s.content_hash IS DISTINCT FROM (
    SELECT v.content_hash FROM post_versions v
    WHERE {_SAME_KEY.format(a="v", b="s")} AND v.version_at <= s.version_at
    ORDER BY v.version_at DESC LIMIT 1)
ORDER BY s.platform, s.channel_id, s.post_id
ON CONFLICT DO NOTHING
"""

_SEED_METRICS = f"""
INSERT INTO post_metrics (platform, channel_id, post_id, observed_at, metrics_hash,
                          views, forwards, replies, reposts, quotes, likes, reactions)
SELECT p.platform, p.channel_id, p.post_id, coalesce(p.metrics_observed_at, p.first_seen_at), p.metrics_hash,
       p.views, p.forwards, p.replies, p.reposts, p.quotes, p.likes, p.reactions
FROM posts p JOIN stage_posts s ON {_SAME_KEY.format(a="s", b="p")}
WHERE s.has_metrics AND s.metrics_hash <> p.metrics_hash
  AND num_nonnulls(p.views, p.forwards, p.replies, p.reposts, p.quotes, p.likes, p.reactions) > 0
  AND NOT EXISTS (SELECT 1 FROM post_metrics m WHERE {_SAME_KEY.format(a="m", b="p")})
ORDER BY p.platform, p.channel_id, p.post_id
ON CONFLICT DO NOTHING
"""

_INSERT_METRICS = f"""
INSERT INTO post_metrics (platform, channel_id, post_id, observed_at, metrics_hash,
                          views, forwards, replies, reposts, quotes, likes, reactions)
SELECT s.platform, s.channel_id, s.post_id, s.metrics_observed_at, s.metrics_hash,
       s.views, s.forwards, s.replies, s.reposts, s.quotes, s.likes, s.reactions
FROM stage_posts s
WHERE s.has_metrics
  AND EXISTS (SELECT 1 FROM post_metrics m WHERE {_SAME_KEY.format(a="m", b="s")})
  AND s.metrics_hash IS DISTINCT FROM (
    SELECT m.metrics_hash FROM post_metrics m
    WHERE {_SAME_KEY.format(a="m", b="s")} AND m.observed_at <= s.metrics_observed_at
    ORDER BY m.observed_at DESC LIMIT 1)
ORDER BY s.platform, s.channel_id, s.post_id
ON CONFLICT DO NOTHING
"""

_INSERT_RAW = f"""
INSERT INTO raw_records ({", ".join(_RAW_COLS)})
SELECT platform, channel_id, post_id, row_hash, source, %s, origin, observed_at, payload FROM stage_posts
WHERE payload IS NOT NULL
ORDER BY platform, channel_id, post_id
ON CONFLICT DO NOTHING
"""  # noqa: S608

# The server compares: only keys that are new, deleted, changed, or observed before the stored counts come back,
# so an unchanged re-run moves almost nothing over the wire.
_CHANGED_KEYS = """
SELECT k.i, p.row_hash IS NOT NULL
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[])
     WITH ORDINALITY AS k(channel_id, post_id, row_hash, observed, i)
LEFT JOIN LATERAL (
    -- LIMIT 1 keeps this a per-key primary-key probe: as a plain join the planner hashes the whole table.
    SELECT p.row_hash, p.deleted_at, p.metrics_observed_at FROM posts p
    WHERE p.platform = %s AND p.channel_id = k.channel_id AND p.post_id = k.post_id LIMIT 1
) p ON true
WHERE p.row_hash IS NULL OR p.deleted_at IS NOT NULL OR p.row_hash <> k.row_hash
   OR k.observed < p.metrics_observed_at
"""


def _ref(ref, attr: str):
    return getattr(ref, attr) if ref is not None else None


def _metrics_tuple(p: Post) -> tuple:
    m = p.metrics
    if m is None:
        return (None,) * 7
    return (m.views, m.forwards, m.replies, m.reposts, m.quotes, m.likes, m.reactions)


class _Prepared:
    """One row to load. The row hash (one pass over every field) decides whether the row is sent at all; the
    content and metrics hashes are computed only for rows that are."""

    __slots__ = ("post", "row_hash", "_content_hash", "_metrics_hash")

    def __init__(self, post: Post, row_hash: int):
        self.post = post
        self.row_hash = row_hash
        self._content_hash: int | None = None
        self._metrics_hash: int | None = None

    @property
    def content_hash(self) -> int:
        if self._content_hash is None:
            self._content_hash = self.post.content_hash()
        return self._content_hash

    @property
    def metrics_hash(self) -> int:
        if self._metrics_hash is None:
            self._metrics_hash = stable_hash(_metrics_tuple(self.post))
        return self._metrics_hash


def row_hash(p: Post) -> int:
    return stable_hash(p.text, p.media, _metrics_tuple(p), _row_identity(p))


def _prepare(posts: Iterable[Post]) -> list[list[_Prepared]]:
    """Split a batch into rounds with one row per key each.

    Almost always there is one round. When a batch holds several records of one post (an X edit and its
    original on one page, a collector's duplicate with newer counts), they are ordered by version time and
    observation time, identical neighbours collapse, and each distinct state goes in its own round: loading the
    rounds in order records every version and every count observation, exactly as separate batches would.
    """
    groups: dict[tuple[str, int, int], Post | list[Post]] = {}
    for p in posts:
        k = p.key
        prev = groups.get(k)
        if prev is None:
            groups[k] = p
        elif isinstance(prev, list):
            prev.append(p)
        else:
            groups[k] = [prev, p]
    rounds: list[list[_Prepared]] = [[]]
    for group in groups.values():
        if not isinstance(group, list):
            rounds[0].append(_Prepared(group, row_hash(group)))
            continue
        # Stable sort: among equal times the later record (a re-fetch) comes last and wins.
        group.sort(key=lambda p: (p.effective_version_at, p.observed_at or _NO_TIME))
        states: list[_Prepared] = []
        for p in group:
            h = row_hash(p)
            if states and (states[-1].row_hash == h or _same_content_untimed(states[-1].post, p)):
                # The same state seen again, or counts that cannot be placed in time: keep the later record.
                states[-1] = _Prepared(p, h)
            else:
                states.append(_Prepared(p, h))
        for i, pr in enumerate(states):
            if i == len(rounds):
                rounds.append([])
            rounds[i].append(pr)
    return rounds


def _same_content_untimed(a: Post, b: Post) -> bool:
    """Two records of one text whose counts differ but lack an observation time (a Telethon dump's duplicate
    lines): without times the counts form no series, so only the last record counts."""
    return (a.observed_at is None or b.observed_at is None) and a.content_hash() == b.content_hash()


def _row_identity(p: Post) -> tuple:
    # orjson serialises datetimes itself: no isoformat() calls on this hot path.
    fwd = p.forwarded_from
    return (
        p.posted_at, p.edited_at, p.effective_version_at, p.kind, p.lang, p.url, p.source_post_id,
        _ref(p.reply_to, "channel_id"), _ref(p.reply_to, "post_id"),
        None if fwd is None else (fwd.platform, fwd.channel_id, fwd.post_id, fwd.posted_at, fwd.name, fwd.handle),
        _ref(p.quoted, "channel_id"), _ref(p.quoted, "post_id"),
        _ref(p.reposted, "channel_id"), _ref(p.reposted, "post_id"), p.grouped_id,
        p.links, p.hashtags, p.mentions,
    )  # fmt: skip


def _array(values: tuple[str, ...]) -> list[str] | str:
    return list(values) if values else "{}"


def _stage_row(pr: _Prepared, now: datetime) -> tuple:
    p = pr.post
    fwd = p.forwarded_from
    has_metrics = p.metrics is not None and not p.metrics.is_empty()
    return (
        p.platform, p.channel_id, p.post_id, p.posted_at, p.edited_at, p.effective_version_at, p.kind,
        p.text, p.lang, p.url,
        _ref(p.reply_to, "channel_id"), _ref(p.reply_to, "post_id"),
        _ref(fwd, "platform"), _ref(fwd, "channel_id"), _ref(fwd, "post_id"), _ref(fwd, "posted_at"),
        _ref(fwd, "name"), _ref(fwd, "handle"), _ref(p.quoted, "channel_id"), _ref(p.quoted, "post_id"),
        _ref(p.reposted, "channel_id"), _ref(p.reposted, "post_id"), p.grouped_id,
        Jsonb(list(p.media)) if p.media else "[]", _array(p.links), _array(p.hashtags), _array(p.mentions),
        *_metrics_tuple_db(p), p.source_post_id if p.source_post_id is not None else p.post_id,
        # A record without counts (an older X edit, a repost) says nothing about counts: a NULL observation time
        # keeps whatever counts the row holds.
        (p.observed_at or now) if has_metrics else None, pr.content_hash, pr.metrics_hash, pr.row_hash, p.source,
        has_metrics, orjson.dumps(p.raw, default=str).decode() if p.raw is not None else None, None,
        p.observed_at or now,
    )  # fmt: skip


def _metrics_tuple_db(p: Post) -> tuple:
    t = _metrics_tuple(p)
    return (*t[:6], Jsonb(t[6]) if t[6] is not None else None)


class Loader:
    """Writes batches into the warehouse inside the caller's transaction."""

    def __init__(
        self,
        conn: psycopg.Connection,
        *,
        run_id: int | None = None,
        skip_unchanged: bool = True,
        observed_at: datetime | None = None,
    ):
        # When a record carries no observation time: the time the input was captured (a file's mtime), else now.
        self.observed_at = observed_at
        # psycopg's default JSON dumper is the stdlib's; orjson is several times faster on media and reactions.
        set_json_dumps(orjson.dumps, conn)
        if conn.autocommit:
            # Staging tables empty themselves at each commit: in autocommit every staged row would vanish.
            raise ValueError("Loader needs a connection with autocommit off (it commits with the caller)")
        self.conn = conn
        self.run_id = run_id
        self.skip_unchanged = skip_unchanged
        self._staged = False
        self._inserted_since_analyze = 0
        self._rows_at_analyze = 0
        self._channels_seen: dict[tuple[str, int], tuple[str | None, str | None]] = {}

    def _ensure_stage(self) -> None:
        if not self._staged:
            self.conn.execute(_STAGE_DDL)
            self._staged = True

    def load(self, items: Sequence[Post | Rejected | Deletion], *, only_existing: bool = False) -> LoadStats:
        posts = [i for i in items if isinstance(i, Post)]
        rejects = [i for i in items if isinstance(i, Rejected)]
        deletions = [i for i in items if isinstance(i, Deletion)]
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
            stats = self.load_posts(posts, only_existing=only_existing)
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

    def load_posts(self, posts: Sequence[Post], *, only_existing: bool = False) -> LoadStats:
        """Upsert posts; with `only_existing`, posts the warehouse does not hold yet are left out."""
        stats = LoadStats()
        if not posts:
            return stats
        if not only_existing:
            self.upsert_channels(p.channel for p in posts if p.channel is not None)
        for prepared in _prepare(posts):
            self._load_round(prepared, only_existing, stats)
        return stats

    def _load_round(self, prepared: list[_Prepared], only_existing: bool, stats: LoadStats) -> None:
        if self.skip_unchanged or only_existing:
            candidates = self._changed(prepared)
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
            self._stage_and_upsert(stored, now, stats)
        self._maybe_analyze(stats.inserted - before)

    def _maybe_analyze(self, inserted: int) -> None:
        """Refresh planner statistics when this loader has grown `posts` a lot. A bulk import into an empty
        table otherwise leaves the planner assuming it is empty, and the existing-rows lookup of a re-run
        picks a plan 12x slower until autovacuum catches up."""
        self._inserted_since_analyze += inserted
        if self._inserted_since_analyze >= max(5000, self._rows_at_analyze):
            # Only the key columns: enough for the row count and the join plan, a fraction of a full ANALYZE.
            self.conn.execute("ANALYZE posts (platform, channel_id, post_id)")
            self._rows_at_analyze += self._inserted_since_analyze
            self._inserted_since_analyze = 0

    def _copy_new(self, rows: list[_Prepared], now: datetime, stats: LoadStats) -> bool:
        """Fast path for a batch of posts the warehouse has never seen: COPY straight into the tables, no
        staging and no upsert. A concurrent writer that inserted one of the keys meanwhile makes COPY fail on
        the primary key; the savepoint then rolls back and the batch takes the upsert path."""
        n = len(_POST_COLS)
        raw_rows: list[tuple] = []
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                # Rows are built inside the COPY loop and sent by a writer thread, so the server ingests one
                # chunk while this process formats the next (two cores: client and server work overlap).
                with cur.copy(
                    f"COPY posts ({', '.join(_POST_COLS)}) FROM STDIN", writer=QueuedLibpqWriter(cur)
                ) as copy:
                    for pr in rows:
                        r = _stage_row(pr, now)
                        copy.write_row(r[:n])
                        if r[_I_PAYLOAD] is not None:
                            raw_rows.append(
                                (r[0], r[1], r[2], r[_I_ROW_HASH], r[_I_SOURCE], SOURCE_VERSION, r[_I_ORIGIN],
                                 r[_I_FETCHED], r[_I_PAYLOAD])
                            )  # fmt: skip
                with cur.copy(
                    f"COPY raw_records ({', '.join(_RAW_COLS)}) FROM STDIN", writer=QueuedLibpqWriter(cur)
                ) as copy:
                    for raw in raw_rows:
                        copy.write_row(raw)
        except psycopg.errors.UniqueViolation:
            log.info("a concurrent writer inserted some of these posts; upserting instead")
            return False
        stats.inserted += len(rows)
        return True

    def _stage_and_upsert(self, changed: list[_Prepared], now: datetime, stats: LoadStats) -> None:
        self._ensure_stage()
        cur = self.conn.cursor()
        with cur.copy(f"COPY stage_posts ({', '.join(_STAGE_COLS)}) FROM STDIN") as copy:
            for pr in changed:
                copy.write_row(_stage_row(pr, now))
        # Fresh statistics on the small staging tables let the planner probe posts by key instead of scanning it.
        cur.execute("ANALYZE stage_posts")
        # History first (it reads the rows as they were), then the rows themselves.
        stats.versions += cur.execute(_SEED_VERSIONS).rowcount
        stats.versions += cur.execute(_INSERT_VERSIONS).rowcount
        stats.metrics += cur.execute(_SEED_METRICS).rowcount
        stats.metrics += cur.execute(_INSERT_METRICS).rowcount
        cur.execute(_INSERT_RAW, (SOURCE_VERSION,))
        cur.execute(_UPSERT_POSTS)
        flags = [r[0] for r in cur.fetchall()]
        ins = sum(1 for f in flags if f)
        stats.inserted += ins
        stats.updated += len(flags) - ins
        stats.unchanged += len(changed) - len(flags)
        cur.execute("TRUNCATE stage_posts")

    def _changed(self, prepared: list[_Prepared]) -> list[tuple[_Prepared, bool]]:
        """The rows worth sending, each with whether the post is already stored. A record observed before the
        stored counts is sent even when equal: it may belong in the metrics history before the stored one."""
        by_platform: dict[str, list[_Prepared]] = {}
        for pr in prepared:
            by_platform.setdefault(pr.post.platform, []).append(pr)
        out: list[tuple[_Prepared, bool]] = []
        # Binary arrays: dumping thousands of keys as text costs more than the lookup itself.
        cur = self.conn.cursor(binary=True)
        for platform, rows in by_platform.items():
            params = (
                [pr.post.channel_id for pr in rows], [pr.post.post_id for pr in rows], [pr.row_hash for pr in rows],
                [pr.post.observed_at if pr.post.metrics is not None else None for pr in rows], platform,
            )  # fmt: skip
            cur.execute(_CHANGED_KEYS, params, binary=True)
            out.extend((rows[i - 1], exists) for i, exists in cur.fetchall())
        return out

    def upsert_channels(self, channels: Iterable[Channel]) -> None:
        """Record channels and their handle history; a handle change closes the old alias and opens a new one."""
        fresh: dict[tuple[str, int], Channel] = {}
        for c in channels:
            known = self._channels_seen.get((c.platform, c.channel_id))
            if known is not None and known == (c.handle, c.title):
                continue
            fresh[(c.platform, c.channel_id)] = c
        for (platform, channel_id), c in fresh.items():
            handle = c.handle.lower().lstrip("@") if c.handle else None
            record_channel(self.conn, platform, channel_id, handle, c.title)
            self._channels_seen[(platform, channel_id)] = (c.handle, c.title)

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

    def mark_missing(
        self, platform: str, channel_id: int, low: int, high: int, seen: set[int], when: datetime
    ) -> int:
        """Posts with ids in [low, high] that a complete listing did not return are deleted."""
        return self.conn.execute(
            """UPDATE posts SET deleted_at = %s
               WHERE platform = %s AND channel_id = %s AND post_id BETWEEN %s AND %s
                 AND deleted_at IS NULL AND kind <> 'service' AND NOT (post_id = ANY(%s::bigint[]))""",
            (when, platform, channel_id, low, high, sorted(seen)),
        ).rowcount

    def touch_seen(self, platform: str, channel_id: int, ids: set[int], when: datetime) -> None:
        """A live rescan confirmed these posts exist."""
        if ids:
            self.conn.execute(
                """UPDATE posts SET last_seen_at = %s
                   WHERE platform = %s AND channel_id = %s AND post_id = ANY(%s::bigint[])""",
                (when, platform, channel_id, sorted(ids)),
            )


def record_channel(
    conn: psycopg.Connection,
    platform: str,
    channel_id: int,
    handle: str | None,
    title: str | None,
    *,
    watched: bool | None = None,
    source: str | None = None,
    access_hash: int | None = None,
    resolved: bool = False,
    configured: bool = False,
) -> None:
    """Insert or refresh a channel; keep the alias history when the handle changes.

    `configured`: handle and title come from channels.toml, not from the platform. They name a channel the
    warehouse has not seen yet; once the platform has given its handle (a rename included), they change nothing.
    """
    row = conn.execute(
        "SELECT handle FROM channels WHERE platform = %s AND channel_id = %s FOR UPDATE",
        (platform, channel_id),
    ).fetchone()
    if configured and row is not None and row[0]:
        handle, title = None, None
    if row is None:
        # A handle now held by this id cannot still belong to another channel: close that alias.
        conn.execute(
            """INSERT INTO channels (platform, channel_id, handle, title, watched, source, access_hash, resolved_at)
               VALUES (%s, %s, %s, %s, coalesce(%s, false), %s, %s, CASE WHEN %s THEN now() END)
               ON CONFLICT DO NOTHING""",
            (platform, channel_id, handle, title, watched, source, access_hash, resolved),
        )
    else:
        # Only a real change (or a resolution) touches the row: re-importing a file leaves updated_at alone.
        conn.execute(
            """UPDATE channels SET handle = coalesce(%(handle)s, handle), title = coalesce(%(title)s, title),
                      watched = coalesce(%(watched)s, watched), source = coalesce(%(source)s, source),
                      access_hash = coalesce(%(access_hash)s, access_hash),
                      resolved_at = CASE WHEN %(resolved)s THEN now() ELSE resolved_at END, updated_at = now()
               WHERE platform = %(platform)s AND channel_id = %(channel_id)s
                 AND (%(resolved)s OR (handle, title, watched, source, access_hash) IS DISTINCT FROM
                      (coalesce(%(handle)s, handle), coalesce(%(title)s, title), coalesce(%(watched)s, watched),
                       coalesce(%(source)s, source), coalesce(%(access_hash)s, access_hash)))""",
            {"handle": handle, "title": title, "watched": watched, "source": source, "access_hash": access_hash,
             "resolved": resolved, "platform": platform, "channel_id": channel_id},
        )  # fmt: skip
    if handle:
        current = conn.execute(
            """SELECT handle FROM channel_aliases WHERE platform = %s AND channel_id = %s AND valid_to IS NULL""",
            (platform, channel_id),
        ).fetchone()
        if current is None or current[0] != handle:
            conn.execute(
                """UPDATE channel_aliases SET valid_to = now()
                   WHERE platform = %s AND valid_to IS NULL AND (channel_id = %s OR handle = %s)""",
                (platform, channel_id, handle),
            )
            # Another channel that held this handle no longer does.
            conn.execute(
                """UPDATE channels SET handle = NULL, updated_at = now()
                   WHERE platform = %s AND handle = %s AND channel_id <> %s""",
                (platform, handle, channel_id),
            )
            conn.execute(
                """INSERT INTO channel_aliases (platform, channel_id, handle, valid_from)
                   VALUES (%s, %s, %s, now()) ON CONFLICT DO NOTHING""",
                (platform, channel_id, handle),
            )


def _clean_text(s: str) -> str:
    """PostgreSQL text cannot hold NUL or lone surrogates; keep everything else as it was."""
    if "\x00" in s:
        s = s.replace("\x00", "\\u0000")
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-8", "backslashreplace").decode("utf-8")
    return s
