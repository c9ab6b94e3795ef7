"""Posts as rows to load: the row hash that decides whether a row crosses the wire at all, the rounds a batch is
split into when it holds several states of one post, and the staging row of each (used by
`ingest.warehouse.loader`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import orjson
from psycopg.types.json import Jsonb

from ingest.models import MEDIA_IDENTITY, STABLE_HASH_OPTIONS, Post, stable_hash

_NO_TIME = datetime.min.replace(tzinfo=UTC)


def _ref(ref, attr: str):
    return getattr(ref, attr) if ref is not None else None


def _metrics_tuple(p: Post) -> tuple:
    m = p.metrics
    if m is None:
        return (None,) * 7
    return (m.views, m.forwards, m.replies, m.reposts, m.quotes, m.likes, m.reactions)


class Prepared:
    """One row to load. The row hash (one pass over every field) decides whether the row is sent at all; the
    content, metrics and state hashes are computed (together, `post_hashes`) only for rows that are, or for every
    row when it is prepared ahead (`hashed`)."""

    __slots__ = ("post", "row_hash", "_content_hash", "_metrics_hash", "_state_hash")

    def __init__(self, post: Post, row_hash: int):
        self.post = post
        self.row_hash = row_hash
        self._content_hash: int | None = None
        self._metrics_hash: int | None = None
        self._state_hash: int | None = None

    @classmethod
    def hashed(cls, post: Post) -> Prepared:
        """A row with all four hashes computed now."""
        content, metrics, row, state = post_hashes(post)
        pr = cls(post, row)
        pr._content_hash, pr._metrics_hash, pr._state_hash = content, metrics, state
        return pr

    def _other_hashes(self) -> tuple[int, int, int]:
        if self._state_hash is None:  # the three are set together
            self._content_hash, self._metrics_hash, _, self._state_hash = post_hashes(self.post)
        return self._content_hash, self._metrics_hash, self._state_hash

    @property
    def content_hash(self) -> int:
        """Text and media (`Post.content_hash`): what makes an edit a new version."""
        return self._other_hashes()[0]

    @property
    def metrics_hash(self) -> int:
        return self._other_hashes()[1]

    @property
    def state_hash(self) -> int:
        """Every normalised field but the counts: one raw payload is kept per distinct value."""
        return self._other_hashes()[2]


def row_hash(p: Post) -> int:
    """The row hash alone (`post_hashes`' third value), for a row that may turn out unchanged and go no further."""
    return stable_hash(p.text, p.media, _metrics_tuple(p), _row_identity(p))


def _signed(h: hashlib.blake2b) -> int:
    return int.from_bytes(h.digest(), "big", signed=True)


def post_hashes(p: Post) -> tuple[int, int, int, int]:
    """The post's content, metrics, row and state hashes, the values the warehouse stores and compares:
    `stable_hash(text, media identity)` (`Post.content_hash`), `stable_hash(counts)`, `stable_hash(text, media,
    counts, row identity)` (`row_hash`) and `stable_hash(text, media, row identity)`; a test holds them to those
    definitions on every real capture.

    Why not one `stable_hash` each: each serialises the text again and starts its own BLAKE2b, ~8 us a Telethon
    post for the four. `stable_hash(*parts)` digests orjson's `[part,part,...]`, and orjson writes a sequence's
    items each as it would alone, so each part is serialised once here and the digests share their common
    prefixes (`[text,` for all but the metrics, `[text,media,` for the row and the state) by copying the hash
    state: ~5 us."""
    dumps, opt = orjson.dumps, STABLE_HASH_OPTIONS
    text = dumps(p.text, option=opt, default=str)
    metrics = dumps(_metrics_tuple(p), option=opt, default=str)
    identity = dumps(_row_identity(p), option=opt, default=str)
    media = p.media
    head = hashlib.blake2b(b"[", digest_size=8)
    head.update(text)
    head.update(b",")
    content = head.copy()
    if media:
        content.update(dumps([{k: m.get(k) for k in MEDIA_IDENTITY} for m in media], option=opt, default=str))
    else:
        content.update(b"[]")
    content.update(b"]")
    head.update(dumps(media, option=opt, default=str))
    head.update(b",")
    row = head.copy()
    row.update(metrics)
    row.update(b",")
    row.update(identity)
    row.update(b"]")
    head.update(identity)
    head.update(b"]")
    metrics_h = hashlib.blake2b(b"[" + metrics + b"]", digest_size=8)
    return _signed(content), _signed(metrics_h), _signed(row), _signed(head)


def prepare(posts: Iterable[Post], *, hashed: bool = False) -> list[list[Prepared]]:
    """Split a batch into rounds with one row per key each; `hashed`: every row with all its hashes
    (`Prepared.hashed`), else the row hash alone and the others when asked.

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
    rounds: list[list[Prepared]] = [[]]
    make = Prepared.hashed if hashed else (lambda p: Prepared(p, row_hash(p)))
    for group in groups.values():
        if not isinstance(group, list):
            rounds[0].append(make(group))
            continue
        # Stable sort: among equal times the later record (a re-fetch) comes last and wins.
        group.sort(key=lambda p: (p.effective_version_at, p.observed_at or _NO_TIME))
        states: list[Prepared] = []
        for p in group:
            pr = make(p)
            if states and (states[-1].row_hash == pr.row_hash or _same_content_untimed(states[-1], pr)):
                # The same state seen again, or counts that cannot be placed in time: keep the later record.
                states[-1] = pr
            else:
                states.append(pr)
        for i, pr in enumerate(states):
            if i == len(rounds):
                rounds.append([])
            rounds[i].append(pr)
    return rounds


def _same_content_untimed(a: Prepared, b: Prepared) -> bool:
    """Two records of one text whose counts differ but lack an observation time (a Telethon dump's duplicate
    lines): without times the counts form no series, so only the last record counts."""
    untimed = a.post.observed_at is None or b.post.observed_at is None
    return untimed and a.content_hash == b.content_hash


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


def prepare_ahead(posts: Sequence[Post]) -> list[list[Prepared]]:
    """`prepare` with every row's hashes computed now (an import's read-ahead thread does this while the previous
    batch loads). The staging rows themselves are still built in the COPY loop: built ahead, their payload JSON
    for three batches at once cost ~80 MB more at the peak of a Telethon import."""
    return prepare(posts, hashed=True)


def post_row(pr: Prepared, now: datetime, *, binary: bool = False) -> tuple:
    """A post's `posts` row (`post_sql.POST_COLS`); `binary`: for a binary COPY (`post_sql.POST_TYPES`), where an
    empty array or media list cannot be given as its text literal."""
    p = pr.post
    fwd = p.forwarded_from
    array = list if binary else _array
    return (
        p.platform, p.channel_id, p.post_id, p.posted_at, p.edited_at, p.effective_version_at, p.kind,
        p.text, p.lang, p.url,
        _ref(p.reply_to, "channel_id"), _ref(p.reply_to, "post_id"),
        _ref(fwd, "platform"), _ref(fwd, "channel_id"), _ref(fwd, "post_id"), _ref(fwd, "posted_at"),
        _ref(fwd, "name"), _ref(fwd, "handle"), _ref(p.quoted, "channel_id"), _ref(p.quoted, "post_id"),
        _ref(p.reposted, "channel_id"), _ref(p.reposted, "post_id"), p.grouped_id,
        Jsonb(list(p.media)) if p.media else (_NO_MEDIA if binary else "[]"),
        array(p.links), array(p.hashtags), array(p.mentions),
        *_metrics_tuple_db(p), p.source_post_id if p.source_post_id is not None else p.post_id,
        # A record without counts (an older X edit, a repost) says nothing about counts: a NULL observation time
        # keeps whatever counts the row holds.
        (p.observed_at or now) if _has_metrics(p) else None, pr.content_hash, pr.metrics_hash, pr.row_hash,
        p.source, p.raw_hash,
    )  # fmt: skip


_NO_MEDIA = Jsonb([])


def raw_payload(p: Post) -> bytes | None:
    """The record's raw payload as JSON (UTF-8), as `raw_records.payload` keeps it."""
    return orjson.dumps(p.raw, default=str) if p.raw is not None else None


