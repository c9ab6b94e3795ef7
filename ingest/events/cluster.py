"""The streaming grouper: posts in time order -> events (hours) and storylines (days), one post at a time.

For each post, in canonical order (posted_at, platform, channel_id, post_id):

- stage 0, exact links: a forward, repost or quote joins the event of the post it points to (or the event of an
  earlier post pointing to the same unseen original); a near-duplicate text (same `duplicate_key`) joins the open
  event that already holds that text;
- stage 1, similarity: cosine between the post and each open event's centroid (an event is open while its last
  post is within `window`); the best at or above `event_threshold` wins, else the post starts a new event.
  A new event joins the open storyline whose centroid is nearest (>= `storyline_threshold`), else a new one;
- stage 2, merge: when one post matches two open events at or above `event_merge_threshold` they have converged
  and merge; likewise storylines at `storyline_merge_threshold`. The older cluster (earlier first post) keeps its
  id; the other is recorded as a redirect.

Centroids are sums of the members' integer vectors (see `ingest.events.text`), so every similarity is an exact
integer computation: the same posts give the same groups whether they arrive in one run or in many, in batches
of any size. Batching (`bucket`) only decides how much is computed at once with sparse matrix products.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from ingest.events.text import DIM, Vector

Key = tuple[str, int, int]

ROLE_ORIGIN = "origin"
ROLE_FORWARD = "forward"
ROLE_REPORT = "report"


@dataclass(frozen=True)
class Params:
    """Grouping parameters; `fingerprint()` is stored with the state so a change forces a full regroup."""

    window_hours: float = 72.0
    storyline_window_hours: float = 168.0
    event_threshold: float = 0.30
    event_merge_threshold: float = 0.45
    storyline_threshold: float = 0.16
    storyline_merge_threshold: float = 0.30
    bucket_posts: int = 512
    short_post_features: int = (
        8  # similarity x n/(n+k) for a post with n features: one shared word is weak evidence
    )

    def fingerprint(self) -> str:
        from ingest.events import text

        return (
            f"v1 w={self.window_hours} sw={self.storyline_window_hours} e={self.event_threshold} "
            f"em={self.event_merge_threshold} s={self.storyline_threshold} sm={self.storyline_merge_threshold} "
            f"k={self.short_post_features} "
            f"dim={text.DIM_BITS}"
        )


@dataclass(slots=True)
class Item:
    """One post to group."""

    key: Key
    ts: float  # posted_at, seconds since the epoch (UTC)
    vec: Vector
    refs: tuple[tuple[str, Key], ...] = ()  # (forward | repost | quote | reply, referenced post)
    dup: int | None = None
    content_hash: int = 0

    @property
    def order(self) -> tuple:
        return (self.ts, self.key)


@dataclass(slots=True)
class Cluster:
    """An event or a storyline: the sum of its members' vectors and when it was active."""

    id: int
    first_ts: float
    last_ts: float
    first_key: Key
    n: int
    idx: np.ndarray
    val: np.ndarray
    norm2: int
    storyline: int | None = None  # events: the storyline they were created in

    @property
    def age(self) -> tuple:
        return (self.first_ts, self.first_key)


@dataclass(slots=True)
class Assignment:
    key: Key
    ts: float
    event: int  # the event the post was assigned to (before any later merge)
    storyline: int
    role: str
    joined_by: str  # forward | repost | quote | duplicate | similar | new
    similarity: float | None
    vec: Vector
    dup: int | None
    content_hash: int


@dataclass(slots=True)
class Merge:
    level: str  # event | storyline
    from_id: int
    to_id: int
    ts: float
    key: Key  # the post whose arrival merged them


def _dot(ai: np.ndarray, av: np.ndarray, bi: np.ndarray, bv: np.ndarray) -> int:
    _, ia, ib = np.intersect1d(ai, bi, assume_unique=True, return_indices=True)
    return int(np.dot(av[ia], bv[ib]))


