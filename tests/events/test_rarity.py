"""Rarity weights of the event level (`ingest.events.rarity`): what they weigh, that they depend only on which
posts of the days before exist, and the per-day counts the warehouse keeps for them (`grouping_days`)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from ingest.events import group_window
from ingest.events.cluster import Item
from ingest.events.rarity import DAY, DayCounts, StreamWeigher, day_of, run_days, weigh
from ingest.events.text import vectorize
from ingest.models import Post
from ingest.warehouse.loader import Loader
from tests.events.posts import sets

T0 = datetime(2024, 11, 1, tzinfo=timezone.utc).timestamp()


def real_items(shared_data, channels=("1000724666", "1003313758"), limit=1500) -> list[Item]:
    out = []
    for ch in channels:
        for k, line in enumerate((shared_data / "telegram_news_ru" / f"{ch}.jsonl").open(encoding="utf-8")):
            if k >= limit:
                break
            r = json.loads(line)
            ts = datetime.fromisoformat(r["date"]).timestamp()
            out.append(Item(("telegram", int(ch), int(r["id"])), ts, vectorize(r.get("message") or "")))
    return sorted(out, key=lambda it: it.order)


def same(a: Item, b: Item) -> bool:
    return (
        np.array_equal(a.vec.idx, b.vec.idx) and np.array_equal(a.vec.val, b.vec.val) and a.rarity == b.rarity
    )


def test_a_word_every_earlier_post_had_weighs_less_than_a_word_none_had():
    earlier = [Item(("t", 1, i), T0 + 60 * i, vectorize(f"Moscow report number{i} today")) for i in range(50)]
    post = Item(("t", 2, 1), T0 + DAY + 60, vectorize("Moscow Ramenskoye"))
    out, _ = weigh([*earlier, post], full_posts=50)
    w = dict(zip(out[-1].vec.idx.tolist(), out[-1].vec.val.tolist(), strict=True))
    plain = dict(zip(post.vec.idx.tolist(), post.vec.val.tolist(), strict=True))
    moscow = vectorize("Moscow").idx.tolist()
    rare = vectorize("Ramenskoye").idx.tolist()
    assert all(w[f] < plain[f] for f in moscow) and all(w[f] > plain[f] for f in rare)
    assert out[-1].rarity == 1.0 and out[-1].svec is post.vec  # storylines keep the plain vector
    # The first day has no earlier day: its posts keep their vectors exactly, with no rarity.
    assert all(same(a, dataclasses.replace(b, svec=b.vec)) for a, b in zip(out[:50], earlier, strict=True))
    assert all(a.rarity == 0.0 for a in out[:50])


def test_a_short_history_weighs_in_part():
    earlier = [Item(("t", 1, i), T0 + 60 * i, vectorize(f"Moscow report number{i} today")) for i in range(50)]
    post = Item(("t", 2, 1), T0 + DAY + 60, vectorize("Moscow Ramenskoye"))
    half, _ = weigh([*earlier, post], full_posts=100)
    full, _ = weigh([*earlier, post], full_posts=50)
    assert half[-1].rarity == 0.5
    moscow = int(np.searchsorted(post.vec.idx, vectorize("Moscow").idx[0]))
    assert full[-1].vec.val[moscow] < half[-1].vec.val[moscow] < post.vec.val[moscow]


def test_weights_depend_only_on_the_posts_of_the_days_before_however_runs_are_cut(shared_data):
    """A run that groups the later posts, with the earlier ones' per-day counts as the warehouse would give them,
    weighs every post exactly as one run over all of them: the cut falls anywhere, also inside a day."""
    items = real_items(shared_data)
    assert day_of(items[-1].ts) - day_of(items[0].ts) > 20
    whole, counts = weigh(items)
    by_key = {it.key: it for it in whole}
    for cut in (len(items) // 3, len(items) // 2 + 7):
        before, after = items[:cut], items[cut:]
        earlier = run_days(before)
        later, _ = weigh(after, earlier)
        assert all(same(it, by_key[it.key]) for it in later)
    # The counts returned are those of the posts: each day's posts and, per feature, how many of them have it.
    d = day_of(items[len(items) // 2].ts)
    day_posts = [it for it in items if day_of(it.ts) == d]
    assert counts[d].posts == len(day_posts)
    ref = DayCounts.of([it.vec for it in day_posts])
    assert np.array_equal(counts[d].idx, ref.idx) and np.array_equal(counts[d].cnt, ref.cnt)


def _arrays_equal(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))


@pytest.mark.parametrize("chunk", [1, 97, 1000])
def test_weighing_in_time_ordered_chunks_equals_one_weighing(shared_data, chunk):
    """A regroup that scores early posts while later ones are still prepared weighs them chunk by chunk
    (`StreamWeigher`): every item (weights, plain vector, share, rare and hot features) and the day counts it
    returns equal one `weigh` of all of them, with stored counts for the first days, anchors and burst words."""
    items = real_items(shared_data, channels=("1000724666", "1003313758", "1101170442"), limit=2500)
    cut = len(items) // 4
    earlier = run_days(items[:cut])
    run = items[cut:]
    kwargs = dict(full_posts=300, anchor_df=10, hot=(3, 8.0))
    whole, counts = weigh(run, earlier, **kwargs)
    stream = StreamWeigher(earlier, **kwargs)
    got = [it for k in range(0, len(run), chunk) for it in stream.weigh(run[k : k + chunk])]
    assert len(got) == len(whole)
    assert any(it.hot is not None and len(it.hot) for it in whole) and any(
        it.rare is not None for it in whole
    )
    for a, b in zip(got, whole, strict=True):
        assert a.key == b.key and same(a, b) and a.svec is b.svec
        assert _arrays_equal(a.rare, b.rare) and _arrays_equal(a.hot, b.hot)
    got_counts = stream.counts()
    assert got_counts.keys() == counts.keys()
    for d, c in counts.items():
        g = got_counts[d]
        assert g.posts == c.posts and np.array_equal(g.idx, c.idx) and np.array_equal(g.cnt, c.cnt), d
    with pytest.raises(ValueError):
        stream.weigh(run[:1])  # an item of an earlier day than the last: not in time order


def test_a_vector_is_weighed_the_same_whatever_else_shares_its_day(shared_data):
    items = real_items(shared_data, channels=("1000724666",), limit=600)
    whole, _ = weigh(items)
    last_day = day_of(items[-1].ts)
    alone = [it for it in items if day_of(it.ts) < last_day] + [
        it for it in items if day_of(it.ts) == last_day
    ][:1]
    part, _ = weigh(alone)
    assert same(part[-1], next(it for it in whole if it.key == part[-1].key))


def _posts(n_days: int, per_day: int, start: datetime) -> list[Post]:
    words = ["drone", "Kursk", "airport", "Tbilisi", "protest", "rouble", "dollar", "snow", "Duma", "law"]
    out = []
    for d in range(n_days):
        for k in range(per_day):
            text = f"{words[(d + k) % 10]} {words[(3 * d + k) % 10]} report {d * 100 + k} {words[k % 10]}"
            out.append(Post(platform="telegram", channel_id=1 + k % 3, post_id=d * 100 + k + 1,
                            posted_at=start + timedelta(days=d, hours=1 + k), text=text, source="test"))  # fmt: skip
    return out


def test_the_warehouse_keeps_the_counts_of_wholly_grouped_days_and_a_replay_counts_them_again(conn):
    start = datetime(2024, 11, 1, tzinfo=timezone.utc)
    posts = _posts(5, 6, start)
    Loader(conn).load(posts)
    conn.commit()
    group_window(conn)
    rows = dict(conn.execute("SELECT day, posts FROM grouping_days").fetchall())
    first = day_of(start.timestamp())
    # Every day of the run, and the empty days of the window before the first.
    assert {d: n for d, n in rows.items() if n} == {first + d: 6 for d in range(5)}
    assert set(rows) == set(range(first - 14, first + 5))
    # A late post on the second day: the replay from it drops the counts of its day and after, and counts them
    # again with the post.
    late = dataclasses.replace(posts[7], post_id=999, posted_at=start + timedelta(days=1, hours=20))
    Loader(conn).load([late])
    conn.commit()
    assert group_window(conn).mode == "replay"
    rows = dict(conn.execute("SELECT day, posts FROM grouping_days").fetchall())
    assert rows[first + 1] == 7 and rows[first] == 6 and rows[first + 3] == 6
    stored = conn.execute("SELECT idx, cnt FROM grouping_days WHERE day = %s", (first + 1,)).fetchone()
    from ingest.events.group import vector_of

    ref = DayCounts.of([vector_of(p.text) for p in [*posts[6:12], late]])
    assert stored == (ref.idx.tolist(), ref.cnt.tolist())
    # A table that drifted from the grouped posts is counted again, not trusted: a day's row that says 5 posts
    # (with wrong counts) while 6 are grouped is recounted by the next run whose window holds it.
    conn.execute("UPDATE grouping_days SET posts = 5, cnt = array_fill(1, ARRAY[cardinality(idx)]) WHERE day = %s",
                 (first + 2,))  # fmt: skip
    extra = dataclasses.replace(posts[13], post_id=998, posted_at=start + timedelta(days=4, hours=23))
    Loader(conn).load([extra])
    conn.commit()
    assert group_window(conn).mode == "incremental"
    assert conn.execute("SELECT posts FROM grouping_days WHERE day = %s", (first + 2,)).fetchone() == (6,)
    # The rewind of a replay leaves only the days before its first (it rolls back here).
    from ingest.warehouse.event_replay import rewind

    with conn.transaction(force_rollback=True):
        rewind(conn, start + timedelta(days=2, hours=3))
        assert max(d for (d,) in conn.execute("SELECT day FROM grouping_days")) == first + 1


@pytest.mark.slow
def test_real_channels_grouped_run_by_run_as_days_arrive_equal_one_regroup(conn, shared_data):
    """Four real channels (3,312 posts over two months) grouped as a schedule would: runs that each take the posts
    up to a later cut, some cuts inside a day, with the stored day counts carried between runs; the groups equal
    one regroup from scratch."""
    from ingest.run.imports import import_files
    from ingest.warehouse.event_reads import partition, storyline_partition

    import_files(conn, [shared_data / "telegram_news_ru" / f"{c}.jsonl" for c in ("1000724666", "1003313758",
                                                                                   "1003921752", "1032086354")])  # fmt: skip
    conn.commit()
    first, last = conn.execute("SELECT min(posted_at), max(posted_at) FROM posts").fetchone()
    cut = first + timedelta(days=20, hours=5)
    modes = []
    while cut < last:
        modes.append(group_window(conn, until=cut).mode)
        cut += timedelta(days=9, hours=7)
    modes.append(group_window(conn).mode)
    assert modes.count("incremental") >= 4
    assert conn.execute("SELECT count(*) FROM grouping_days WHERE posts > 0").fetchone()[0] > 40
    runs = (sets(partition(conn)), sets(storyline_partition(conn)))
    group_window(conn, full=True)
    assert (sets(partition(conn)), sets(storyline_partition(conn))) == runs
