"""Exact sparse sums for the grouper: the stored sums of one level's clusters (`Store`), one bucket of posts over
its own feature columns (`Bucket`), and one level of clusters with its bucket-local bookkeeping (`Level`).

Every value is an integer, so every dot product is exact and the groups do not depend on batching.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse

from ingest.events.records import Cluster, Item, age_bar, past_span
from ingest.events.text import SCALE, Vector

# The store of cluster sums is compacted when dead and closed entries outnumber the open ones and this.
COMPACT_MIN = 1 << 18


def dot(ai: np.ndarray, av: np.ndarray, bi: np.ndarray, bv: np.ndarray) -> int:
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


def find_sorted(sorted_idx: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `idx` is in the sorted, unique `sorted_idx`, and whether it is there: a binary search for
    each (a day's posts have ~10^5 features; sorting them with the window's, as `np.isin` does, costs more)."""
    if not len(sorted_idx):
        return np.zeros(len(idx), np.int64), np.zeros(len(idx), bool)
    pos = np.minimum(np.searchsorted(sorted_idx, idx), len(sorted_idx) - 1)
    return pos, sorted_idx[pos] == idx


def _any_in(sorted_idx: np.ndarray, feats: np.ndarray) -> bool:
    """Whether any of `feats` is in the sorted, unique `sorted_idx`."""
    return bool(len(feats)) and bool(find_sorted(sorted_idx, feats)[1].any())


def _sum_members(vecs: Sequence[Vector]) -> tuple[np.ndarray, np.ndarray]:
    if len(vecs) == 1:
        return vecs[0].idx, vecs[0].val
    return add_vectors([(v.idx, v.val) for v in vecs])


