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
stored sums of each level live in one append-only buffer (`sums.Store`); per bucket of posts, one sparse product
over the bucket's own feature columns gives every post's dot product with every stored open sum, and the
candidates above the floor are picked out for the whole bucket at once (a per-cluster bound discards most
entries first; only the open sums enter the product). Clusters touched during the bucket get a dense column of
exact dot products with the bucket's posts, updated as members join and clusters merge. The two levels' bucket
starts only read the bucket, so the storylines' runs on a second thread while the events' runs on this one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from ingest.events.prepare import workers
from ingest.events.records import (
    ROLE_FORWARD,
    ROLE_ORIGIN,
    ROLE_REPORT,
    Assignment,
    Cluster,
    Item,
    Key,
    Merge,
    RunResult,
    past_span,
)
from ingest.events.sums import Bucket, Level, dot
from ingest.events.text import DIM, FIGURE_BASE, figures_of
from ingest.events.threads import TagThreads

__all__ = [
    "ROLE_FORWARD", "ROLE_ORIGIN", "ROLE_REPORT", "Assignment", "Cluster", "Grouper", "Item", "Key", "Merge",
    "Params", "RunResult",
]  # fmt: skip


# Below this many posts a run's buckets are too few and small for a second thread to pay for itself.
MIN_THREADED_POSTS = 2048


_NO_FIGURES = np.zeros(0, np.int32)


