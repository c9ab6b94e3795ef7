"""Rarity weights for the event level: a post's features weighted by how rare they were in the days before it.

A word every channel uses every day ("Moscow", "Russia", "drones", the rouble) says little about which happening
a post reports; a place name or a surname seen twice in two weeks says a lot. The event level therefore reads
each post's vector (`ingest.events.text`) with every feature's weight multiplied by its inverse document
frequency, `1 + ln((N + 1) / (df + 1))`, where N is the number of posts of the `WINDOW_DAYS` whole UTC days
before the post's day and df the number of those posts that have the feature. The vector is then L2-normalised
and quantised again, so dot products stay exact integers. Storylines keep the plain vector (`Item.svec`): the
words a situation repeats for days are what holds a storyline together.

The same counts say which of a post's features were *hot* the day before its own (`hot_features`): had by at
least a few posts of that day and by many times more than the day's share of the window before it. A situation
that develops over days (a currency's fall, a cyclone, an offensive) makes its words burst; a daily beat (the
evening's rate, the weather, the night's drone count) does not. Storylines past their first day take a new event
only on such a word (`ingest.events.cluster.Params.storyline_key_grace_hours`).

The counts depend only on which posts of those earlier days exist, not on how runs were batched: a post's
weights are fixed once the days before its own are, and a late post changes only the days after its own, which
the replay it causes regroups. Without earlier days (a demo day, a pair of articles) every weight is the same
and the vector is unchanged.

A day's counts over the posts grouped before a run come from `ingest.warehouse.rarity_days`; this module is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse

from ingest.events.records import Item
from ingest.events.sums import find_sorted
from ingest.events.text import FIGURE_BASE, NAMED_BASE, SCALE, Vector

DAY = 86400
#: Days of posts a post's rarity weights are counted over (the whole UTC days before its own).
WINDOW_DAYS = 14
#: Posts in the window from which the weights count in full; below, `share` = posts / FULL_POSTS of the log.
FULL_POSTS = 1000
#: Days the burst test's daily mean is taken over at least (`_hots`), when fewer earlier days hold posts.
HOT_MIN_DAYS = 5
#: The last days before a post's own whose bursts count for it (`_hots`): the day before, and the one before that.
HOT_DAYS = 2


@dataclass(frozen=True, slots=True)
class DayCounts:
    """How many posts a UTC day holds and, per feature present in any of them, in how many."""

    posts: int
    idx: np.ndarray  # int32, sorted, unique
    cnt: np.ndarray  # int64, same length

    @staticmethod
    def of(vectors: Sequence[Vector]) -> DayCounts:
        parts = [v.idx for v in vectors if len(v)]
        if not parts:
            return DayCounts(len(vectors), np.zeros(0, np.int32), np.zeros(0, np.int64))
        idx, cnt = np.unique(np.concatenate(parts), return_counts=True)
        return DayCounts(len(vectors), idx.astype(np.int32), cnt.astype(np.int64))


def day_of(ts: float) -> int:
    """The UTC day (days since the epoch) of a time in seconds."""
    return int(ts // DAY)


def run_days(items: Sequence[Item], by_day: Mapping[int, list[int]] | None = None) -> dict[int, DayCounts]:
    """Each day's counts over the run's own posts (by their plain vectors); `by_day`: their positions by day, when
    the caller has them (`_by_day`)."""
    by_day = _by_day(items) if by_day is None else by_day
    return {d: DayCounts.of([items[i].story_vec for i in members]) for d, members in by_day.items()}


def _by_day(items: Sequence[Item]) -> dict[int, list[int]]:
    """The items' positions, by their UTC day."""
    out: dict[int, list[int]] = {}
    for i, it in enumerate(items):
        out.setdefault(day_of(it.ts), []).append(i)
    return out


def needed_days(days: Iterable[int], window_days: int = WINDOW_DAYS) -> list[int]:
    """The days whose counts weigh the posts of `days`: the `window_days` before each of them."""
    return sorted({k for d in days for k in range(d - window_days, d)})


