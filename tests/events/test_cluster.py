"""The streaming grouper in memory: stage 0 links, similarity, merges, and order/batch independence."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from ingest.events.cluster import Grouper, Item, Params
from ingest.events.evaluate import read_crisislex
from ingest.events.text import duplicate_key, hashtag_keys, vectorize
from tests.events.posts import RUTTE_TEXTS, UNRELATED


def item(key, ts, text, refs=()):
    return Item(key, float(ts), vectorize(text), tuple(refs), duplicate_key(text), tags=hashtag_keys(text))


def rutte_items():
    keys = [("telegram", 1, 1), ("telegram", 2, 1), ("x", 3, 1), ("telegram", 4, 1)]
    texts = [RUTTE_TEXTS[k] for k in ("intelslava", "kyivpost", "x", "ru")]
    items = [item(k, 1000 + 300 * i, t) for i, (k, t) in enumerate(zip(keys, texts, strict=True))]
    noise = [item(("telegram", 10 + i, 1), 1100 + 250 * i, t) for i, (_c, t) in enumerate(UNRELATED)]
    return items, noise


def test_reports_in_different_words_and_languages_form_one_event():
    items, noise = rutte_items()
    g = Grouper()
    g.process(items + noise)
    events = {g.event_of(it.key) for it in items}
    assert len(events) == 1
    assert all(g.event_of(n.key) not in events for n in noise)
    assert len({g.event_of(n.key) for n in noise}) == len(noise)


def test_items_that_come_in_chunks_group_as_one_list_and_must_come_in_time_order():
    items, noise = rutte_items()
    whole = Grouper(Params(bucket_posts=3))
    whole.process(items + noise)
    ordered = sorted(items + noise, key=lambda it: it.order)
    chunked = Grouper(Params(bucket_posts=3))
    chunked.process_chunks([ordered[:2], [], ordered[2:7], ordered[7:]], len(ordered))
    assert all(chunked.event_of(it.key) == whole.event_of(it.key) for it in ordered)
    late = Grouper(Params(bucket_posts=3))
    with pytest.raises(ValueError, match="time order"):
        late.process_chunks([ordered[3:], ordered[:3]], len(ordered))


def test_forward_repost_and_quote_join_the_origin_even_with_other_text():
    g = Grouper()
    g.process([item(("telegram", 1, 5), 0, RUTTE_TEXTS["intelslava"])])
    g.process(
        [
            item(("telegram", 2, 9), 60, "🔥", refs=[("forward", ("telegram", 1, 5))]),
            item(("x", 3, 7), 90, "", refs=[("repost", ("telegram", 1, 5))]),
            item(
                ("x", 4, 8), 120, "Totally different words about cats", refs=[("quote", ("telegram", 1, 5))]
            ),
        ]
    )
    origin = g.event_of(("telegram", 1, 5))
    assert g.event_of(("telegram", 2, 9)) == g.event_of(("x", 3, 7)) == g.event_of(("x", 4, 8)) == origin


def test_forwards_of_an_unseen_original_share_one_event():
    g = Grouper()
    g.process(
        [
            item(("telegram", 2, 1), 10, "", refs=[("forward", ("telegram", 99, 5))]),
            item(("telegram", 3, 1), 20, "", refs=[("forward", ("telegram", 99, 5))]),
        ]
    )
    assert g.event_of(("telegram", 2, 1)) == g.event_of(("telegram", 3, 1))


def test_a_post_matching_two_events_merges_them_and_the_older_survives():
    a = "Kherson substation Ostriv shelled overnight, blackout across Dniprovskyi district"
    b = "Mykolaiv waterworks Vitovka pumping station damaged, water supply cut in Korabelnyi district"
    bridge = a + ". " + b
    g = Grouper(Params(event_threshold=0.5, event_merge_threshold=0.5, short_post_features=0))
    res = g.process([item(("telegram", 1, 1), 0, a), item(("telegram", 2, 1), 60, b)])
    ea, eb = g.event_of(("telegram", 1, 1)), g.event_of(("telegram", 2, 1))
    assert ea != eb
    res = g.process([item(("telegram", 3, 1), 120, bridge)])
    assert [(m.level, m.from_id, m.to_id) for m in res.merges if m.level == "event"] == [("event", eb, ea)]
    assert g.event_of(("telegram", 2, 1)) == g.event_of(("telegram", 3, 1)) == ea


def test_events_close_after_the_window():
    p = Params(window_hours=1, storyline_window_hours=1)
    g = Grouper(p)
    g.process([item(("telegram", 1, 1), 0, RUTTE_TEXTS["intelslava"])])
    g.process([item(("telegram", 2, 1), 3 * 3600, RUTTE_TEXTS["kyivpost"])])
    assert g.event_of(("telegram", 1, 1)) != g.event_of(("telegram", 2, 1))


@pytest.fixture(scope="module")
def tweets(shared_data):
    ts = read_crisislex(shared_data / "events" / "crisislext26")
    keep = {"2013_Boston_bombings", "2013_LA_airport_shootings", "2013_Typhoon_Yolanda"}
    return [t for t in ts if t.label in keep][:1500]


def _partition(g: Grouper, items) -> set[frozenset]:
    groups: dict[int, set] = {}
    for it in items:
        groups.setdefault(g.event_of(it.key), set()).add(it.key)
    return {frozenset(s) for s in groups.values()}


def _stories(g: Grouper, items) -> set[frozenset]:
    groups: dict[int, set] = {}
    for it in items:
        e = g.event_of(it.key)
        groups.setdefault(g.storylines.resolve(g.events.clusters[e].storyline), set()).add(it.key)
    return {frozenset(s) for s in groups.values()}


def test_batching_and_run_boundaries_do_not_change_the_groups(tweets):
    """Exact integer arithmetic: one run, many small runs, and any batch size give identical groups; tag
    threads included (the tweets spread over 50 accounts)."""
    items = [item(("x", t.tweet_id % 50, t.tweet_id), t.ts, t.text) for t in tweets]
    one = Grouper()
    one.process(items)
    small_batches = Grouper(Params(bucket_posts=37))
    small_batches.process(items)
    runs = Grouper()
    cuts = sorted(random.Random(5).sample(range(1, len(items)), 12))
    for lo, hi in zip([0, *cuts], [*cuts, len(items)], strict=True):
        runs.process(items[lo:hi])
    expected = _partition(one, items)
    assert len(expected) < len(items) * 0.9  # real grouping happened
    assert _partition(small_batches, items) == expected
    assert _partition(runs, items) == expected
    assert _stories(runs, items) == _stories(one, items)
    assert _stories(small_batches, items) == _stories(one, items)
    unthreaded = Grouper(Params(thread_hours=0.0))
    unthreaded.process(items)
    assert _stories(unthreaded, items) != _stories(one, items)  # tag threads merged storylines


def test_compacting_the_store_of_cluster_sums_does_not_change_the_groups(tweets, monkeypatch):
    """Closed and superseded cluster sums are dropped from the scoring store: compacting after every bucket
    gives the same groups as never compacting."""
    from ingest.events import sums

    items = [item(("x", 0, t.tweet_id), t.ts, t.text) for t in tweets]
    p = Params(window_hours=6, storyline_window_hours=24, bucket_posts=64)
    plain = Grouper(p)
    plain.process(items)
    monkeypatch.setattr(sums, "COMPACT_MIN", 0)
    compacted = Grouper(p)
    compacted.process(items)
    assert compacted.events.store.n < plain.events.store.n  # it did compact
    assert _partition(compacted, items) == _partition(plain, items)
    assert _stories(compacted, items) == _stories(plain, items)


_SYLLABLES = "ba be bi bo bu da de di do du fa fe fi fo fu ga ge gi go gu ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu za ze zi zo zu".split()  # fmt: skip
_COMMON = "people city today morning centre district residents police weather street".split()


def _common_name_stream() -> list[Item]:
    """200 unrelated posts: 12 rare words each, 3 everyday words, and the name of the city."""
    rng = random.Random(3)
    out = []
    for i in range(200):
        words = ["".join(rng.choice(_SYLLABLES) for _ in range(3)) for _ in range(12)] + rng.sample(
            _COMMON, 3
        )
        rng.shuffle(words)
        words.insert(rng.randrange(1, len(words)), "Kyiv")
        out.append(item(("telegram", 1 + i % 30, i), 60 * i, " ".join(words)))
    return out


def test_a_common_name_does_not_pull_unrelated_posts_into_one_event():
    """A centroid made of what its posts share (the city's name, everyday words) attracts every post that has
    them; the mean-similarity test keeps such posts apart."""
    items = _common_name_stream()

    def largest(params: Params) -> int:
        g = Grouper(params)
        g.process(items)
        return max(Counter(g.event_of(it.key) for it in items).values())

    assert largest(Params(event_link_threshold=0)) > 50  # without the test: one event of the city
    assert largest(Params()) <= 10


def test_clusters_too_old_for_a_bucket_stay_out_of_its_product_without_changing_the_groups(
    tweets, monkeypatch
):
    """A cluster whose first post is more than its level's span before a bucket's first post cannot take any of
    the bucket's posts by similarity, so the bucket's candidate product leaves it out; forwards and copies still
    reach it. Same events and storylines as the product over every open cluster."""
    from ingest.events import sums

    base = [item(("x", 0, t.tweet_id), t.ts, t.text) for t in tweets]
    # Forwards of early posts, many hours later (beyond the spans below), in other words: they join through
    # stage 0 the old events that the product left out.
    early = base[: len(base) // 10 : 7]
    late = base[-1].ts
    links = [
        item(("telegram", 9, n), late - 3600 * (n % 5), "🔥 see above", refs=[("forward", e.key)])
        for n, e in enumerate(early)
    ]
    items = base + links
    p = Params(window_hours=12, storyline_window_hours=48, event_max_span_hours=3, storyline_max_span_hours=10,
               bucket_posts=64)  # fmt: skip

    seen = {"open": 0, "rows": 0}
    real_begin = sums.Level.begin

    def counted(self, bk, ts0, floor, max_span_h=0.0, young=None, aging=None):
        real_begin(self, bk, ts0, floor, max_span_h, young, aging)
        n = self.store.n
        seen["open"] += int((self.store.live[:n] & (self.store.last[:n] >= ts0 - self.window_s)).sum())
        seen["rows"] += self.ST.shape[0]

    monkeypatch.setattr(sums.Level, "begin", counted)
    pruned = Grouper(p)
    pruned.process(items)
    assert seen["rows"] < 0.8 * seen["open"], seen  # the product did leave old clusters out

    monkeypatch.setattr(sums.Level, "begin", lambda self, bk, ts0, floor, max_span_h=0.0, young=None, aging=None:
                        real_begin(self, bk, ts0, floor, 0.0, young, aging))  # fmt: skip
    every = Grouper(p)
    every.process(items)
    assert _partition(pruned, items) == _partition(every, items)
    assert _stories(pruned, items) == _stories(every, items)
    for e, ln in zip(early, links, strict=True):  # each late forward is in its original's event
        assert pruned.event_of(ln.key) == pruned.event_of(e.key)


def test_candidates_below_the_bar_of_their_age_stay_out_without_changing_the_groups(tweets, monkeypatch):
    """Every use of a bucket's candidates asks at least the bar of the cluster's age (`Params.event_bar`,
    `storyline_bar`), which only rises with age, so the candidates start at each cluster's bar at the bucket's
    first post rather than at the level's floor: fewer of them, and the same events and storylines as from the
    flat floor."""
    from ingest.events import sums

    items = [item(("x", 0, t.tweet_id), t.ts, t.text) for t in tweets]
    # Short grace and steep slopes, spans longer than the windows: the bars, not the spans, leave clusters out.
    p = Params(window_hours=12, storyline_window_hours=24, event_grace_hours=1, event_age_slope=0.05,
               storyline_grace_hours=2, storyline_age_slope=0.03, bucket_posts=64)  # fmt: skip
    real_begin = sums.Level.begin
    seen = {True: 0, False: 0}

    def counting(use_bar: bool):
        def begin(self, bk, ts0, floor, max_span_h=0.0, young=None, aging=None):
            real_begin(self, bk, ts0, floor, max_span_h, young, aging if use_bar else None)
            seen[use_bar] += len(self.cand_k)

        return begin

    monkeypatch.setattr(sums.Level, "begin", counting(True))
    aged = Grouper(p)
    aged.process(items)
    monkeypatch.setattr(sums.Level, "begin", counting(False))
    flat = Grouper(p)
    flat.process(items)
    assert seen[True] < 0.9 * seen[False], seen  # the bars did leave candidates out
    assert _partition(aged, items) == _partition(flat, items)
    assert _stories(aged, items) == _stories(flat, items)


def test_the_age_bar_of_an_array_is_the_bar_of_each_age():
    """The bucket's candidate floors (`records.age_bar`) equal the bar a post is held to (`cluster._bar`) element
    by element, at every level's parameters: what the product leaves out, the bar refuses."""
    from ingest.events.cluster import _bar
    from ingest.events.records import age_bar

    p = Params()
    rng = random.Random(7)
    for threshold, grace, slope, span in (
        (p.rarity_event_threshold, p.event_grace_hours, p.event_age_slope, p.event_max_span_hours),
        (p.event_merge_threshold, p.event_grace_hours, p.event_age_slope, p.event_max_span_hours),
        (p.storyline_threshold, p.storyline_grace_hours, p.storyline_age_slope, p.storyline_max_span_hours),
    ):
        ages = [0.0, 1.0, grace * 3600.0, grace * 3600.0 + 1e-3, span * 3600.0]
        ages += [rng.uniform(0.0, span * 3600.0) for _ in range(2000)]
        bars = age_bar(threshold, np.array(ages), grace, slope)
        assert bars.tolist() == [_bar(threshold, a, grace, slope, span) for a in ages]


def test_a_rate_at_another_level_stays_out_though_one_member_named_its_other_figure():
    """Rates chain level by level when any figure a member named counts: three channels report the dollar at
    112, one adds the euro at 118, and "113, euro 118" shares that one figure. The event's core figures (112,
    which most of its posts repeat) decide; a report of the same level still joins."""
    level = "Доллар поднялся выше 112 рублей, — данные торгов"
    with_euro = "Доллар поднялся выше 112 рублей, евро — выше 118 рублей"
    next_level = "Доллар поднялся выше 113 рублей, евро — выше 118 рублей"
    same_level = "Курс доллара поднялся выше 112 рублей на бирже"
    items = [item(("telegram", c, 1), 60 * c, level) for c in (1, 2, 3)]
    items += [item(("telegram", 4, 1), 300, with_euro), item(("telegram", 5, 1), 1500, next_level)]
    items += [item(("telegram", 6, 1), 1600, same_level)]
    g = Grouper()
    g.process(items)
    first = g.event_of(items[0].key)
    assert [g.event_of(it.key) == first for it in items] == [True, True, True, True, False, True]
    union = Grouper(Params(figure_core=0))  # every figure of the event counts: the next level joins
    union.process(items)
    assert union.event_of(items[4].key) == union.event_of(items[0].key)