def note_holder(holders: dict[int, list[int]], key: int, event_id: int) -> None:
    """Note that `event_id` holds a post with `key` (a copy, headline or sentence key), keeping the events in the
    order of their first post with it."""
    events = holders.setdefault(key, [])
    if event_id not in events:
        events.append(event_id)


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
    # 0.15 was enough over a full rarity window, where the template's words weigh little; a new warehouse weighs
    # them in full, and a templated rate ("the dollar reached 112") met the "111" event at 0.63. The margin is in
    # proportion to the figures' share of the post's squared weight, in full from `figure_share_full` on: a rate
    # post is mostly its figure (15-35 % of three rate posts, plain vectors), while an article that cites
    # another estimate of the same happening among many words ("a package of about 40 billion", 2 %) is the
    # disagreement a brief should show, not another event.
    figure_conflict: float = 0.30
    figure_share_full: float = 0.20
    # The event's figures that count for that test: those weighing at least this share of its heaviest figure in
    # its sum. Every figure any member named would let the event drift level by level ("the dollar at 112",
    # one post adding "the euro at 118", then "113, euro 118" sharing that one), so a templated run of rates
    # chained into one event of a day; the figures most of its posts repeat are what the event reports (0: all).
    figure_core: float = 0.5
    # The event level weighs features by their rarity over this many whole days before a post's day
    # (`ingest.events.rarity`; 0: plain vectors). The two thresholds above are for plain vectors (a post with
    # no history before it); a post weighed over at least `rarity_full_posts` earlier posts needs
    # `rarity_event_threshold` for both, and one with less history a bar in between (Item.rarity).
    rarity_window_days: int = 14
    rarity_full_posts: int = 1000
    rarity_event_threshold: float = 0.22
    # Anchors: a post that joins no event by similarity joins the best event that began at most `anchor_hours`
    # before it if their cosine is at least `anchor_threshold` and the event holds at least `anchor_min_shared`
    # of the post's rare features (at most `anchor_max_df` posts of the rarity window had them; a rare name gives
    # its word, skeleton and entity features). Two channels telling different facets of one happening in
    # different words ("two drones shot down over Ramenskoye", "two houses burn in Ramenskoye") share little but
    # the place, which the two weeks before had hardly named. 0 hours: off.
    anchor_hours: float = 3.0
    anchor_threshold: float = 0.16
    anchor_max_df: int = 10
    anchor_min_shared: int = 4
    # Storylines past their first day need news to grow: a new event (or a post that would merge two storylines)
    # joins a storyline that began more than `storyline_key_grace_hours` before it only if the post shares with
    # the storyline a name or concept that burst on one of the two days before the post's (at least
    # `storyline_hot_min` posts of that day had it, and `storyline_hot_ratio` times the daily mean of the days
    # before it; `ingest.events.rarity.hot_features`, `rarity.HOT_DAYS`). A developing situation makes its names
    # burst (Tbilisi, a named cyclone, the dollar as a concept); a daily beat (the evening's rate, tomorrow's
    # weather, the night's drone count, "today is ... Day") does not, and without this test each beat was one
    # storyline a week long. Plain words do not count: a beat bursts in them whenever its subject changes (a
    # storm after rain), and they carried the weather from one day into the next. Needs a full window of posts
    # (`rarity_full_posts`); the daily mean is over the days that hold posts, at least five
    # (`rarity.HOT_MIN_DAYS`), so that a new warehouse's empty days do not count as quiet ones; 0 hours: off.
    storyline_key_grace_hours: float = 24.0
    storyline_hot_min: int = 3
    storyline_hot_ratio: float = 8.0
    # Excerpts: a post joins an event begun at most `excerpt_hours` before it when one of the two repeats the
    # other whole: the post's main sentence is a sentence of a post of the event, or the other way round
    # (`text.sentence_keys`). A channel posts a statement as it is made ("Kyiv has more than once tried to strike
    # Moscow, — Putin") and another lists it among the press conference's statements: the two share one
    # sentence and little else by weight. A post that links two events this way merges them. Longer windows
    # reach back to articles that a weekly or daily digest lists, which are other happenings. 0: off.
    excerpt_hours: float = 3.0
    # Tag threads: a hashtag is a topic its authors chose. A post that carries a hashtag which another source
    # used at most `thread_hours` before it merges its storyline with the other storyline holding most of those
    # uses (its own aside), past the storylines' span (a typhoon's or a bushfire season's tag runs for weeks),
    # when the two storylines' sums have a cosine of at least `thread_threshold`; two storylines of more than
    # `thread_small` posts each need `thread_big_threshold`: once a tag shared by two concurrent crises has
    # merged them, a low bar let every other thread of either join the mixture (the thirteen CrisisLex crises
    # run at once, tune half: precision 0.62 with one bar of 0.05, 0.85 with these). A channel's rubric is no
    # thread: a tag the post's channel put on posts of at least `thread_rubric_days` days of the rarity window
    # (its own day included) links nothing of that channel, either way ("#news", "#infographics"). 0 hours: off.
    thread_hours: float = 120.0
    thread_threshold: float = 0.05
    thread_small: int = 3
    thread_big_threshold: float = 0.20
    thread_rubric_days: int = 3

    def anchor_df(self) -> int | None:
        """How many posts of the rarity window may have a feature for it to be rare (`Item.rare`), or None when
        anchors are off: what `rarity.weigh` is given."""
        return self.anchor_max_df if self.anchor_hours and self.anchor_threshold > 0 else None

    def thread_days(self) -> int:
        """How many UTC days before a post's own the rubric test of tag threads reads (0 when threads are off)."""
        return self.rarity_window_days if self.thread_hours else 0

    def storyline_hot(self) -> tuple[int, float] | None:
        """(min posts, ratio) for `Item.hot`, or None when storylines take events on similarity alone: what
        `rarity.weigh` is given."""
        if not self.storyline_key_grace_hours or not self.rarity_window_days:
            return None
        return self.storyline_hot_min, self.storyline_hot_ratio

    def fingerprint(self) -> str:
        from ingest.events import rarity, text

        return (
            f"v13 w={self.window_hours} sw={self.storyline_window_hours} e={self.event_threshold} "
            f"em={self.event_merge_threshold} s={self.storyline_threshold} sm={self.storyline_merge_threshold} "
            f"k={self.short_post_features} l={self.event_link_threshold} "
            f"eg={self.event_grace_hours} ea={self.event_age_slope} ex={self.event_max_span_hours} "
            f"sg={self.storyline_grace_hours} sa={self.storyline_age_slope} sx={self.storyline_max_span_hours} "
            f"sl={self.storyline_link_threshold} fc={self.figure_conflict} fs={self.figure_share_full} "
            f"fk={self.figure_core} "
            f"r={self.rarity_window_days} rf={self.rarity_full_posts} re={self.rarity_event_threshold} "
            f"ah={self.anchor_hours} at={self.anchor_threshold} ad={self.anchor_max_df} "
            f"am={self.anchor_min_shared} sk={self.storyline_key_grace_hours} sh={self.storyline_hot_min} "
            f"sr={self.storyline_hot_ratio} xh={self.excerpt_hours} xw={text.SENTENCE_WORDS} "
            f"xm={text.MAIN_SHARE} dim={text.DIM_BITS} th={self.thread_hours} tt={self.thread_threshold} "
            f"ts={self.thread_small} tb={self.thread_big_threshold} tr={self.thread_rubric_days} "
            f"hd={rarity.HOT_MIN_DAYS} hk={rarity.HOT_DAYS} nb={text.NAMED_BITS}"
        )

    def join_thresholds(self, rarity: float) -> tuple[float, float]:
        """(join, mean-similarity) thresholds for a post whose vector carries `rarity` (0: plain, 1: weighted
        over a full history): each moves from its plain value to `rarity_event_threshold`."""
        if not rarity:
            return self.event_threshold, self.event_link_threshold
        t = self.rarity_event_threshold
        link = self.event_link_threshold
        return (
            self.event_threshold - rarity * (self.event_threshold - t),
            link - rarity * (link - t) if link else 0.0,
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
    # The bucket's product leaves out candidates below `records.age_bar` at the bucket's first post: the same
    # float operations, so what it leaves out this refuses.
    if past_span(age_s, max_h):
        return math.inf
    return threshold + slope * max(0.0, age_s / 3600.0 - grace_h)


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

        self.events = Level("event", p.window_hours * 3600, new_event_id or _ne)
        self.storylines = Level("storyline", p.storyline_window_hours * 3600, new_storyline_id or _ns)
        self.post_event: dict[Key, int] = {}  # post -> event (assigned id; resolve for the current one)
        self.ref_event: dict[Key, int] = {}  # referenced post not (yet) seen -> event of its forwards
        self.dup_event: dict[
            int, list[int]
        ] = {}  # duplicate key -> events holding it, first occurrence first
        # Excerpt joins: a post's main sentence key -> events holding a post with it as a sentence, and a sentence
        # key -> events holding a post whose main sentence it is; first occurrence first.
        self.sentence_event: dict[int, list[int]] = {}
        self.main_event: dict[int, list[int]] = {}
        self._lut: np.ndarray | None = None
        self._slut: np.ndarray | None = None  # the storyline bucket's columns, when its vectors differ
        self._sitems: list[Item] | None = None  # the bucket's items as the storyline level reads them
        self.load_event = load_event
        self.load_storyline = load_storyline
        self.threads = TagThreads(p.thread_rubric_days, p.thread_days())
        self.last_order: tuple | None = None
        self._pool: ThreadPoolExecutor | None = None

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
            self._ensure_storyline(self.storylines.resolve(c.storyline))
        return True

    def _ensure_storyline(self, sid: int) -> bool:
        st = self.storylines
        if sid in st.clusters:
            return True
        c = self.load_storyline(sid) if self.load_storyline else None
        if c is None:
            return False
        st.adopt(c)
        return True

    # ---- the stream
    def process(self, items: Iterable[Item]) -> RunResult:
        items = sorted(items, key=lambda it: it.order)
        return self.process_chunks([items], len(items))

    def process_chunks(self, chunks: Iterable[Sequence[Item]], total: int) -> RunResult:
        """`process` of items that come chunk by chunk, each in time order and after the chunks before it (a
        regroup scoring its first posts while later ones are still prepared): the buckets are the same slices
        of the whole run as `process` makes. `total`: how many items will come (it decides the second thread)."""
        result = RunResult()
        b = self.params.bucket_posts
        if workers() > 1 and total >= MIN_THREADED_POSTS:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="wirewatch-group")
        pending: list[Item] = []
        last: tuple | None = None
        try:
            for chunk in chunks:
                for it in chunk:
                    if last is not None and it.order < last:
                        raise ValueError(f"items out of time order: {it.key} after {last}")
                    last = it.order
                pending.extend(chunk)
                while len(pending) >= b:
                    self._bucket(pending[:b], result)
                    del pending[:b]
            if pending:
                self._bucket(pending, result)
        finally:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None
        return result

    def _bucket(self, items: list[Item], result: RunResult) -> None:
        if self._lut is None:
            self._lut = np.full(DIM, -1, dtype=np.int32)  # feature -> column of the current bucket
        bk = Bucket(items, self._lut)
        sitems, sbk = items, bk
        if any(it.svec is not None for it in items):
            # The storyline level reads its own vectors: a second bucket over them, with its own columns.
            if self._slut is None:
                self._slut = np.full(DIM, -1, dtype=np.int32)
            sitems = [it if it.svec is None else replace(it, vec=it.svec, svec=None) for it in items]
            sbk = Bucket(sitems, self._slut)
        self._sitems = sitems
        try:
            self._bucket_loop(items, sitems, bk, sbk, result)
        finally:
            bk.close()
            if sbk is not bk:
                sbk.close()
            self._sitems = None

    def _begin_bucket(self, bk: Bucket, sbk: Bucket, ts0: float, e_floor: float, s_floor: float) -> None:
        """Both levels' candidate products for the bucket, and the bucket's own products."""
        ev, st, p = self.events, self.storylines, self.params
        # Events young enough for an anchor join are candidates from the anchor threshold on.
        young = (p.anchor_threshold, p.anchor_hours * 3600.0) if self._anchors(bk.items) else None
        # Candidates from the bar of their age on: stage 1 and stage 2 ask at least `event_bar` of the floor,
        # and the storyline candidates are kept only above `storyline_bar` of theirs (`_bucket_loop`).
        e_aging = (p.event_grace_hours, p.event_age_slope)
        s_aging = (p.storyline_grace_hours, p.storyline_age_slope)

        def intra() -> None:
            bk.compute_intra()
            if sbk is not bk:
                sbk.compute_intra()

        if self._pool is not None:
            # The storylines' bucket start (and the bucket's own products) on the other core: both levels only
            # read the bucket, each writes its own state, and scipy and numpy release the GIL for the bulk.
            def other() -> None:
                intra()
                st.begin(sbk, ts0, s_floor, p.storyline_max_span_hours, aging=s_aging)

            job = self._pool.submit(other)
            try:
                ev.begin(bk, ts0, e_floor, p.event_max_span_hours, young, aging=e_aging)
            finally:
                job.result()
        else:
            intra()
            ev.begin(bk, ts0, e_floor, p.event_max_span_hours, young, aging=e_aging)
            st.begin(sbk, ts0, s_floor, p.storyline_max_span_hours, aging=s_aging)

    def _bucket_loop(
        self, items: list[Item], sitems: list[Item], bk: Bucket, sbk: Bucket, result: RunResult
    ) -> None:
        p = self.params
        ev, st = self.events, self.storylines
        e_floor = min(p.event_threshold, p.event_merge_threshold)
        if p.rarity_window_days and any(it.rarity for it in items):
            e_floor = min(e_floor, p.rarity_event_threshold)
        s_floor = min(p.storyline_threshold, p.storyline_merge_threshold)
        self._begin_bucket(bk, sbk, items[0].ts, e_floor, s_floor)
        for i, it in enumerate(items):
            xi2 = float(it.vec.norm2)
            sit = sitems[i]
            sxi2 = xi2 if sit is it else float(sit.vec.norm2)
            excerpts = self._excerpt_events(it)
            event_id, joined_by, role = self._linked_event(it, excerpts)
            sim: float | None = None

            # stage 1: the open event whose centroid the post matches best, above the bar for the event's age
            shrink = len(it.vec) / (len(it.vec) + p.short_post_features) if p.short_post_features else 1.0
            # Only candidates with cos * shrink at or above a threshold can be joined or merged: a floor of
            # e_floor / shrink (a hair lower, so rounding cannot drop one) keeps the candidate lists short.
            post_floor = e_floor / shrink * (1 - 1e-9) if 0 < shrink < 1 else e_floor
            join, link = p.join_thresholds(it.rarity)
            cands = ev.best(i, it.ts, xi2, post_floor, link) if xi2 else []
            if event_id is None:
                figs, margin = self._figure_test(it)
                for cos, cid, _ in cands:
                    bar = p.event_bar(join, it.ts - ev.clusters[cid].first_ts)
                    if cos * shrink < bar:
                        continue
                    if len(figs) and cos * shrink < bar + margin and self._figures_differ(figs, cid, items):
                        continue
                    sim, event_id, joined_by, role = cos, cid, "similar", ROLE_REPORT
                    break
                if event_id is None and (anchored := self._anchored(i, it, items, xi2, figs)) is not None:
                    sim, event_id = anchored
                    joined_by, role = "anchor", ROLE_REPORT
            if event_id is not None and sim is None and xi2:
                d = ev.dot_with(event_id, i)
                n2 = ev.norm2_of(event_id)
                sim = d / math.sqrt(n2 * xi2) if n2 else 0.0

            # storyline candidates (needed for a new event, and for storyline merges)
            s_cands = [
                c for c in (st.best(i, it.ts, sxi2, s_floor, p.storyline_link_threshold) if sxi2 else [])
                if c[0] >= p.storyline_bar(s_floor, it.ts - st.clusters[c[1]].first_ts)
            ]  # fmt: skip
            story_id = self._place(i, sit, event_id, s_cands, sxi2, result)
            if event_id is None:
                event_id = ev.create(i, it, xi2, storyline=story_id)
                result.events_created.add(event_id)
            else:
                d = ev.dot_with(event_id, i) if xi2 else 0.0
                ev.add(event_id, i, it, d, xi2)
            if st.owner[i] < 0:
                d = st.dot_with(story_id, i) if sxi2 else 0.0
                st.add(story_id, i, sit, d, sxi2)

            self._merge_converged(i, it, items, sitems, event_id, sim, shrink, cands, s_cands, result)
            self._merge_excerpts(it, items, event_id, excerpts, result)
            self._follow_tags(it, event_id, result)
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
                    it.svec,
                    it.main,
                    it.sentences,
                    it.tags,
                )
            )
            self.last_order = it.order
        result.events_changed |= ev.finish(items)
        result.storylines_changed |= st.finish(sitems)

    def _anchors(self, items: list[Item]) -> bool:
        p = self.params
        return p.anchor_df() is not None and any(
            it.rare is not None and len(it.rare) >= p.anchor_min_shared for it in items
        )

    def _anchored(
        self, i: int, it: Item, items: list[Item], xi2: float, figs: np.ndarray
    ) -> tuple[float, int] | None:
        """An anchor join (`Params.anchor_hours`): the best young event above the anchor threshold that holds
        enough of the post's rare features and whose core figures the post does not contradict."""
        p, ev = self.params, self.events
        rare = it.rare
        if p.anchor_df() is None or rare is None or len(rare) < p.anchor_min_shared or not xi2:
            return None
        young = p.anchor_hours * 3600.0
        for cos, cid, _ in ev.best(i, it.ts, xi2, p.anchor_threshold):
            if it.ts - ev.clusters[cid].first_ts > young:
                continue
            theirs = ev.current_features(cid, items, lambda idx: idx)
            if int(np.isin(rare, theirs).sum()) < p.anchor_min_shared:
                continue
            if len(figs) and self._figures_differ(figs, cid, items):
                continue
            return cos, cid
        return None

    def _figure_test(self, it: Item) -> tuple[np.ndarray, float]:
        """The post's figures and how much more similarity it needs to join an event whose core figures it all
        contradicts (`Params.figure_conflict`, `figure_share_full`); no figures when the test is off."""
        p = self.params
        if not p.figure_conflict:
            return _NO_FIGURES, 0.0
        first = int(np.searchsorted(it.vec.idx, FIGURE_BASE))
        figs = it.vec.idx[first:]
        if not len(figs) or not p.figure_share_full:
            return figs, p.figure_conflict
        val = it.vec.val[first:]
        share = float(np.dot(val, val)) / it.vec.norm2
        return figs, p.figure_conflict * min(1.0, share / p.figure_share_full)

    def _figures_differ(self, figs: np.ndarray, cid: int, items: list[Item]) -> bool:
        """Whether the event has figures and the post shares none of its core ones (`Params.figure_core`; exact:
        from its current sum)."""
        core = self.params.figure_core
        if not core:
            theirs = self.events.current_features(cid, items, figures_of)
            return bool(len(theirs)) and not np.isin(figs, theirs).any()
        idx, val = self.events.materialize(cid, items)
        first = int(np.searchsorted(idx, FIGURE_BASE))
        weights = val[first:]
        if not len(weights):
            return False
        # Integer sums against an integer bound: exact, as every other comparison of the grouping.
        theirs = idx[first:][weights * 1000 >= round(core * 1000) * int(weights.max())]
        return not np.isin(figs, theirs).any()

    def _linked_event(self, it: Item, excerpts: list[int]) -> tuple[int | None, str, str]:
        """Stage 0: the event a post joins whatever its text: the event of a post it forwards, reposts, quotes
        or replies to (or of earlier forwards of it), else of an earlier copy of its cleaned text, else the first
        of its `excerpts` (`_excerpt_events`)."""
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
        # A post that is all boilerplate has only its whole text as a copy key (`text.whole_copy_key`): an
        # advertisement repeated daily would otherwise chain into one event for months, so its copies join only
        # an event younger than the span any event may grow by similarity.
        boiler_only = not len(it.vec)
        for key in (it.dup, it.lead):
            if key is None:
                continue
            for t in self.dup_event.get(key, ()):
                t = ev.resolve(t)
                c = ev.clusters[t] if self._ensure_event(t) else None
                if c is None or c.last_ts < it.ts - ev.window_s:
                    continue
                if boiler_only and past_span(it.ts - c.first_ts, self.params.event_max_span_hours):
                    continue
                return t, "duplicate", ROLE_REPORT
        if excerpts:
            return excerpts[0], "excerpt", ROLE_REPORT
        return None, "new", ROLE_ORIGIN

    def _excerpt_events(self, it: Item) -> list[int]:
        """The open events begun at most `Params.excerpt_hours` before the post that hold a post one of whose
        sentences is the post's main one, or whose main sentence is one of the post's; in the order of the keys
        and of each key's first holder."""
        hours = self.params.excerpt_hours
        if not hours:
            return []
        # Most posts share no sentence with anything: look the keys up before building anything.
        found: list[int] = []
        if it.main is not None and (h := self.sentence_event.get(it.main)):
            found += h
        get = self.main_event.get
        for k in it.sentences:
            if h := get(k):
                found += h
        if not found:
            return []
        ev = self.events
        out: list[int] = []
        for t in found:
            t = ev.resolve(t)
            if t in out or not self._ensure_event(t):
                continue
            if it.ts - ev.clusters[t].first_ts <= hours * 3600.0:
                out.append(t)
        return out

    def _merge_excerpts(
        self, it: Item, items: list[Item], event_id: int, excerpts: list[int], result: RunResult
    ) -> None:
        """A post that repeats a sentence of two young events (a digest of a press conference whose statements
        were posted one by one) links them: one happening. Stage 2 may have merged some meanwhile: both must
        still be young."""
        ev, young = self.events, self.params.excerpt_hours * 3600.0
        for other in excerpts:
            a, b = ev.resolve(event_id), ev.resolve(other)
            if (
                a != b
                and it.ts - ev.clusters[a].first_ts <= young
                and it.ts - ev.clusters[b].first_ts <= young
            ):
                self._merge(ev, a, b, items, it, result)

    def _place(
        self, i: int, it: Item, event_id: int | None, s_cands: list, xi2: float, result: RunResult
    ) -> int:
        """The storyline of the post: its event's, else the best open storyline, else a new one."""
        st, p = self.storylines, self.params
        if event_id is None:
            # The candidates cleared the bar at the floor; a new event needs the bar at the join threshold.
            for cos, sid, _ in s_cands:
                if cos >= p.storyline_bar(
                    p.storyline_threshold, it.ts - st.clusters[sid].first_ts
                ) and self._storyline_takes(it, sid):
                    return sid
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
        self, i: int, it: Item, items: list[Item], sitems: list[Item], event_id: int, sim: float | None,
        shrink: float, cands: list, s_cands: list, result: RunResult,
    ) -> None:  # fmt: skip
        """Stage 2: a post that matches two open events well merges them (older survives); storylines too."""
        p = self.params
        ev, st = self.events, self.storylines
        # The post's figure test, taken once, for the first candidate that needs it.
        figure_test: tuple[np.ndarray, float] | None = None
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
            # Nor may the post merge an event that stage 1 would not have let it join: the figure test. Without
            # it, a rate post that one level's event refused by its figures started an event of its own, and then
            # merged the two levels.
            if figure_test is None:
                figure_test = self._figure_test(it)
            figs, margin = figure_test
            if len(figs) and cos * shrink < bar_b + margin and self._figures_differ(figs, b, items):
                continue
            self._merge(ev, a, b, items, it, result)
        story_now = st.resolve(ev.clusters[ev.resolve(event_id)].storyline)
        own = next((c for c, s, _ in s_cands if st.resolve(s) == story_now), 0.0)
        # A merge needs the post to be news to both storylines (`_storyline_takes`), asked only of those that
        # clear the bars: the test reads the storyline's features.
        if own >= p.storyline_merge_threshold and self._storyline_takes(it, story_now):
            for cos, other, _ in s_cands:
                if cos < p.storyline_merge_threshold:
                    break
                a, b = st.resolve(story_now), st.resolve(other)
                if (
                    a != b
                    and cos >= p.storyline_bar(p.storyline_merge_threshold, it.ts - st.clusters[b].first_ts)
                    and self._storyline_takes(it, b)
                ):
                    self._merge(st, a, b, sitems, it, result)
                    story_now = st.resolve(story_now)

    def _storyline_takes(self, it: Item, sid: int) -> bool:
        """Whether the storyline may take the post by similarity: always in its first
        `Params.storyline_key_grace_hours`, later only if the post shares one of its hot features with it."""
        grace = self.params.storyline_key_grace_hours
        st = self.storylines
        sid = st.resolve(sid)
        if it.hot is None or not grace or it.ts - st.clusters[sid].first_ts <= grace * 3600.0:
            return True
        return bool(len(it.hot)) and st.holds_any(sid, self._sitems, it.hot)

    def _follow_tags(self, it: Item, event_id: int, result: RunResult) -> None:
        """Tag threads (`Params.thread_hours`): merge the post's storyline with the storyline that holds most of
        the recent uses of one of its hashtags by other sources, when their sums are close enough; then note
        the post's own uses."""
        p = self.params
        if not p.thread_hours or not it.tags:
            return
        st = self.storylines
        sid = st.resolve(self.events.clusters[self.events.resolve(event_id)].storyline)
        channel = it.key[:2]
        for tag in it.tags:
            holders = self.threads.holders(tag, it.ts, channel, p.thread_hours * 3600.0, st.resolve)
            # The storyline holding most of the tag's uses, the post's own aside.
            other = next((h for h in holders if h != sid and self._ensure_storyline(h)), None)
            if other is not None:
                small = min(st.clusters[sid].n, st.clusters[other].n) <= p.thread_small
                bar = p.thread_threshold if small else p.thread_big_threshold
                if self._storylines_cosine(sid, other) >= bar:
                    self._merge(st, sid, other, self._sitems, it, result)
                    sid = st.resolve(sid)
            self.threads.note(tag, it.ts, sid, channel)

    def _storylines_cosine(self, a: int, b: int) -> float:
        """The cosine of two storylines' current sums (their norms as the level keeps them)."""
        st, items = self.storylines, self._sitems
        n2 = st.norm2_of(a) * st.norm2_of(b)
        return dot(*st.materialize(a, items), *st.materialize(b, items)) / math.sqrt(n2) if n2 else 0.0

    def _remember(self, it: Item, event_id: int) -> None:
        """What stage 0 needs of this post later: its event, for forwards of posts it references, its copy keys
        and its sentences."""
        self.post_event[it.key] = event_id
        for kind, ref in it.refs:
            if ref not in self.post_event and kind != "reply":
                self.ref_event.setdefault(ref, event_id)
        for key in (it.dup, it.lead):
            if key is not None:
                note_holder(self.dup_event, key, event_id)
        if self.params.excerpt_hours:
            if it.main is not None:
                note_holder(self.main_event, it.main, event_id)
            for key in it.sentences:
                note_holder(self.sentence_event, key, event_id)

    def _merge(self, level: Level, a: int, b: int, items: list[Item], it: Item, result: RunResult) -> None:
        ca, cb = level.clusters[a], level.clusters[b]
        dst, src = (a, b) if ca.age <= cb.age else (b, a)
        level.merge(src, dst, items)
        result.merges.append(Merge(level.name, src, dst, it.ts, it.key))
        if level is self.events:
            sa = self.storylines.resolve(level.clusters[dst].storyline)
            sb = self.storylines.resolve(level.clusters[src].storyline)
            if sa != sb and sa in self.storylines.clusters and sb in self.storylines.clusters:
                self._merge(self.storylines, sa, sb, self._sitems, it, result)