def stage_row(pr: Prepared, now: datetime) -> tuple:
    """A post's staging row (`post_sql.STAGE_COLS`): its `posts` row, then what the upsert also needs (the
    payload as text: the staging COPY is in text format)."""
    p = pr.post
    payload = raw_payload(p)
    return (
        *post_row(pr, now), _has_metrics(p), payload.decode() if payload is not None else None,
        *_provenance(p, now), pr.state_hash,
    )  # fmt: skip


def raw_row(pr: Prepared, now: datetime, source_version: str, run_id: int | None) -> tuple:
    """A new post's `raw_records` row (`post_sql.RAW_COLS`), its payload as orjson's UTF-8 bytes (binary COPY)."""
    p = pr.post
    return (
        p.platform, p.channel_id, p.post_id, pr.state_hash, pr.row_hash, p.source, source_version,
        *_provenance(p, now), raw_payload(p), run_id,
    )  # fmt: skip


def _provenance(p: Post, now: datetime) -> tuple[str | None, datetime]:
    """Where the payload was read (file:line, file#index, the live source's id) and when it was observed."""
    return p.origin or None, p.observed_at or now


def _has_metrics(p: Post) -> bool:
    return p.metrics is not None and not p.metrics.is_empty()


def _metrics_tuple_db(p: Post) -> tuple:
    t = _metrics_tuple(p)
    return (*t[:6], Jsonb(t[6]) if t[6] is not None else None)