def weigh(
    items: Sequence[Item],
    earlier: Mapping[int, DayCounts] | None = None,
    window_days: int = WINDOW_DAYS,
    full_posts: int = FULL_POSTS,
    anchor_df: int | None = None,
    hot: tuple[int, float] | None = None,
) -> tuple[list[Item], dict[int, DayCounts]]:
    """The items with `vec` weighted by rarity and `svec` the plain vector they came with, and the counts of
    every day that weighed them or holds one of them (`earlier` plus the run's own posts).

    `earlier[day]` is a day's counts over posts that are not among `items` (grouped before the run); the run's
    own posts are counted here. `window_days` 0 returns the items unchanged. A window of fewer than
    `full_posts` posts weighs in part (`Item.rarity` < 1): frequencies over a few posts say little. With
    `anchor_df`, a post over a full window also gets `Item.rare`: its features that at most that many of the
    window's posts had. With `hot` = (min_posts, ratio), such a post also gets `Item.hot` (`hot_features`)."""
    if not window_days or not items:
        return list(items), {}
    by_day = _by_day(items)
    own = run_days(items, by_day)
    days = sorted(set(needed_days(own, window_days)) | set(own))
    # One sparse matrix of (day, feature) counts from both sources, duplicates summed; a window's counts are
    # then one product with a (run day x day) matrix of ones. Integer sums: the order does not matter.
    pos = {d: i for i, d in enumerate(days)}
    sources = [(d, c) for d, c in (earlier or {}).items() if d in pos and c.posts]
    sources += [(d, c) for d, c in own.items() if d in pos]
    posts = np.zeros(len(days), np.int64)
    for d, c in sources:
        posts[pos[d]] += c.posts
    all_idx = [c.idx for _, c in sources]
    vocab = np.unique(np.concatenate(all_idx)) if all_idx else np.zeros(0, np.int32)
    rows = np.concatenate([np.full(len(c.idx), pos[d], np.int64) for d, c in sources]) if sources else []
    cols = np.searchsorted(vocab, np.concatenate(all_idx)) if all_idx else []
    data = np.concatenate([c.cnt for _, c in sources]) if sources else []
    M = sparse.csr_matrix((data, (rows, cols)), shape=(len(days), len(vocab)), dtype=np.int64)
    M.sum_duplicates()
    counts = {d: _row(M, pos[d], vocab, int(posts[pos[d]])) for d in days}

    run = sorted(by_day)
    ones = sparse.csr_matrix(
        (
            np.ones(window_days * len(run), np.int64),
            (np.repeat(np.arange(len(run)), window_days),
             np.array([pos[k] for d in run for k in range(d - window_days, d)], np.int64)),
        ),
        shape=(len(run), len(days)),
    )  # fmt: skip
    W = (ones @ M).tocsr()
    W.sum_duplicates()
    W.sort_indices()
    n = ones @ posts
    out = list(items)
    for r, d in enumerate(run):
        members = by_day[d]
        window = _row(W, r, vocab, int(n[r]))
        share = _share(window, full_posts)
        days_before = [counts[k] for k in range(d - window_days, d)]
        hots = _hots(days_before, window, share, hot)
        weighted = _weigh_day([items[i] for i in members], window, share, anchor_df, hots)
        for i, it in zip(members, weighted, strict=True):
            out[i] = it
    return out, counts


def _share(window: DayCounts, full_posts: int) -> float:
    """How much of the rarity logarithm a window's posts weigh with (`FULL_POSTS`)."""
    return min(1.0, window.posts / full_posts) if full_posts else 1.0


def _weigh_day(
    items: Sequence[Item], window: DayCounts, share: float, anchor_df: int | None, hot: np.ndarray | None
) -> list[Item]:
    """Posts of one day weighed by its window: `vec` reweighted, `svec` the plain vector, and over a full window
    `rare` (features at most `anchor_df` of the window's posts had) and `hot` (those among the day before's burst
    features, when given). Each post's result is its own, whatever else shares the call."""
    plain = [it.story_vec for it in items]
    full = share >= 1.0
    rare = _rare(plain, window, anchor_df) if anchor_df is not None and full else [None] * len(plain)
    hots: list[np.ndarray | None] = _among(plain, hot) if hot is not None else [None] * len(plain)
    return [
        replace(it, vec=vec, svec=p, rarity=share, rare=r_, hot=h)
        for it, vec, p, r_, h in zip(items, _weighted(plain, window, share), plain, rare, hots, strict=True)
    ]