def add_vectors(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Exact sum of sparse integer vectors."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    if len(parts) == 1:
        return parts[0][0].copy(), parts[0][1].copy()
    idx = np.concatenate([p[0] for p in parts])
    val = np.concatenate([p[1] for p in parts])
    uniq, inv = np.unique(idx, return_inverse=True)
    out = np.zeros(len(uniq), dtype=np.int64)
    np.add.at(out, inv, val)
    return uniq.astype(np.int32), out


def _csr(rows: Sequence[tuple[np.ndarray, np.ndarray]]) -> sparse.csr_matrix:
    lens = np.fromiter((len(r[0]) for r in rows), dtype=np.int64, count=len(rows))
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    if indptr[-1]:
        indices = np.concatenate([r[0] for r in rows]).astype(np.int32)
        data = np.concatenate([r[1] for r in rows]).astype(np.int64)
    else:
        indices = np.zeros(0, dtype=np.int32)
        data = np.zeros(0, dtype=np.int64)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), DIM))


class _Level:
    """One level of clusters (events or storylines) and its bucket-local bookkeeping."""

    def __init__(self, name: str, window_s: float, new_id: Callable[[], int]):
        self.name = name
        self.window_s = window_s
        self.new_id = new_id
        self.clusters: dict[int, Cluster] = {}
        self.merged: dict[int, int] = {}  # from -> to (loaded redirects and merges of this run)
        self.retired: dict[int, Cluster] = {}  # clusters merged away during this run

    def resolve(self, cid: int) -> int:
        while cid in self.merged:
            cid = self.merged[cid]
        return cid

    # ---- bucket start: open clusters as a matrix
    def begin(self, X: sparse.csr_matrix, ts0: float) -> None:
        self.open_ids = [c.id for c in self.clusters.values() if c.last_ts >= ts0 - self.window_s]
        rows = [(self.clusters[c].idx, self.clusters[c].val) for c in self.open_ids]
        self.col = {cid: k for k, cid in enumerate(self.open_ids)}
        self.norm2_open = np.array([self.clusters[c].norm2 for c in self.open_ids], dtype=np.float64)
        self.last_open = np.array([self.clusters[c].last_ts for c in self.open_ids], dtype=np.float64)
        if rows:
            C = _csr(rows)
            self.S = (X @ C.T).tocsr()
        else:
            self.S = sparse.csr_matrix((X.shape[0], 0), dtype=np.int64)
        self.col2local = np.full(len(self.open_ids), -1, dtype=np.int64)
        # local clusters: the ones touched in this bucket (their sums change as posts join)
        self.local_ids: list[int] = []
        self.local_of: dict[int, int] = {}
        cap = 2 * X.shape[0] + 8
        self.local_norm2 = np.zeros(cap, dtype=np.float64)
        self.local_last = np.zeros(cap, dtype=np.float64)
        self.local_alive = np.zeros(cap, dtype=bool)
        self.local_extra: list[list[tuple[np.ndarray, np.ndarray]]] = []  # stored parts not in S
        self.has_extra: set[int] = set()
        self.owner = np.full(X.shape[0], -1, dtype=np.int64)  # bucket item -> local cluster

    def _grow(self) -> None:
        n = len(self.local_norm2) * 2
        for name in ("local_norm2", "local_last", "local_alive"):
            old = getattr(self, name)
            new = np.zeros(n, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def _local(self, cid: int) -> int:
        loc = self.local_of.get(cid)
        if loc is not None:
            return loc
        loc = len(self.local_ids)
        if loc >= len(self.local_norm2):
            self._grow()
        self.local_ids.append(cid)
        self.local_of[cid] = loc
        c = self.clusters[cid]
        k = self.col.get(cid)
        if k is not None:
            self.col2local[k] = loc
            self.local_extra.append([])
        else:
            self.local_extra.append([(c.idx, c.val)] if len(c.idx) else [])
            if len(c.idx):
                self.has_extra.add(loc)
        self.local_norm2[loc] = float(c.norm2)
        self.local_last[loc] = c.last_ts
        self.local_alive[loc] = True
        return loc

    def dots(self, i: int, xi: Vector, intra_row: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exact dot products of bucket item i with candidate clusters: (open untouched cols, their dots,
        local dots)."""
        lo, hi = self.S.indptr[i], self.S.indptr[i + 1]
        cols = self.S.indices[lo:hi]
        vals = self.S.data[lo:hi].astype(np.float64)
        nloc = len(self.local_ids)
        if nloc:
            loc = self.col2local[cols]
            touched = loc >= 0
            local_dot = np.zeros(nloc, dtype=np.float64)
            if touched.any():
                np.add.at(local_dot, loc[touched], vals[touched])
                cols, vals = cols[~touched], vals[~touched]
            if i:
                own = self.owner[:i]
                m = own >= 0
                if m.any():
                    local_dot += np.bincount(own[m], weights=intra_row[:i][m], minlength=nloc)[:nloc]
            for loc_id in self.has_extra:
                for ei, ev in self.local_extra[loc_id]:
                    local_dot[loc_id] += _dot(xi.idx, xi.val, ei, ev)
        else:
            local_dot = np.zeros(0, dtype=np.float64)
        return cols, vals, local_dot

    def best(
        self, ts: float, xi2: float, cols: np.ndarray, vals: np.ndarray, local_dot: np.ndarray, floor: float
    ) -> list[tuple[float, int]]:
        """(cosine, cluster id) of open candidates at or above `floor`, best first (ties: older first). Every
        candidate above the floor is kept, so the answer does not depend on how posts were batched."""
        out: list[tuple[float, int]] = []
        if len(cols):
            open_ = self.last_open[cols] >= ts - self.window_s
            if open_.any():
                c, v = cols[open_], vals[open_]
                cos = v / np.sqrt(self.norm2_open[c] * xi2)
                top = np.nonzero(cos >= floor)[0]
                out.extend((float(cos[t]), self.open_ids[int(c[t])]) for t in top)
        if len(local_dot):
            n = len(local_dot)
            nz = np.nonzero(
                (local_dot > 0) & self.local_alive[:n] & (self.local_last[:n] >= ts - self.window_s)
            )[0]
            if len(nz):
                cos = local_dot[nz] / np.sqrt(self.local_norm2[nz] * xi2)
                top = np.nonzero(cos >= floor)[0]
                out.extend((float(cos[t]), self.local_ids[int(nz[t])]) for t in top)
        out.sort(key=lambda t: (-t[0], self.clusters[t[1]].age))
        return out

    def dot_with(self, cid: int, i: int, xi: Vector, cols, vals, local_dot) -> float:
        loc = self.local_of.get(cid)
        if loc is not None:
            return float(local_dot[loc])
        k = self.col.get(cid)
        if k is not None:
            hit = np.nonzero(cols == k)[0]
            return float(vals[hit[0]]) if len(hit) else 0.0
        c = self.clusters[cid]
        return float(_dot(xi.idx, xi.val, c.idx, c.val))

    def add(self, cid: int, i: int, item: Item, dot: float, xi2: float) -> None:
        loc = self._local(cid)
        self.local_norm2[loc] += 2.0 * dot + xi2
        self.owner[i] = loc
        c = self.clusters[cid]
        c.n += 1
        c.last_ts = max(c.last_ts, item.ts)
        self.local_last[loc] = c.last_ts

    def create(self, i: int, item: Item, xi2: float, storyline: int | None = None) -> int:
        cid = self.new_id()
        self.clusters[cid] = Cluster(
            cid, item.ts, item.ts, item.key, 0, np.zeros(0, np.int32), np.zeros(0, np.int64), 0, storyline
        )
        self.add(cid, i, item, 0.0, xi2)
        return cid

    def materialize(self, cid: int, items: Sequence[Item]) -> tuple[np.ndarray, np.ndarray]:
        """The cluster's current sum: its stored sum plus members added in this bucket."""
        c = self.clusters[cid]
        loc = self.local_of.get(cid)
        parts = [(c.idx, c.val)]
        if loc is not None:
            parts += [(items[j].vec.idx, items[j].vec.val) for j in np.nonzero(self.owner == loc)[0]]
        return add_vectors(parts)

    def merge(self, src: int, dst: int, items: Sequence[Item]) -> None:
        """Fold cluster `src` into `dst` (both current) in the middle of a bucket, exactly."""
        a_i, a_v = self.materialize(src, items)
        b_i, b_v = self.materialize(dst, items)
        cross = _dot(a_i, a_v, b_i, b_v)
        ls, ld = self._local(src), self._local(dst)
        self.local_norm2[ld] = self.local_norm2[ld] + self.local_norm2[ls] + 2.0 * cross
        self.owner[self.owner == ls] = ld
        # Columns of clusters folded into src earlier in this bucket move with it.
        self.col2local[self.col2local == ls] = ld
        if self.local_extra[ls]:
            self.local_extra[ld].extend(self.local_extra[ls])
            self.local_extra[ls] = []
            self.has_extra.discard(ls)
            self.has_extra.add(ld)
        s, d = self.clusters[src], self.clusters[dst]
        d.n += s.n
        d.last_ts = max(d.last_ts, s.last_ts)
        # The source's stored sum travels with it: dst's stored sum becomes both (pending members stay pending).
        d.idx, d.val = add_vectors([(d.idx, d.val), (s.idx, s.val)])
        s.idx, s.val = np.zeros(0, np.int32), np.zeros(0, np.int64)
        self.merged[src] = dst
        self.local_alive[ls] = False
        self.local_last[ld] = d.last_ts

    def finish(self, items: Sequence[Item]) -> set[int]:
        """Bucket end: fold pending members into the stored sums; returns the clusters changed."""
        changed = set()
        for loc, cid in enumerate(self.local_ids):
            if self.resolve(cid) != cid:
                changed.add(cid)
                continue
            members = np.nonzero(self.owner == loc)[0]
            c = self.clusters[cid]
            if len(members):
                c.idx, c.val = add_vectors(
                    [(c.idx, c.val), *((items[j].vec.idx, items[j].vec.val) for j in members)]
                )
            c.norm2 = int(np.dot(c.val, c.val))
            changed.add(cid)
        for cid in list(self.merged):
            c = self.clusters.pop(cid, None)
            if c is not None:
                self.retired[cid] = c
        return changed

    def expire(self, before_ts: float) -> None:
        """Forget clusters closed long ago (they can still be re-loaded on demand by the caller)."""
        for cid in [c.id for c in self.clusters.values() if c.last_ts < before_ts]:
            del self.clusters[cid]


@dataclass
class RunResult:
    assignments: list[Assignment] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    events_changed: set[int] = field(default_factory=set)
    storylines_changed: set[int] = field(default_factory=set)
    events_created: set[int] = field(default_factory=set)
    storylines_created: set[int] = field(default_factory=set)


class Grouper:
    """Streaming two-level grouper. Feed it posts in canonical order with `process`; it can start from loaded
    state (open events and storylines, and the post -> event map stage 0 needs)."""

    def __init__(
        self,
        params: Params | None = None,
        *,
        new_event_id: Callable[[], int] | None = None,
        new_storyline_id: Callable[[], int] | None = None,
        load_event: Callable[[int], Cluster | None] | None = None,
        load_storyline: Callable[[int], Cluster | None] | None = None,
    ):
        self.params = p = params or Params()
        counter = {"e": 0, "s": 0}

        def _ne() -> int:
            counter["e"] += 1
            return counter["e"]

        def _ns() -> int:
            counter["s"] += 1
            return counter["s"]

        self.events = _Level("event", p.window_hours * 3600, new_event_id or _ne)
        self.storylines = _Level("storyline", p.storyline_window_hours * 3600, new_storyline_id or _ns)
        self.post_event: dict[Key, int] = {}  # post -> event (assigned id; resolve for the current one)
        self.ref_event: dict[Key, int] = {}  # referenced post not (yet) seen -> event of its forwards
        self.dup_event: dict[
            int, list[int]
        ] = {}  # duplicate key -> events holding it, first occurrence first
        self.load_event = load_event
        self.load_storyline = load_storyline
        self.last_order: tuple | None = None

    # ---- state loading
    def add_event(self, c: Cluster) -> None:
        self.events.clusters[c.id] = c

    def add_storyline(self, c: Cluster) -> None:
        self.storylines.clusters[c.id] = c

    def event_of(self, key: Key) -> int | None:
        e = self.post_event.get(key)
        return self.events.resolve(e) if e is not None else None

    def _ensure_event(self, eid: int) -> bool:
        if eid in self.events.clusters:
            return True
        if self.load_event is None:
            return False
        c = self.load_event(eid)
        if c is None:
            return False
        self.events.clusters[c.id] = c
        if c.storyline is not None:
            sid = self.storylines.resolve(c.storyline)
            if sid not in self.storylines.clusters:
                s = self.load_storyline(sid) if self.load_storyline else None
                if s is not None:
                    self.storylines.clusters[s.id] = s
        return True

    # ---- the stream
    def process(self, items: Iterable[Item]) -> RunResult:
        items = sorted(items, key=lambda it: it.order)
        result = RunResult()
        b = self.params.bucket_posts
        for start in range(0, len(items), b):
            self._bucket(items[start : start + b], result)
        return result

    def _bucket(self, items: list[Item], result: RunResult) -> None:
        p = self.params
        X = _csr([(it.vec.idx, it.vec.val) for it in items])
        intra = (X @ X.T).toarray().astype(np.float64)
        ts0 = items[0].ts
        ev, st = self.events, self.storylines
        e_floor = min(p.event_threshold, p.event_merge_threshold)
        s_floor = min(p.storyline_threshold, p.storyline_merge_threshold)
        ev.begin(X, ts0)
        st.begin(X, ts0)
        for i, it in enumerate(items):
            xi2 = float(it.vec.norm2)
            row = intra[i]
            e_cols, e_vals, e_loc = (
                ev.dots(i, it.vec, row)
                if xi2
                else (np.zeros(0, np.int64), np.zeros(0), np.zeros(len(ev.local_ids)))
            )
            event_id: int | None = None
            joined_by, role, sim = "new", ROLE_ORIGIN, None

            # stage 0: links, then near-duplicates
            target = self.event_of(it.key) if it.key in self.post_event else None
            if target is None and it.key in self.ref_event:
                target = self.events.resolve(self.ref_event[it.key])  # forwards of this post came first
                if self._ensure_event(target):
                    event_id, joined_by, role = target, "forwarded", ROLE_REPORT
            for kind, ref in it.refs:
                if event_id is not None:
                    break
                t = self.event_of(ref)
                if t is None and ref in self.ref_event:
                    t = self.events.resolve(self.ref_event[ref])
                if t is not None and self._ensure_event(t):
                    event_id, joined_by = t, kind
                    role = ROLE_FORWARD if kind in ("forward", "repost") else ROLE_REPORT
            if event_id is None and it.dup is not None:
                for t in self.dup_event.get(it.dup, ()):
                    t = ev.resolve(t)
                    c = ev.clusters.get(t)
                    if c is not None and c.last_ts >= it.ts - ev.window_s:
                        event_id, joined_by, role = t, "duplicate", ROLE_REPORT
                        break

            # stage 1: nearest open event
            cands = ev.best(it.ts, xi2, e_cols, e_vals, e_loc, e_floor) if xi2 else []
            shrink = len(it.vec) / (len(it.vec) + p.short_post_features) if p.short_post_features else 1.0
            if event_id is None and cands and cands[0][0] * shrink >= p.event_threshold:
                sim, event_id = cands[0]
                joined_by, role = "similar", ROLE_REPORT
            if event_id is not None and sim is None and xi2:
                d = ev.dot_with(event_id, i, it.vec, e_cols, e_vals, e_loc)
                loc = ev.local_of.get(event_id)
                n2 = ev.local_norm2[loc] if loc is not None else float(ev.clusters[event_id].norm2)
                sim = d / math.sqrt(n2 * xi2) if n2 else 0.0

            # storyline candidates (needed for a new event, and for storyline merges)
            s_cols, s_vals, s_loc = (
                st.dots(i, it.vec, row)
                if xi2
                else (np.zeros(0, np.int64), np.zeros(0), np.zeros(len(st.local_ids)))
            )
            s_cands = st.best(it.ts, xi2, s_cols, s_vals, s_loc, s_floor) if xi2 else []

            if event_id is None:
                if s_cands and s_cands[0][0] >= p.storyline_threshold:
                    story_id = s_cands[0][1]
                else:
                    story_id = st.create(i, it, xi2)
                    result.storylines_created.add(story_id)
                event_id = ev.create(i, it, xi2, storyline=story_id)
                result.events_created.add(event_id)
            else:
                d = ev.dot_with(event_id, i, it.vec, e_cols, e_vals, e_loc) if xi2 else 0.0
                ev.add(event_id, i, it, d, xi2)
                story_id = st.resolve(ev.clusters[event_id].storyline)
                if story_id not in st.clusters:
                    story_id = st.create(i, it, xi2)
                    ev.clusters[event_id].storyline = story_id
                    result.storylines_created.add(story_id)
            if st.owner[i] < 0:
                d = st.dot_with(story_id, i, it.vec, s_cols, s_vals, s_loc) if xi2 else 0.0
                st.add(story_id, i, it, d, xi2)

            # stage 2: a post that matches two open events well merges them (older survives); storylines too
            for cos, other in cands:
                if cos * shrink < p.event_merge_threshold or (
                    sim is not None and sim * shrink < p.event_merge_threshold
                ):
                    break
                a, b = ev.resolve(event_id), ev.resolve(other)
                if a == b:
                    continue
                self._merge(ev, a, b, items, it, result)
            event_id_now = ev.resolve(event_id)
            story_now = st.resolve(ev.clusters[event_id_now].storyline)
            own = next((c for c, s in s_cands if st.resolve(s) == story_now), 0.0)
            if own >= p.storyline_merge_threshold:
                for cos, other in s_cands:
                    if cos < p.storyline_merge_threshold:
                        break
                    a, b = st.resolve(story_now), st.resolve(other)
                    if a != b:
                        self._merge(st, a, b, items, it, result)
                        story_now = st.resolve(story_now)

            self.post_event[it.key] = event_id
            for kind, ref in it.refs:
                if ref not in self.post_event and kind != "reply":
                    self.ref_event.setdefault(ref, event_id)
            if it.dup is not None:
                holders = self.dup_event.setdefault(it.dup, [])
                if event_id not in holders:
                    holders.append(event_id)
            result.assignments.append(
                Assignment(
                    it.key, it.ts, event_id, story_id, role, joined_by, sim, it.vec, it.dup, it.content_hash
                )
            )
            self.last_order = it.order
        result.events_changed |= ev.finish(items)
        result.storylines_changed |= st.finish(items)

    def _merge(self, level: _Level, a: int, b: int, items: list[Item], it: Item, result: RunResult) -> None:
        ca, cb = level.clusters[a], level.clusters[b]
        dst, src = (a, b) if ca.age <= cb.age else (b, a)
        level.merge(src, dst, items)
        result.merges.append(Merge(level.name, src, dst, it.ts, it.key))
        if level is self.events:
            sa = self.storylines.resolve(level.clusters[dst].storyline)
            sb = self.storylines.resolve(level.clusters[src].storyline)
            if sa != sb and sa in self.storylines.clusters and sb in self.storylines.clusters:
                self._merge(self.storylines, sa, sb, items, it, result)