def _grown(a: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((max(n, 2 * len(a)), *a.shape[1:]), dtype=a.dtype)
    out[: len(a)] = a
    return out


class Store:
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
        self.first = np.zeros(1024, np.float64)  # first post's time (it only moves earlier: merges)
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
            self.size, self.first = _grown(self.size, need), _grown(self.first, need)
        if total:
            self.idx[self.used : self.used + total] = np.concatenate([c.idx for c in clusters])
            self.val[self.used : self.used + total] = np.concatenate([c.val for c in clusters])
        n0 = self.n
        np.cumsum(lens, out=self.start[n0 + 1 : n0 + k + 1])
        self.start[n0 + 1 : n0 + k + 1] += self.used
        self.cid[n0 : n0 + k] = [c.id for c in clusters]
        self.norm2[n0 : n0 + k] = [float(c.norm2) for c in clusters]
        self.last[n0 : n0 + k] = [c.last_ts for c in clusters]
        self.first[n0 : n0 + k] = [c.first_ts for c in clusters]
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
        self.size, self.first = keep_slots(self.size), keep_slots(self.first)
        self.n = m
        self.slot_of = {int(c): j for j, c in enumerate(self.cid[:m].tolist())}
        if len(self.idx) < (1 << 16):
            self.idx, self.val = _grown(self.idx, 1 << 16), _grown(self.val, 1 << 16)


class Bucket:
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
        self.intra: np.ndarray | None = None  # see `compute_intra`: off the main thread when there is one
        self.xi2 = np.fromiter((it.vec.norm2 for it in items), np.float64, B)
        self.ts = np.fromiter((it.ts for it in items), np.float64, B)

    def compute_intra(self) -> None:
        """The bucket's posts' dot products with each other (symmetric: row i is post i's column)."""
        self.intra = (self.X @ self.XT).toarray().astype(np.float64)

    def close(self) -> None:
        self.lut[self.F] = -1

    def dots_with(self, idx: np.ndarray, val: np.ndarray) -> np.ndarray:
        """Exact dot products of every post of the bucket with one sparse vector."""
        col = self.lut[idx] if len(idx) else np.zeros(0, np.int32)
        m = col >= 0
        v = np.zeros(len(self.F), np.int64)
        v[col[m]] = val[m]
        return (self.X @ v).astype(np.float64)


class Level:
    """One level of clusters (events or storylines) and its bucket-local bookkeeping.

    At a bucket's start the posts' dot products with every stored open sum come from one sparse product, and
    the candidates above the floor are picked out for the whole bucket at once. A cluster touched during the
    bucket becomes "local": a dense row of D holds its exact dot product with every post of the bucket,
    updated as members join (intra-bucket dot products) and as clusters merge."""

    def __init__(self, name: str, window_s: float, new_id: Callable[[], int]):
        self.name = name
        self.window_s = window_s
        self.new_id = new_id
        self.clusters: dict[int, Cluster] = {}
        self.merged: dict[int, int] = {}  # from -> to (loaded redirects and merges of this run)
        self.retired: dict[int, Cluster] = {}  # clusters merged away during this run
        self.store = Store()
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
    def begin(
        self, bk: Bucket, ts0: float, floor: float, max_span_h: float = 0.0,
        young: tuple[float, float] | None = None, aging: tuple[float, float] | None = None,
    ) -> None:  # fmt: skip
        """`max_span_h`: a cluster past its span (`records.past_span`) at the bucket's first post (`ts0`) takes
        no post of the bucket by similarity, so it stays out of the product; a post linked to it (a forward, a
        copy) still reaches it, through `_local`. `young` (floor, seconds): a cluster whose first post is at most
        that many seconds before one of the bucket's posts is a candidate from that lower floor on. `aging`
        (grace hours, slope a hour): a cluster is a candidate from the bar of its age at `ts0` on
        (`records.age_bar` of `floor`), the least any post of the bucket needs to join or merge with it by
        similarity: every use of the candidates asks at least that much (the bars only rise with age)."""
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
        # Only open slots can be candidates, so only they enter the product (closed and dead slots waiting
        # for a compaction were a fifth of the rows); `row_of` maps a slot to its row of ST. Nor can a cluster
        # past its span at the earliest post (ts0), where its age is smallest: it is past it for every post.
        if max_span_h:
            open_ = open_ & ~past_span(ts0 - st.first[:n], max_span_h)
        slots = np.nonzero(open_)[0]
        self.row_of = np.full(n, -1, dtype=np.int64)
        self.row_of[slots] = np.arange(len(slots))
        if len(slots) and st.used and len(bk.F):
            lo, hi = int(st.start[slots[0]]), int(st.start[slots[-1] + 1])
            col = bk.lut[st.idx[lo:hi]]
            keep = col >= 0
            if len(slots) < slots[-1] - slots[0] + 1:
                keep &= np.repeat(
                    open_[slots[0] : slots[-1] + 1], np.diff(st.start[slots[0] : slots[-1] + 2])
                )
            cs = np.zeros(hi - lo + 1, np.int64)
            np.cumsum(keep, out=cs[1:])
            C = sparse.csr_matrix(
                (st.val[lo:hi][keep], col[keep], np.append(cs[st.start[slots] - lo], cs[-1])),
                shape=(len(slots), len(bk.F)),
            )
            self.ST = (C @ bk.XT).tocsr()  # open slot x post
        else:
            self.ST = sparse.csr_matrix((len(slots), B), dtype=np.int64)
        ST = self.ST
        # Candidates among the untouched open clusters, for every post at once (the per-post test of the
        # original one-post-at-a-time loop, same float operations). A per-slot bound first: cos >= floor
        # needs dot >= floor * |c| * min |x| (the margin covers rounding), which rejects most entries cheaply.
        if aging is not None and len(slots):
            floors = age_bar(floor, ts0 - st.first[slots], *aging)
        else:
            floors = np.full(len(slots), floor)
        if young is not None and young[0] < floor and len(slots):
            # Young for some post of the bucket: for its first, the earliest (posts come in time order).
            floors[st.first[slots] >= bk.ts[0] - young[1]] = young[0]
        if ST.nnz and n:
            min_x = float(np.sqrt(bk.xi2[bk.xi2 > 0].min())) if (bk.xi2 > 0).any() else 0.0
            thr = floors * np.sqrt(st.norm2[slots]) * min_x * (1.0 - 1e-9)
            # The dot products are integers: compared with the bound's ceiling as integers, not each cast to a float.
            thr = np.ceil(thr).astype(ST.data.dtype)
            hit = np.nonzero(ST.data >= np.repeat(thr, np.diff(ST.indptr)))[0]
        else:
            hit = np.zeros(0, np.int64)
        at = np.searchsorted(ST.indptr, hit, side="right") - 1
        rows = slots[at]
        cols = ST.indices[hit]
        cos = ST.data[hit].astype(np.float64) / np.sqrt(st.norm2[rows] * bk.xi2[cols])
        sel = cos >= floors[at]
        sel[sel] = st.last[rows[sel]] >= bk.ts[cols[sel]] - self.window_s
        k_sel, i_sel, c_sel, d_sel = rows[sel], cols[sel], cos[sel], ST.data[hit][sel]
        order = np.argsort(i_sel, kind="stable")
        self.cand_k, self.cand_cos, self.cand_dot = k_sel[order], c_sel[order], d_sel[order]
        self.cand_ptr = np.searchsorted(i_sel[order], np.arange(B + 1))
        self.col2local = np.full(n, -1, dtype=np.int64)
        self.local_ids: list[int] = []
        self.local_of: dict[int, int] = {}
        # `materialize`'s last answer a cluster: (how many of its pending members it holds, idx, val).
        self._sums: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}
        cap = min(B, 64) + 8
        # Cluster-major (one row per local cluster): a member joining adds a contiguous row, where a column
        # of a post-major array strode a page per post.
        self.D = np.zeros((cap, B), np.float64)
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
            D = np.zeros((cap, self.bk.B), np.float64)
            D[:loc] = self.D[:loc]
            self.D = D
            self.local_norm2 = _grown(self.local_norm2, cap)
            self.local_last = _grown(self.local_last, cap)
            self.local_alive = _grown(self.local_alive, cap)
            self.local_size = _grown(self.local_size, cap)
        self.local_ids.append(cid)
        self.local_of[cid] = loc
        c = self.clusters[cid]
        k = self.store.slot_of.get(cid)
        row = self.row_of[k] if k is not None and k < len(self.row_of) else -1
        if row >= 0:
            self.col2local[k] = loc
            lo, hi = self.ST.indptr[row], self.ST.indptr[row + 1]
            self.D[loc, self.ST.indices[lo:hi]] = self.ST.data[lo:hi]
        elif len(c.idx):  # a closed slot (a link can join a closed event) or a cluster not yet stored
            self.D[loc] = self.bk.dots_with(c.idx, c.val)
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
            d = self.D[:n, i]
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
        return float(self.D[loc, i])

    def norm2_of(self, cid: int) -> float:
        loc = self.local_of.get(cid)
        return self.local_norm2[loc] if loc is not None else float(self.clusters[cid].norm2)

    def add(self, cid: int, i: int, item: Item, dot: float, xi2: float) -> None:
        loc = self._local(cid)
        self.local_norm2[loc] += 2.0 * dot + xi2
        self.owner[i] = loc
        self.D[loc] += self.bk.intra[i]  # intra's row i equals its column i (symmetric)
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

    def _pending(self, cid: int) -> np.ndarray:
        """The bucket's posts added to the cluster since its sum was last stored."""
        loc = self.local_of.get(cid)
        return np.nonzero(self.owner == loc)[0] if loc is not None else np.zeros(0, np.int64)

    def current_features(
        self, cid: int, items: Sequence[Item], part: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """`part` of the feature indices of the cluster's current sum (stored sum and pending members), without
        adding up their values: cheaper than `materialize` when only which features are present matters."""
        parts = [part(self.clusters[cid].idx), *(part(items[j].vec.idx) for j in self._pending(cid))]
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def holds_any(self, cid: int, items: Sequence[Item], feats: np.ndarray) -> bool:
        """Whether the cluster's current sum (stored sum and pending members) has any of the sorted `feats`: a
        binary search in each sorted part, without concatenating or sorting them."""
        if _any_in(self.clusters[cid].idx, feats):
            return True
        return any(_any_in(items[j].vec.idx, feats) for j in self._pending(cid))

    def materialize(self, cid: int, items: Sequence[Item]) -> tuple[np.ndarray, np.ndarray]:
        """The cluster's current sum: its stored sum plus members added in this bucket. Members join in the
        bucket's order, so a sum asked for again only adds those that joined since (tag threads ask for a
        long storyline's sum post after post); a merge forgets the two clusters' sums."""
        c = self.clusters[cid]
        members = self._pending(cid)
        if not len(members):
            return c.idx, c.val
        known = self._sums.get(cid)
        if known is not None and known[0] <= len(members):
            k, idx, val = known
            if k < len(members):
                mi, mv = _sum_members([items[j].vec for j in members[k:]])
                idx, val = _merge_sorted(idx, val, mi, mv)
        else:
            mi, mv = _sum_members([items[j].vec for j in members])
            idx, val = _merge_sorted(c.idx, c.val, mi, mv)
        self._sums[cid] = (len(members), idx, val)
        return idx, val

    def merge(self, src: int, dst: int, items: Sequence[Item]) -> None:
        """Fold cluster `src` into `dst` (both current) in the middle of a bucket, exactly."""
        a_i, a_v = self.materialize(src, items)
        b_i, b_v = self.materialize(dst, items)
        self._sums.pop(src, None)
        self._sums.pop(dst, None)
        cross = dot(a_i, a_v, b_i, b_v)
        both = _merge_sorted(b_i, b_v, a_i, a_v)
        ls, ld = self._local(src), self._local(dst)
        self.local_norm2[ld] = self.local_norm2[ld] + self.local_norm2[ls] + 2.0 * cross
        self.owner[self.owner == ls] = ld
        self.D[ld] += self.D[ls]
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
        # dst's pending members are now both clusters', and later members join after them: the sum of both
        # is its materialized sum.
        self._sums[dst] = (int(np.count_nonzero(self.owner == ld)), *both)

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