class StreamWeigher:
    """`weigh` for items that arrive in time order a chunk at a time (a regroup that scores its first posts while
    worker processes still prepare the later ones). A post's weights depend only on the days before its own and
    each vector is weighed on its own (`_weighted`, `_rare`, `_among`), so a day's window is made once, when its
    first item comes (the run's own days before it are complete by then), every chunk of that day is weighed
    with it, and the items and `counts()` are what one `weigh` of all of them returns."""

    def __init__(
        self,
        earlier: Mapping[int, DayCounts] | None,
        window_days: int = WINDOW_DAYS,
        full_posts: int = FULL_POSTS,
        anchor_df: int | None = None,
        hot: tuple[int, float] | None = None,
    ) -> None:
        self.earlier = dict(earlier or {})
        self.window_days, self.full_posts, self.anchor_df, self.hot = window_days, full_posts, anchor_df, hot
        self.own: dict[int, list[Vector]] = {}  # the run's plain vectors by day
        self.done: dict[int, DayCounts] = {}  # earlier + own counts of days no item can come for any more
        self.day: int | None = None
        self.window = DayCounts(0, np.zeros(0, np.int32), np.zeros(0, np.int64))
        self.share = 0.0
        self.hot_feats: np.ndarray | None = None

    def weigh(self, items: Sequence[Item]) -> list[Item]:
        """The chunk's items (in time order, after every item weighed before) with `weigh`'s weights."""
        if not self.window_days:
            return list(items)
        out: list[Item] = []
        start = 0
        while start < len(items):
            day = day_of(items[start].ts)
            end = start + 1
            while end < len(items) and day_of(items[end].ts) == day:
                end += 1
            if day != self.day:
                self._begin(day)
            part = items[start:end]
            self.own[day].extend(it.story_vec for it in part)
            out += _weigh_day(part, self.window, self.share, self.anchor_df, self.hot_feats)
            start = end
        return out

    def _begin(self, day: int) -> None:
        if self.day is not None:
            if day < self.day:
                raise ValueError(f"items out of time order: day {day} after day {self.day}")
            self.done[self.day] = self._count(self.day)
        self.day = day
        self.own[day] = []
        days = range(day - self.window_days, day)
        days_before = [self._counts(k) for k in days]
        self.window = _summed(days_before)
        self.share = _share(self.window, self.full_posts)
        self.hot_feats = _hots(days_before, self.window, self.share, self.hot)

    def _counts(self, day: int) -> DayCounts:
        """A day before the current one: its stored and own counts together."""
        got = self.done.get(day)
        return got if got is not None else self._count(day)

    def _count(self, day: int) -> DayCounts:
        parts = []
        stored = self.earlier.get(day)
        if stored is not None and stored.posts:  # as `weigh` takes its sources
            parts.append(stored)
        if day in self.own:
            parts.append(DayCounts.of(self.own[day]))
        return _summed(parts)

    def counts(self) -> dict[int, DayCounts]:
        """What `weigh` returns besides the items: the counts of every day that weighed the items or holds one."""
        if self.day is not None and self.day not in self.done:
            self.done[self.day] = self._count(self.day)
        days = {k for d in self.own for k in range(d - self.window_days, d)} | set(self.own)
        return {d: self._counts(d) for d in sorted(days)}


def _hots(
    days_before: Sequence[DayCounts], window: DayCounts, share: float, hot: tuple[int, float] | None
) -> np.ndarray | None:
    """The features that burst on one of the last `HOT_DAYS` of `days_before` (a post's window, oldest first;
    `window` their sum), each day as `hot_features` finds them against the daily mean of the days before it that
    hold posts, at least `HOT_MIN_DAYS` of them (missing ones count as quiet days); a day with no earlier day
    holding posts (a warehouse's first) says nothing. None (no test: storylines take events on similarity alone)
    below a full window of posts (`share`), where a day's counts say little: a thin stream (CrisisLex's tweets,
    tens a day) keeps its storylines as similarity makes them.

    The mean used to be over the window's 13 other days whether they held posts or not, so in a warehouse's
    second week nearly every recurring word "burst" (the empty days counted as quiet) and daily beats chained
    into storylines. The floor keeps a developing situation in a short history: over one or two real days, its
    words would have to burst again against the day they first did. Two days, not one, because a situation's
    names burst on its first day only: with one day, a labelled pair of the Tbilisi protests (28 and 30 November)
    fell apart in a new warehouse, the names of the 28th being no longer new on the 29th against it."""
    if hot is None or len(days_before) <= 1 or share < 1.0:
        return None
    if not any(c.posts for c in days_before[:-1]):
        return None
    out = np.zeros(0, np.int32)
    for back in range(1, HOT_DAYS + 1):
        if len(days_before) <= back or not days_before[-back].posts:
            continue
        prior = days_before[:-back]
        other = sum(1 for c in prior if c.posts)
        if not other:
            continue
        # An earlier day is judged against the days before it: the window's counts less the days after it.
        later = days_before[len(days_before) - back + 1 :]
        days = min(max(other, HOT_MIN_DAYS), len(prior)) + 1
        out = np.union1d(out, hot_features(days_before[-back], window, days, *hot, later=later))
    return out


def _summed(parts: Sequence[DayCounts]) -> DayCounts:
    """Several days' (or sources') counts added up, as `weigh`'s sparse sums make them: sorted features, counts
    above zero."""
    posts = sum(p.posts for p in parts)
    parts = [p for p in parts if len(p.idx)]
    if not parts:
        return DayCounts(posts, np.zeros(0, np.int32), np.zeros(0, np.int64))
    if len(parts) == 1:
        keep = parts[0].cnt > 0
        return DayCounts(posts, parts[0].idx[keep].astype(np.int32), parts[0].cnt[keep].astype(np.int64))
    uniq, inv = np.unique(np.concatenate([p.idx for p in parts]), return_inverse=True)
    cnt = np.zeros(len(uniq), np.int64)
    np.add.at(cnt, inv, np.concatenate([p.cnt for p in parts]).astype(np.int64))
    keep = cnt > 0
    return DayCounts(posts, uniq[keep].astype(np.int32), cnt[keep])


