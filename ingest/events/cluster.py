"""The streaming grouper: posts in time order -> events (hours) and storylines (days), one post at a time.

For each post, in canonical order (posted_at, platform, channel_id, post_id):

- stage 0, exact links: a forward, repost or quote joins the event of the post it points to (or the event of an
  earlier post pointing to the same unseen original); a near-duplicate text (same `duplicate_key`, or the same
  headline, `lead_key`) joins the open event that already holds that text, however old the event is;
- stage 1, similarity: cosine between the post and each open event's centroid (an event is open while its last
  post is within `window`); the best at or above `event_threshold` wins, else the post starts a new event.
  An event is a candidate only if the post's mean similarity to its posts (dot / (n * SCALE * |x|)) is also at
  least `event_link_threshold`: a centroid made of what its posts share (a city's name, everyday words) is
  close to every post that has them, and without this test it swallows them all (one "Kyiv" event with a
  tenth of a day's posts).
  A new event joins the open storyline whose centroid is nearest (>= `storyline_threshold`), else a new one;
- stage 2, merge: when one post matches two open events at or above `event_merge_threshold` they have converged
  and merge; likewise storylines at `storyline_merge_threshold`. The older cluster (earlier first post) keeps its
  id; the other is recorded as a redirect.

Centroids are sums of the members' integer vectors (see `ingest.events.text`), so every similarity is an exact
integer computation: the same posts give the same groups whether they arrive in one run or in many, in batches
of any size. Batching (`bucket`) only decides how much is computed at once with sparse matrix products.

How the scoring is done (the same answers as comparing each post with every open centroid, faster): the
stored sums of each level live in one append-only buffer (`_Store`); per bucket of posts, one sparse product
over the bucket's own feature columns gives every post's dot product with every stored open sum, and the
candidates above the floor are picked out for the whole bucket at once (a per-cluster bound discards most
entries first). Clusters touched during the bucket get a dense column of exact dot products with the bucket's
posts, updated as members join and clusters merge.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from ingest.events.text import DIM, SCALE, Vector, figures_of

Key = tuple[str, int, int]

# The store of cluster sums is compacted when dead and closed entries outnumber the open ones and this.
COMPACT_MIN = 1 << 18

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
    storyline_threshold: float = 0.25
    storyline_merge_threshold: float = 0.40
    bucket_posts: int = 1024  # posts scored per sparse product; any size gives the same groups
    short_post_features: int = (
        8  # similarity x n/(n+k) for a post with n features: one shared word is weak evidence
    )
    # A post joins (or merges) an event only if its mean similarity to the event's posts, dot / (n * SCALE *
    # |x|), is at least this too: a centroid dominated by a common name (every post that mentions Kyiv)
    # otherwise attracts every post that names it, and grows into one event of ~10 % of a day's posts.
    # Set equal to event_threshold (not tuned); 0 turns the test off.
    event_link_threshold: float = 0.30
    # Bounded events: an event is one happening. Past `event_grace_hours` after its first post, a post needs
    # `event_age_slope` more similarity per hour of the event's age to join by similarity, and none joins by
    # similarity once the event is `event_max_span_hours` old (forwards, reposts and copies still do).
    event_grace_hours: float = 6.0
    event_age_slope: float = 0.015
    event_max_span_hours: float = 48.0
    # Storylines are bounded the same way, over days.
    storyline_grace_hours: float = 72.0
    storyline_age_slope: float = 0.002
    storyline_max_span_hours: float = 7 * 24.0
    # A storyline is a candidate only if the post's mean similarity to its posts is at least this: a
    # centroid of what many posts share (the capital's name, the president's) is otherwise close to them all.
    storyline_link_threshold: float = 0.20
    # A post whose figures (multi-digit numbers) all differ from the figures of an event needs this much more
    # similarity to join it: the rate "above 106" and "above 109" are two moments of one story, not one event.
    figure_conflict: float = 0.15

    def fingerprint(self) -> str:
        from ingest.events import text

        return (
            f"v2 w={self.window_hours} sw={self.storyline_window_hours} e={self.event_threshold} "
            f"em={self.event_merge_threshold} s={self.storyline_threshold} sm={self.storyline_merge_threshold} "
            f"k={self.short_post_features} l={self.event_link_threshold} "
            f"eg={self.event_grace_hours} ea={self.event_age_slope} ex={self.event_max_span_hours} "
            f"sg={self.storyline_grace_hours} sa={self.storyline_age_slope} sx={self.storyline_max_span_hours} "
            f"sl={self.storyline_link_threshold} fc={self.figure_conflict} "
            f"dim={text.DIM_BITS}"
        )

    def event_bar(self, threshold: float, age_s: float) -> float:
        """The similarity a post needs to join (or merge into) an event that started `age_s` seconds before."""
        return _bar(threshold, age_s, self.event_grace_hours, self.event_age_slope, self.event_max_span_hours)

    def storyline_bar(self, threshold: float, age_s: float) -> float:
        return _bar(
            threshold,
            age_s,
            self.storyline_grace_hours,
            self.storyline_age_slope,
            self.storyline_max_span_hours,
        )


def _bar(threshold: float, age_s: float, grace_h: float, slope: float, max_h: float) -> float:
    hours = age_s / 3600.0
    if max_h and hours > max_h:
        return math.inf
    return threshold + slope * max(0.0, hours - grace_h)


@dataclass(slots=True)
class Item:
    """One post to group."""

    key: Key
    ts: float  # posted_at, seconds since the epoch (UTC)
    vec: Vector
    refs: tuple[tuple[str, Key], ...] = ()  # (forward | repost | quote | reply, referenced post)
    dup: int | None = None
    content_hash: int = 0
    lead: int | None = None  # hash of the headline (first line), see `text.lead_key`

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
    lead: int | None = None


@dataclass(slots=True)
class Merge:
    level: str  # event | storyline
    from_id: int
    to_id: int
    ts: float
    key: Key  # the post whose arrival merged them


def _dot(ai: np.ndarray, av: np.ndarray, bi: np.ndarray, bv: np.ndarray) -> int:
    """Exact dot product of two sparse integer vectors with sorted, unique indices."""
    if len(ai) < len(bi):
        ai, av, bi, bv = bi, bv, ai, av
    if not len(bi) or not len(ai):
        return 0
    pos = np.searchsorted(ai, bi)  # the short one looked up in the long one: no sort of both
    pos[pos == len(ai)] = 0
    hit = ai[pos] == bi
    return int(np.dot(av[pos[hit]], bv[hit]))


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


def _merge_sorted(
    ai: np.ndarray, av: np.ndarray, bi: np.ndarray, bv: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact sum of two sparse integer vectors with sorted, unique indices (no re-sort of the big one: a
    storyline's sum has ~10^5 entries and changes every bucket)."""
    if not len(bi):
        return ai, av
    if not len(ai):
        return bi.astype(np.int32), bv.astype(np.int64)
    pos = np.searchsorted(ai, bi)
    hit = pos < len(ai)
    hit[hit] = ai[pos[hit]] == bi[hit]
    val = av.copy()
    val[pos[hit]] += bv[hit]  # positions are unique: bi is
    miss = ~hit
    if miss.any():
        return np.insert(ai, pos[miss], bi[miss]).astype(np.int32), np.insert(val, pos[miss], bv[miss])
    return ai, val


def _sum_members(vecs: Sequence[Vector]) -> tuple[np.ndarray, np.ndarray]:
    if len(vecs) == 1:
        return vecs[0].idx, vecs[0].val
    return add_vectors([(v.idx, v.val) for v in vecs])


def _grown(a: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((max(n, 2 * len(a)), *a.shape[1:]), dtype=a.dtype)
    out[: len(a)] = a
    return out


class _Store:
    """The stored sums of one level's clusters, appended to one buffer: slot k holds a cluster's sum as it was
    at the end of the bucket that last changed it. A change appends a new slot and kills the old one; the
    buffer is compacted when dead and closed slots outweigh the open ones. (Rebuilding a matrix of every open
    cluster for every bucket was the grouper's largest cost.)"""

    def __init__(self) -> None:
        self.idx = np.zeros(1 << 16, np.int32)
        self.val = np.zeros(1 << 16, np.int64)
        self.used = 0
        self.start = np.zeros(1025, np.int64)  # slot k is idx[start[k]:start[k + 1]]
        self.cid = np.zeros(1024, np.int64)
        self.norm2 = np.zeros(1024, np.float64)
        self.last = np.zeros(1024, np.float64)
        self.live = np.zeros(1024, bool)
        self.size = np.zeros(1024, np.float64)  # member count (for the mean-similarity test)
        self.n = 0
        self.slot_of: dict[int, int] = {}

    def put(self, clusters: Sequence[Cluster]) -> None:
        """Store the current sums of these clusters (replacing their older slots)."""
        if not clusters:
            return
        k = len(clusters)
        for c in clusters:
            old = self.slot_of.get(c.id)
            if old is not None:
                self.live[old] = False
        lens = np.fromiter((len(c.idx) for c in clusters), np.int64, k)
        total = int(lens.sum())
        if self.used + total > len(self.idx):
            self.idx = _grown(self.idx, self.used + total)
            self.val = _grown(self.val, self.used + total)
        if self.n + k >= len(self.cid):
            need = self.n + k + 1
            self.start = _grown(self.start, max(need, 2 * len(self.cid)) + 1)
            self.cid, self.norm2 = _grown(self.cid, need), _grown(self.norm2, need)
            self.last, self.live = _grown(self.last, need), _grown(self.live, need)
            self.size = _grown(self.size, need)
        if total:
            self.idx[self.used : self.used + total] = np.concatenate([c.idx for c in clusters])
            self.val[self.used : self.used + total] = np.concatenate([c.val for c in clusters])
        n0 = self.n
        np.cumsum(lens, out=self.start[n0 + 1 : n0 + k + 1])
        self.start[n0 + 1 : n0 + k + 1] += self.used
        self.cid[n0 : n0 + k] = [c.id for c in clusters]
        self.norm2[n0 : n0 + k] = [float(c.norm2) for c in clusters]
        self.last[n0 : n0 + k] = [c.last_ts for c in clusters]
        self.size[n0 : n0 + k] = [max(c.n, 1) for c in clusters]
        self.live[n0 : n0 + k] = True
        for j, c in enumerate(clusters):
            self.slot_of[c.id] = n0 + j
        self.used += total
        self.n += k

    def drop(self, cid: int) -> None:
        k = self.slot_of.pop(cid, None)
        if k is not None:
            self.live[k] = False

    def compact(self, keep: np.ndarray) -> None:
        """Keep only the slots in `keep` (a mask over slots); the others' clusters leave the store."""
        n = self.n
        lens = np.diff(self.start[: n + 1])
        entry_keep = np.repeat(keep, lens)
        self.idx = np.ascontiguousarray(self.idx[: self.used][entry_keep])
        self.val = np.ascontiguousarray(self.val[: self.used][entry_keep])
        self.used = len(self.idx)
        kept = np.nonzero(keep)[0]
        m = len(kept)
        cap = max(2 * m, 1024)
        start = np.zeros(cap + 1, np.int64)
        np.cumsum(lens[kept], out=start[1 : m + 1])
        self.start = start

        def keep_slots(a: np.ndarray) -> np.ndarray:
            out = np.zeros(cap, a.dtype)
            out[:m] = a[kept]
            return out

        self.cid, self.norm2 = keep_slots(self.cid), keep_slots(self.norm2)
        self.last, self.live = keep_slots(self.last), keep_slots(self.live)
        self.size = keep_slots(self.size)
        self.n = m
        self.slot_of = {int(c): j for j, c in enumerate(self.cid[:m].tolist())}
        if len(self.idx) < (1 << 16):
            self.idx, self.val = _grown(self.idx, 1 << 16), _grown(self.val, 1 << 16)


class _Bucket:
    """What both levels share for one bucket: its posts over the bucket's own feature columns."""

    def __init__(self, items: Sequence[Item], lut: np.ndarray):
        self.items = items
        self.B = B = len(items)
        lens = np.fromiter((len(it.vec.idx) for it in items), np.int64, B)
        indptr = np.zeros(B + 1, np.int64)
        np.cumsum(lens, out=indptr[1:])
        if indptr[-1]:
            feats = np.concatenate([it.vec.idx for it in items])
            data = np.concatenate([it.vec.val for it in items])
        else:
            feats, data = np.zeros(0, np.int32), np.zeros(0, np.int64)
        self.F = np.unique(feats)
        self.lut = lut
        lut[self.F] = np.arange(len(self.F), dtype=np.int32)
        # lut is monotonic on F, so each row's columns stay sorted
        self.X = sparse.csr_matrix((data, lut[feats], indptr), shape=(B, len(self.F)))
        self.XT = self.X.T.tocsr()
        self.intra = (self.X @ self.XT).toarray().astype(np.float64)
        self.xi2 = np.fromiter((it.vec.norm2 for it in items), np.float64, B)
        self.ts = np.fromiter((it.ts for it in items), np.float64, B)

    def close(self) -> None:
        self.lut[self.F] = -1

    def dots_with(self, idx: np.ndarray, val: np.ndarray) -> np.ndarray:
        """Exact dot products of every post of the bucket with one sparse vector."""
        col = self.lut[idx] if len(idx) else np.zeros(0, np.int32)
        m = col >= 0
        v = np.zeros(len(self.F), np.int64)
        v[col[m]] = val[m]
        return (self.X @ v).astype(np.float64)


class _Level:
    """One level of clusters (events or storylines) and its bucket-local bookkeeping.

    At a bucket's start the posts' dot products with every stored open sum come from one sparse product, and
    the candidates above the floor are picked out for the whole bucket at once. A cluster touched during the
    bucket becomes "local": a dense column of D holds its exact dot product with every post of the bucket,
    updated as members join (intra-bucket dot products) and as clusters merge."""

    def __init__(self, name: str, window_s: float, new_id: Callable[[], int]):
        self.name = name
        self.window_s = window_s
        self.new_id = new_id
        self.clusters: dict[int, Cluster] = {}
        self.merged: dict[int, int] = {}  # from -> to (loaded redirects and merges of this run)
        self.retired: dict[int, Cluster] = {}  # clusters merged away during this run
        self.store = _Store()
        self.pending: set[int] = set()  # clusters added from outside, not yet in the store

    def resolve(self, cid: int) -> int:
        while cid in self.merged:
            cid = self.merged[cid]
        return cid

    def adopt(self, c: Cluster) -> None:
        """A cluster loaded from outside (stored state)."""
        self.clusters[c.id] = c
        self.pending.add(c.id)

    # ---- bucket start: open clusters' dot products, candidates above the floor
    def begin(self, bk: _Bucket, ts0: float, floor: float) -> None:
        st = self.store
        if self.pending:
            st.put([self.clusters[c] for c in sorted(self.pending) if c in self.clusters])
            self.pending.clear()
        n = st.n
        open_ = st.live[:n] & (st.last[:n] >= ts0 - self.window_s)
        open_nnz = int(np.diff(st.start[: n + 1])[open_].sum()) if n else 0
        if st.used - open_nnz > max(open_nnz, COMPACT_MIN):
            st.compact(open_)
            n = st.n
            open_ = np.ones(n, bool)
        self.bk = bk
        B = bk.B
        if n and st.used and len(bk.F):
            col = bk.lut[st.idx[: st.used]]
            keep = col >= 0
            cs = np.zeros(st.used + 1, np.int64)
            np.cumsum(keep, out=cs[1:])
            C = sparse.csr_matrix(
                (st.val[: st.used][keep], col[keep], cs[st.start[: n + 1]]), shape=(n, len(bk.F))
            )
            self.ST = (C @ bk.XT).tocsr()  # slot x post
        else:
            self.ST = sparse.csr_matrix((n, B), dtype=np.int64)
        ST = self.ST
        # Candidates among the untouched open clusters, for every post at once (the per-post test of the
        # original one-post-at-a-time loop, same float operations). A per-slot bound first: cos >= floor
        # needs dot >= floor * |c| * min |x| (the margin covers rounding), which rejects most entries cheaply.
        if ST.nnz and n:
            min_x = float(np.sqrt(bk.xi2[bk.xi2 > 0].min())) if (bk.xi2 > 0).any() else 0.0
            thr = floor * np.sqrt(st.norm2[:n]) * min_x * (1.0 - 1e-9)
            thr[~open_] = np.inf
            hit = np.nonzero(ST.data >= np.repeat(thr, np.diff(ST.indptr)))[0]
        else:
            hit = np.zeros(0, np.int64)
        rows = np.searchsorted(ST.indptr, hit, side="right") - 1
        cols = ST.indices[hit]
        cos = ST.data[hit].astype(np.float64) / np.sqrt(st.norm2[rows] * bk.xi2[cols])
        sel = cos >= floor
        sel[sel] = st.last[rows[sel]] >= bk.ts[cols[sel]] - self.window_s
        k_sel, i_sel, c_sel, d_sel = rows[sel], cols[sel], cos[sel], ST.data[hit][sel]
        order = np.argsort(i_sel, kind="stable")
        self.cand_k, self.cand_cos, self.cand_dot = k_sel[order], c_sel[order], d_sel[order]
        self.cand_ptr = np.searchsorted(i_sel[order], np.arange(B + 1))
        self.col2local = np.full(n, -1, dtype=np.int64)
        self.local_ids: list[int] = []
        self.local_of: dict[int, int] = {}
        cap = min(B, 64) + 8
        self.D = np.zeros((B, cap), np.float64)
        self.local_norm2 = np.zeros(cap, dtype=np.float64)
        self.local_last = np.zeros(cap, dtype=np.float64)
        self.local_alive = np.zeros(cap, dtype=bool)
        self.local_size = np.zeros(cap, dtype=np.float64)
        self.owner = np.full(B, -1, dtype=np.int64)  # bucket item -> local cluster

    def _local(self, cid: int) -> int:
        loc = self.local_of.get(cid)
        if loc is not None:
            return loc
        loc = len(self.local_ids)
        if loc >= len(self.local_norm2):
            cap = 2 * len(self.local_norm2)
            D = np.zeros((self.bk.B, cap), np.float64)
            D[:, :loc] = self.D[:, :loc]
            self.D = D
            self.local_norm2 = _grown(self.local_norm2, cap)
            self.local_last = _grown(self.local_last, cap)
            self.local_alive = _grown(self.local_alive, cap)
            self.local_size = _grown(self.local_size, cap)
        self.local_ids.append(cid)
        self.local_of[cid] = loc
        c = self.clusters[cid]
        k = self.store.slot_of.get(cid)
        if k is not None and k < len(self.col2local):
            self.col2local[k] = loc
            lo, hi = self.ST.indptr[k], self.ST.indptr[k + 1]
            self.D[self.ST.indices[lo:hi], loc] = self.ST.data[lo:hi]
        elif len(c.idx):
            self.D[:, loc] = self.bk.dots_with(c.idx, c.val)
        self.local_norm2[loc] = float(c.norm2)
        self.local_last[loc] = c.last_ts
        self.local_alive[loc] = True
        self.local_size[loc] = max(c.n, 1)
        return loc

    def best(
        self, i: int, ts: float, xi2: float, floor: float, link: float = 0.0
    ) -> list[tuple[float, int, float]]:
        """(cosine, cluster id, dot product) of open candidates at or above `floor` whose mean similarity to
        the cluster's members, dot / (n * SCALE * |x|), is at least `link`; best first (ties: older first).
        Every candidate is kept, so the answer does not depend on how posts were batched."""
        out: list[tuple[float, int, float]] = []
        unit = SCALE * math.sqrt(xi2)
        lo, hi = self.cand_ptr[i], self.cand_ptr[i + 1]
        if hi > lo:
            ks = self.cand_k[lo:hi]
            keep = (self.col2local[ks] < 0) & (self.cand_cos[lo:hi] >= floor)  # floor may be the post's own
            dots = self.cand_dot[lo:hi]
            if link:
                keep &= dots / (self.store.size[ks] * unit) >= link
            cid = self.store.cid
            out.extend(
                (float(c), int(cid[k]), float(d))
                for c, k, d in zip(self.cand_cos[lo:hi][keep], ks[keep], dots[keep], strict=True)
            )
        n = len(self.local_ids)
        if n:
            d = self.D[i, :n]
            nz = np.nonzero((d > 0) & self.local_alive[:n] & (self.local_last[:n] >= ts - self.window_s))[0]
            if len(nz):
                cos = d[nz] / np.sqrt(self.local_norm2[nz] * xi2)
                ok = cos >= floor
                if link:
                    ok &= d[nz] / (self.local_size[nz] * unit) >= link
                out.extend(
                    (float(cos[t]), self.local_ids[int(nz[t])], float(d[nz[t]])) for t in np.nonzero(ok)[0]
                )
        if len(out) > 1:
            out.sort(key=lambda t: (-t[0], self.clusters[t[1]].age))
        return out

    def dot_with(self, cid: int, i: int) -> float:
        """Exact dot product of post i with cluster `cid` as it is now (the post is about to join it)."""
        loc = self._local(cid)  # first: it may grow D
        return float(self.D[i, loc])

    def norm2_of(self, cid: int) -> float:
        loc = self.local_of.get(cid)
        return self.local_norm2[loc] if loc is not None else float(self.clusters[cid].norm2)

    def add(self, cid: int, i: int, item: Item, dot: float, xi2: float) -> None:
        loc = self._local(cid)
        self.local_norm2[loc] += 2.0 * dot + xi2
        self.owner[i] = loc
        self.D[:, loc] += self.bk.intra[:, i]
        c = self.clusters[cid]
        c.n += 1
        self.local_size[loc] = c.n
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
        members = np.nonzero(self.owner == loc)[0] if loc is not None else ()
        if not len(members):
            return c.idx, c.val
        mi, mv = _sum_members([items[j].vec for j in members])
        return _merge_sorted(c.idx, c.val, mi, mv)

    def merge(self, src: int, dst: int, items: Sequence[Item]) -> None:
        """Fold cluster `src` into `dst` (both current) in the middle of a bucket, exactly."""
        a_i, a_v = self.materialize(src, items)
        b_i, b_v = self.materialize(dst, items)
        cross = _dot(a_i, a_v, b_i, b_v)
        ls, ld = self._local(src), self._local(dst)
        self.local_norm2[ld] = self.local_norm2[ld] + self.local_norm2[ls] + 2.0 * cross
        self.owner[self.owner == ls] = ld
        self.D[:, ld] += self.D[:, ls]
        s, d = self.clusters[src], self.clusters[dst]
        d.n += s.n
        self.local_size[ld] = max(d.n, 1)
        d.last_ts = max(d.last_ts, s.last_ts)
        # The source's stored sum travels with it: dst's stored sum becomes both (pending members stay pending).
        d.idx, d.val = _merge_sorted(d.idx, d.val, s.idx, s.val)
        s.idx, s.val = np.zeros(0, np.int32), np.zeros(0, np.int64)
        self.merged[src] = dst
        self.local_alive[ls] = False
        self.local_last[ld] = d.last_ts

    def finish(self, items: Sequence[Item]) -> set[int]:
        """Bucket end: fold pending members into the stored sums; returns the clusters changed."""
        changed = set()
        owners = self.owner
        order = np.argsort(owners, kind="stable")
        bounds = np.searchsorted(owners[order], np.arange(len(self.local_ids) + 1))
        current: list[Cluster] = []
        for loc, cid in enumerate(self.local_ids):
            changed.add(cid)
            if self.resolve(cid) != cid:
                continue
            members = order[bounds[loc] : bounds[loc + 1]]
            c = self.clusters[cid]
            if len(members):
                mi, mv = _sum_members([items[j].vec for j in members])
                c.idx, c.val = _merge_sorted(c.idx, c.val, mi, mv)
            c.norm2 = int(np.dot(c.val, c.val))
            current.append(c)
        for cid in list(self.merged):
            c = self.clusters.pop(cid, None)
            if c is not None:
                self.retired[cid] = c
                self.store.drop(cid)
                self.pending.discard(cid)
        self.store.put(current)
        self.pending.difference_update(c.id for c in current)
        self.bk = None  # type: ignore[assignment]
        self.ST = None  # type: ignore[assignment]
        return changed

    def expire(self, before_ts: float) -> None:
        """Forget clusters closed long ago (they can still be re-loaded on demand by the caller)."""
        for cid in [c.id for c in self.clusters.values() if c.last_ts < before_ts]:
            del self.clusters[cid]
            self.store.drop(cid)


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
        self._lut: np.ndarray | None = None
        self.load_event = load_event
        self.load_storyline = load_storyline
        self.last_order: tuple | None = None

    # ---- state loading
    def add_event(self, c: Cluster) -> None:
        self.events.adopt(c)

    def add_storyline(self, c: Cluster) -> None:
        self.storylines.adopt(c)

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
        self.events.adopt(c)
        if c.storyline is not None:
            sid = self.storylines.resolve(c.storyline)
            if sid not in self.storylines.clusters:
                s = self.load_storyline(sid) if self.load_storyline else None
                if s is not None:
                    self.storylines.adopt(s)
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
        if self._lut is None:
            self._lut = np.full(DIM, -1, dtype=np.int32)  # feature -> column of the current bucket
        bk = _Bucket(items, self._lut)
        try:
            self._bucket_loop(items, bk, result)
        finally:
            bk.close()

    def _bucket_loop(self, items: list[Item], bk: _Bucket, result: RunResult) -> None:
        p = self.params
        ts0 = items[0].ts
        ev, st = self.events, self.storylines
        e_floor = min(p.event_threshold, p.event_merge_threshold)
        s_floor = min(p.storyline_threshold, p.storyline_merge_threshold)
        ev.begin(bk, ts0, e_floor)
        st.begin(bk, ts0, s_floor)
        for i, it in enumerate(items):
            xi2 = float(it.vec.norm2)
            event_id, joined_by, role = self._linked_event(it)
            sim: float | None = None

            # stage 1: the open event whose centroid the post matches best, above the bar for the event's age
            shrink = len(it.vec) / (len(it.vec) + p.short_post_features) if p.short_post_features else 1.0
            # Only candidates with cos * shrink at or above a threshold can be joined or merged: a floor of
            # e_floor / shrink (a hair lower, so rounding cannot drop one) keeps the candidate lists short.
            post_floor = e_floor / shrink * (1 - 1e-9) if 0 < shrink < 1 else e_floor
            cands = ev.best(i, it.ts, xi2, post_floor, p.event_link_threshold) if xi2 else []
            if event_id is None:
                figs = figures_of(it.vec.idx) if p.figure_conflict else ()
                for cos, cid, _ in cands:
                    bar = p.event_bar(p.event_threshold, it.ts - ev.clusters[cid].first_ts)
                    if cos * shrink < bar:
                        continue
                    if (
                        len(figs)
                        and cos * shrink < bar + p.figure_conflict
                        and self._figures_differ(figs, cid, items)
                    ):
                        continue
                    sim, event_id, joined_by, role = cos, cid, "similar", ROLE_REPORT
                    break
            if event_id is not None and sim is None and xi2:
                d = ev.dot_with(event_id, i)
                n2 = ev.norm2_of(event_id)
                sim = d / math.sqrt(n2 * xi2) if n2 else 0.0

            # storyline candidates (needed for a new event, and for storyline merges)
            s_cands = [
                c for c in (st.best(i, it.ts, xi2, s_floor, p.storyline_link_threshold) if xi2 else [])
                if c[0] >= p.storyline_bar(s_floor, it.ts - st.clusters[c[1]].first_ts)
            ]  # fmt: skip
            story_id = self._place(i, it, event_id, s_cands, xi2, result)
            if event_id is None:
                event_id = ev.create(i, it, xi2, storyline=story_id)
                result.events_created.add(event_id)
            else:
                d = ev.dot_with(event_id, i) if xi2 else 0.0
                ev.add(event_id, i, it, d, xi2)
            if st.owner[i] < 0:
                d = st.dot_with(story_id, i) if xi2 else 0.0
                st.add(story_id, i, it, d, xi2)

            self._merge_converged(i, it, items, event_id, sim, shrink, cands, s_cands, result)
            self._remember(it, event_id)
            result.assignments.append(
                Assignment(
                    it.key,
                    it.ts,
                    event_id,
                    story_id,
                    role,
                    joined_by,
                    sim,
                    it.vec,
                    it.dup,
                    it.content_hash,
                    it.lead,
                )
            )
            self.last_order = it.order
        result.events_changed |= ev.finish(items)
        result.storylines_changed |= st.finish(items)

    def _figures_differ(self, figs: np.ndarray, cid: int, items: list[Item]) -> bool:
        """Whether the event has figures and shares none with the post (exact: the event's current sum)."""
        idx, _ = self.events.materialize(cid, items)
        theirs = figures_of(idx)
        return bool(len(theirs)) and not np.isin(figs, theirs, assume_unique=True).any()

    def _linked_event(self, it: Item) -> tuple[int | None, str, str]:
        """Stage 0: the event a post joins whatever its text: the event of a post it forwards, reposts, quotes
        or replies to (or of earlier forwards of it), else of an earlier copy of its cleaned text."""
        ev = self.events
        target = self.event_of(it.key) if it.key in self.post_event else None
        if target is None and it.key in self.ref_event:
            target = ev.resolve(self.ref_event[it.key])  # forwards of this post came first
            if self._ensure_event(target):
                return target, "forwarded", ROLE_REPORT
        for kind, ref in it.refs:
            t = self.event_of(ref)
            if t is None and ref in self.ref_event:
                t = ev.resolve(self.ref_event[ref])
            if t is not None and self._ensure_event(t):
                return t, kind, (ROLE_FORWARD if kind in ("forward", "repost") else ROLE_REPORT)
        for key in (it.dup, it.lead):
            if key is None:
                continue
            for t in self.dup_event.get(key, ()):
                t = ev.resolve(t)
                c = ev.clusters.get(t)
                if c is not None and c.last_ts >= it.ts - ev.window_s:
                    return t, "duplicate", ROLE_REPORT
        return None, "new", ROLE_ORIGIN

    def _place(
        self, i: int, it: Item, event_id: int | None, s_cands: list, xi2: float, result: RunResult
    ) -> int:
        """The storyline of the post: its event's, else the best open storyline, else a new one."""
        st = self.storylines
        if event_id is None:
            if s_cands and s_cands[0][0] >= self.params.storyline_threshold:
                return s_cands[0][1]
            sid = st.create(i, it, xi2)
            result.storylines_created.add(sid)
            return sid
        c = self.events.clusters[event_id]
        sid = st.resolve(c.storyline)
        if sid not in st.clusters:
            sid = st.create(i, it, xi2)
            c.storyline = sid
            result.storylines_created.add(sid)
        return sid

    def _merge_converged(
        self, i: int, it: Item, items: list[Item], event_id: int, sim: float | None, shrink: float,
        cands: list, s_cands: list, result: RunResult,
    ) -> None:  # fmt: skip
        """Stage 2: a post that matches two open events well merges them (older survives); storylines too."""
        p = self.params
        ev, st = self.events, self.storylines
        for cos, other, _ in cands:
            if cos * shrink < p.event_merge_threshold or (
                sim is not None and sim * shrink < p.event_merge_threshold
            ):
                break
            a, b = ev.resolve(event_id), ev.resolve(other)
            if a == b:
                continue
            # both must be young enough for this post to count as evidence that they are one happening
            bar_a = p.event_bar(p.event_merge_threshold, it.ts - ev.clusters[a].first_ts)
            bar_b = p.event_bar(p.event_merge_threshold, it.ts - ev.clusters[b].first_ts)
            if cos * shrink < bar_b or (sim is not None and sim * shrink < bar_a):
                continue
            self._merge(ev, a, b, items, it, result)
        story_now = st.resolve(ev.clusters[ev.resolve(event_id)].storyline)
        own = next((c for c, s, _ in s_cands if st.resolve(s) == story_now), 0.0)
        if own >= p.storyline_merge_threshold:
            for cos, other, _ in s_cands:
                if cos < p.storyline_merge_threshold:
                    break
                a, b = st.resolve(story_now), st.resolve(other)
                if a != b and cos >= p.storyline_bar(
                    p.storyline_merge_threshold, it.ts - st.clusters[b].first_ts
                ):
                    self._merge(st, a, b, items, it, result)
                    story_now = st.resolve(story_now)

    def _remember(self, it: Item, event_id: int) -> None:
        """What stage 0 needs of this post later: its event, for forwards of posts it references, its copy key."""
        self.post_event[it.key] = event_id
        for kind, ref in it.refs:
            if ref not in self.post_event and kind != "reply":
                self.ref_event.setdefault(ref, event_id)
        for key in (it.dup, it.lead):
            if key is not None:
                holders = self.dup_event.setdefault(key, [])
                if event_id not in holders:
                    holders.append(event_id)

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