def hot_features(
    yesterday: DayCounts,
    window: DayCounts,
    days: int,
    min_posts: int,
    ratio: float,
    later: Sequence[DayCounts] = (),
) -> np.ndarray:
    """The features that burst on `yesterday` (the last day of `window` but the `later` ones, which do not
    count): at least `min_posts` of its posts had them, and at least `ratio` times the mean daily count of the
    window's days before it. `days`: how many days the
    mean is over, yesterday included (`_hots`: the days that hold posts; a day without posts is no evidence
    that a word was quiet). Only names and concepts count (`text.NAMED_BASE`): a developing situation bursts in
    those, while a daily beat bursts in common words whenever its subject changes (snow after rain, one region's
    drones after another's). Figures are left out: a rate or a toll that recurs daily is the beat, not the
    news."""
    y = yesterday.cnt
    # The days before it: the whole window's counts less its own and the later days'.
    before = _df(window, yesterday.idx) - y
    for c in later:
        before -= _df(c, yesterday.idx)
    named = (yesterday.idx >= NAMED_BASE) & (yesterday.idx < FIGURE_BASE)
    keep = (y >= min_posts) & (y * (days - 1) >= ratio * before) & named
    return yesterday.idx[keep]


def _row(m: sparse.csr_matrix, r: int, vocab: np.ndarray, posts: int) -> DayCounts:
    lo, hi = m.indptr[r], m.indptr[r + 1]
    keep = m.data[lo:hi] > 0
    return DayCounts(
        posts, vocab[m.indices[lo:hi][keep]].astype(np.int32), m.data[lo:hi][keep].astype(np.int64)
    )


def _rare(vectors: Sequence[Vector], window: DayCounts, limit: int) -> list[np.ndarray]:
    """Each vector's features that at most `limit` of the window's posts had."""
    return _per_post(vectors, lambda idx: _df(window, idx) <= limit)


def _among(vectors: Sequence[Vector], feats: np.ndarray) -> list[np.ndarray]:
    """Each vector's features that are among the sorted, unique `feats`."""
    return _per_post(vectors, lambda idx: find_sorted(feats, idx)[1])


def _per_post(vectors: Sequence[Vector], keep: Callable[[np.ndarray], np.ndarray]) -> list[np.ndarray]:
    """Each vector's features that `keep` (a mask over the features of all the vectors at once) keeps: one lookup
    for a day's posts rather than one per post."""
    lens = [len(v) for v in vectors]
    if not sum(lens):
        return [v.idx for v in vectors]
    idx = np.concatenate([v.idx for v in vectors])
    bounds = np.cumsum(lens)[:-1]
    return [i[k] for i, k in zip(np.split(idx, bounds), np.split(keep(idx), bounds), strict=True)]


def _df(counts: DayCounts, idx: np.ndarray) -> np.ndarray:
    """How many posts of `counts` had each of the features `idx` (0 for those it does not hold)."""
    df = np.zeros(len(idx), np.int64)
    pos, hit = find_sorted(counts.idx, idx)
    df[hit] = counts.cnt[pos[hit]]
    return df


def _weighted(vectors: Sequence[Vector], window: DayCounts, share: float = 1.0) -> list[Vector]:
    """Each vector reweighted by the window's inverse document frequencies (`share` of their log), normalised
    and quantised. Every operation is element-wise or a per-vector sum in a fixed order, so a vector's result
    does not depend on which other vectors share the call."""
    lens = [len(v) for v in vectors]
    if not sum(lens) or not share:
        return list(vectors)  # no history: every weight the same, the vector as it was
    idx = np.concatenate([v.idx for v in vectors if len(v)])
    val = np.concatenate([v.val for v in vectors if len(v)]).astype(np.float64)
    df = _df(window, idx)
    w = val * (1.0 + share * np.log((window.posts + 1.0) / (df + 1.0)))
    out: list[Vector] = []
    lo = 0
    for v, n in zip(vectors, lens, strict=True):
        if not n:
            out.append(v)
            continue
        part = w[lo : lo + n]
        norm = float(np.sqrt(np.dot(part, part)))
        q = np.rint(SCALE * part / norm).astype(np.int64)
        np.maximum(q, 1, out=q)
        out.append(Vector(v.idx, q))
        lo += n
    return out
