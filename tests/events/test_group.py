"""Grouping in the warehouse: Rutte reports become one event, forwards join their origin, ids stay stable,
merges redirect, and incremental runs (with late arrivals and edits) equal one full regroup."""

from __future__ import annotations

import dataclasses
import random
import re
import tomllib
from datetime import datetime as dt
from datetime import timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from ingest.events import group_window, list_events, partition, resolve_event
from ingest.events.cluster import Params
from ingest.events.evaluate import read_crisislex
from ingest.models import Channel, Post
from ingest.warehouse.event_reads import largest_event_share, storyline_partition
from ingest.warehouse.event_writes import write_event_posts
from ingest.warehouse.loader import Loader
from tests.events.posts import (
    AGGREGATOR,
    INTELSLAVA,
    T0,
    forward_of_intelslava,
    post,
    rutte_posts,
    sets,
    unrelated_posts,
)  # fmt: skip


def load(conn, posts):
    Loader(conn).load(posts)
    conn.commit()


def test_rutte_reports_form_one_event_and_unrelated_posts_do_not_join(conn):
    load(conn, rutte_posts() + unrelated_posts())
    stats = group_window(conn)
    assert stats.mode == "incremental" and stats.posts == 9
    part = partition(conn)
    rutte = {part[p.key] for p in rutte_posts()}
    assert len(rutte) == 1
    (eid,) = rutte
    assert all(part[p.key] != eid for p in unrelated_posts())
    assert len({part[p.key] for p in unrelated_posts()}) == len(unrelated_posts())
    top = list_events(conn)[0]
    assert top["event_id"] == eid
    assert top["post_count"] == 4 and top["source_count"] == 4
    assert top["first_post_at"] == T0 and top["origin_handle"] == "intelslava"
    assert top["title"].startswith("NATO Secretary General Mark Rutte")


def test_a_run_collects_cycles_less_often_and_puts_the_collector_back(conn, monkeypatch):
    import gc

    from ingest.events import group as grouping

    seen = []
    run = grouping._run

    def spy(*args, **kwargs):
        seen.append(gc.get_threshold())
        return run(*args, **kwargs)

    monkeypatch.setattr(grouping, "_run", spy)
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        load(conn, rutte_posts())
        group_window(conn)
        assert seen == [grouping.GROUPING_GC_THRESHOLDS]
        assert gc.get_threshold() == (700, 10, 10)
        # A process tuned already (a bulk command) keeps its own setting.
        gc.set_threshold(500_000, 20, 20)
        group_window(conn, full=True)
        assert seen[1] == gc.get_threshold() == (500_000, 20, 20)
    finally:
        gc.set_threshold(*before)


def test_a_forward_joins_its_origin_and_counts_once(conn):
    load(conn, rutte_posts() + unrelated_posts())
    group_window(conn)
    fwd = dataclasses.replace(forward_of_intelslava(), text="Look at this 👇")  # different text, same origin
    load(conn, [fwd])
    group_window(conn)
    part = partition(conn)
    assert part[fwd.key] == part[rutte_posts()[0].key]
    row = conn.execute(
        "SELECT role, joined_by FROM event_posts WHERE channel_id = %s AND post_id = %s",
        (AGGREGATOR.channel_id, 900),
    ).fetchone()
    assert row == ("forward", "forward")
    ev = next(e for e in list_events(conn) if e["event_id"] == part[fwd.key])
    assert ev["post_count"] == 5 and ev["source_count"] == 4  # the forward counts for Intelslava


def test_ids_are_stable_across_reruns_increments_and_replays(conn):
    load(conn, rutte_posts()[:2])
    group_window(conn)
    first = partition(conn)
    assert group_window(conn).mode == "noop"
    assert partition(conn) == first
    load(conn, rutte_posts()[2:] + unrelated_posts())  # some are earlier than the last grouped post: a replay
    stats = group_window(conn)
    assert stats.mode == "replay"
    after = partition(conn)
    assert all(after[k] == v for k, v in first.items())
    group_window(conn, full=True)
    assert partition(conn) == after


def test_a_merge_keeps_the_older_id_and_redirects_the_other(conn):
    ch = Channel("telegram", 5, "local_news", "Local")
    a = "Kherson substation Ostriv shelled overnight, blackout across Dniprovskyi district"
    b = "Mykolaiv waterworks Vitovka pumping station damaged, water supply cut in Korabelnyi district"
    p1, p2 = post(ch, 1, T0, a), post(ch, 2, T0 + timedelta(minutes=5), b)
    params = Params(event_threshold=0.5, event_merge_threshold=0.5, short_post_features=0)
    load(conn, [p1, p2])
    group_window(conn, params=params)
    e1, e2 = partition(conn)[p1.key], partition(conn)[p2.key]
    assert e1 != e2
    p3 = post(ch, 3, T0 + timedelta(minutes=9), a + ". " + b)
    load(conn, [p3])
    stats = group_window(conn, params=params)
    assert stats.events_merged == 1
    part = partition(conn)
    assert part[p1.key] == part[p2.key] == part[p3.key] == e1
    assert resolve_event(conn, e2) == e1
    assert conn.execute(
        "SELECT to_event_id FROM event_redirects WHERE from_event_id = %s", (e2,)
    ).fetchone() == (e1,)
    assert conn.execute("SELECT merged_into FROM events WHERE event_id = %s", (e2,)).fetchone() == (e1,)
    assert {e["event_id"] for e in list_events(conn)} == {e1}


def test_an_edit_regroups_the_post(conn):
    posts = rutte_posts() + unrelated_posts()
    load(conn, posts)
    group_window(conn)
    ru = posts[3]
    edited = dataclasses.replace(
        ru, text="Сборная России по хоккею проиграла в финале турнира.", edited_at=ru.posted_at + timedelta(hours=1),
        version_at=ru.posted_at + timedelta(hours=1),
    )  # fmt: skip
    load(conn, [edited])
    stats = group_window(conn)
    assert stats.mode == "replay" and stats.posts >= 1
    part = partition(conn)
    assert part[ru.key] != part[posts[0].key]


@pytest.fixture(scope="module")
def crisis_posts(shared_data) -> list[Post]:
    """Real tweets (three crises, some concurrent) as X posts, plus retweet-style duplicates."""
    tweets = read_crisislex(shared_data / "events" / "crisislext26")
    keep = {"2013_LA_airport_shootings", "2013_Typhoon_Yolanda", "2013_Australia_bushfire"}
    chosen = [t for t in tweets if t.label in keep][:700]
    ch = {lab: Channel("x", 3000 + i, f"acct{i}", lab) for i, lab in enumerate(sorted(keep))}
    return [
        Post(platform="x", channel_id=ch[t.label].channel_id + (t.tweet_id % 7) * 10, post_id=t.tweet_id,
             posted_at=dt.fromtimestamp(t.ts, tz=timezone.utc), text=t.text, source="test")
        for t in chosen
    ]  # fmt: skip


def test_incremental_runs_with_late_arrivals_equal_one_full_regroup(conn, crisis_posts):
    rng = random.Random(11)
    order = sorted(crisis_posts, key=lambda p: p.posted_at)
    # Arrive in 6 batches, each mostly newer but with a few stragglers from the past.
    batches = [order[i : i + 120] for i in range(0, len(order), 120)]
    for k in range(1, len(batches)):
        late = rng.sample(batches[k], 5)
        batches[k] = [p for p in batches[k] if p not in late]
        batches[min(k + 1, len(batches) - 1) if k + 1 < len(batches) else k].extend(late)
    modes = []
    for batch in batches:
        load(conn, batch)
        modes.append(group_window(conn).mode)
    assert "incremental" in modes and "replay" in modes
    inc_events, inc_stories = partition(conn), storyline_partition(conn)
    assert len(inc_events) == len(crisis_posts)
    # Regroup from scratch (every group forgotten), then compare partitions.
    conn.execute(
        "TRUNCATE event_posts, event_redirects, storyline_redirects, events, storylines, grouping_state"
    )
    conn.commit()
    assert group_window(conn).mode == "incremental"
    assert sets(partition(conn)) == sets(inc_events)
    assert sets(storyline_partition(conn)) == sets(inc_stories)
    assert len(sets(inc_events)) < len(crisis_posts) * 0.8


def test_changed_parameters_force_a_full_regroup(conn):
    load(conn, rutte_posts())
    group_window(conn)
    stats = group_window(conn, params=Params(event_threshold=0.9))
    assert stats.mode == "full"
    assert len(set(partition(conn).values())) > 1


DEMO = Path(__file__).resolve().parents[2] / "seeds" / "demo"


@pytest.mark.skipif(not (DEMO / "ground_truth.toml").is_file(), reason="seeds/demo not present")
def test_demo_day_groups_as_its_ground_truth(conn):
    from ingest.run.imports import import_files

    import_files(conn, [DEMO])
    conn.commit()
    group_window(conn)
    truth = tomllib.loads((DEMO / "ground_truth.toml").read_text(encoding="utf-8"))
    ch = {k: tuple(v) for k, v in truth["channels"].items()}
    part = partition(conn)

    def key(c, pid):
        return (ch[c][0], ch[c][1], pid)

    event_ids = []
    for ev in truth["events"]:
        ids = {part[key(p["channel"], p["post_id"])] for p in ev["posts"]}
        assert len(ids) == 1, ev["key"]
        event_ids.append(ids.pop())
    assert len(set(event_ids)) == len(event_ids)
    # every event holds exactly its ground-truth posts, and every noise post is alone
    for ev, eid in zip(truth["events"], event_ids, strict=True):
        members = {k for k, e in part.items() if e == eid}
        assert members == {key(p["channel"], p["post_id"]) for p in ev["posts"]}, ev["key"]
    for c, pids in truth["noise"].items():
        for pid in pids:
            eid = part[key(c, pid)]
            assert eid not in event_ids, (c, pid)
            assert [k for k, e in part.items() if e == eid] == [key(c, pid)], (c, pid)
    assert len(part) == sum(len(ev["posts"]) for ev in truth["events"]) + sum(
        map(len, truth["noise"].values())
    )
    rutte = next(e for e in list_events(conn) if e["event_id"] == event_ids[0])
    first = truth["events"][0]["first"]
    assert (rutte["origin_handle"], rutte["origin_post_id"]) == (first[0].lower(), first[1])
    assert rutte["post_count"] == len(truth["events"][0]["posts"])
    # the forward (18418) and the repost count for their origins: 5 independent sources
    assert rutte["source_count"] == 5
    assert rutte["first_post_at"] == dt(2026, 6, 26, 2, 47, 10, tzinfo=timezone.utc)
    _ = INTELSLAVA


@pytest.mark.skipif(not (DEMO / "ground_truth.toml").is_file(), reason="seeds/demo not present")
def test_another_estimate_of_the_same_happening_stays_in_its_event(conn):
    """The demo's Rutte event: Polymarket edits its post to "$60 billion"; the Russian post that puts the package
    at "about 40 billion" among many words stays in the event (a brief shows the two estimates), because a figure
    conflict costs in proportion to how much of the post its figures are (`Params.figure_share_full`). With the
    full margin for any post, the edit pushes it out into an event of its own."""
    from ingest.run.imports import import_files
    from ingest.warehouse.event_reads import post_texts

    channels = tomllib.loads((DEMO / "ground_truth.toml").read_text(encoding="utf-8"))["channels"]
    russian = (*channels["opersvodka_demo"], 18419)
    edited = (*channels["PolymarketIntel"], 2070340793922536657)
    import_files(conn, [DEMO])
    conn.commit()
    group_window(conn)
    text, posted_at = post_texts(conn, [edited])[edited]
    ch = Channel(*edited[:2], "polymarketintel", "Polymarket Intel")
    Loader(conn).load([Post(*edited, posted_at, text + " Sources put it at $60 billion.", channel=ch,
                            version_at=posted_at + timedelta(minutes=20), source="test")])  # fmt: skip
    conn.commit()
    group_window(conn)
    assert partition(conn)[russian] == partition(conn)[edited]
    group_window(conn, full=True, params=Params(figure_share_full=0))
    assert partition(conn)[russian] != partition(conn)[edited]


def test_writing_a_grouped_post_again_replaces_its_row(conn):
    """event_posts rows go in by binary COPY; a key that already exists takes the upsert path instead."""
    load(conn, rutte_posts())
    group_window(conn)
    p = rutte_posts()[1]
    write_event_posts(
        conn,
        [(*p.key, 999, 999, p.posted_at, "report", "similar", 0.5, 7, None, None,
          np.array([3, 5, 2_000_000], np.int32), np.array([1, 1000, 30]), np.array([2, 900, 40]),
          "Rutte in Ankara", -5, [-5, 12], [-9, 4])],
    )  # fmt: skip
    row = conn.execute(
        """SELECT event_id, content_hash, vec_idx, vec_val, story_val, title, main_key, sentence_keys, tag_keys
           FROM event_posts WHERE channel_id = %s AND post_id = %s""",
        (p.channel_id, p.post_id),
    ).fetchone()
    assert row == (
        999, 7, [3, 5, 2_000_000], [1, 1000, 30], [2, 900, 40], "Rutte in Ankara", -5, [-5, 12], [-9, 4]
    )  # fmt: skip
    assert conn.execute("SELECT count(*) FROM event_posts").fetchone()[0] == 4


def test_the_largest_event_share_of_a_day(conn):
    load(conn, rutte_posts() + unrelated_posts())
    group_window(conn)
    share = largest_event_share(conn, min_day_posts=5)
    assert share["share"] == round(4 / 9, 4) and share["event_posts"] == 4 and share["day_posts"] == 9
    assert share["event_id"] == partition(conn)[rutte_posts()[0].key]
    assert largest_event_share(conn, min_day_posts=10) is None


# Four channels of the real news stream (3,312 posts over two months), grouped with the event level's rarity
# weights (re-pinned 2026-12-06; before them: 25169ada8d5bf4f0 / 01552af7710d0b68; re-pinned 2026-12-07 for the
# figure margin in proportion to the figures' share and the figure test in stage 2, before 955792069b53853d /
# 366d491005614add; re-pinned 2026-12-07 late evening for names and concepts hashed apart from words, which the
# storylines' burst test counts alone: before 63686633a653e59b, storylines unchanged): a digest of the events and
# of the storylines, each a sorted list of sorted post keys. A change of
# grouping (of the method, the parameters or the arithmetic) changes them; a deliberate one re-pins them here and
# reports its quality figures (docs/grouping.md).
PINNED_CHANNELS = ("1000724666", "1003313758", "1003921752", "1032086354")
PINNED_EVENTS = "bafb28980ff9a1bb"
PINNED_STORYLINES = "e1e2a641413b4605"


def digest(groups: set[frozenset]) -> str:
    import hashlib

    return hashlib.sha256(repr(sorted(tuple(sorted(g)) for g in groups)).encode()).hexdigest()[:16]


@pytest.mark.slow
def test_a_real_sample_groups_exactly_as_pinned_however_it_is_batched(conn, shared_data, monkeypatch):
    from ingest.events import prepare
    from ingest.run.imports import import_files

    import_files(conn, [shared_data / "telegram_news_ru" / f"{c}.jsonl" for c in PINNED_CHANNELS])
    conn.commit()
    # Texts prepared by the worker processes (only runs of tens of thousands of posts use them otherwise).
    monkeypatch.setattr(prepare, "MIN_PARALLEL", 1000)
    monkeypatch.setattr(prepare, "MIN_STREAMED", 1000)
    monkeypatch.setenv("WIREWATCH_GROUP_WORKERS", "2")
    stats = group_window(conn)
    assert stats.posts == 3312
    assert "vectorise" not in stats.phases  # prepared, weighed and scored side by side (`_score_as_prepared`)
    events, storylines = sets(partition(conn)), sets(storyline_partition(conn))
    assert (digest(events), digest(storylines)) == (PINNED_EVENTS, PINNED_STORYLINES)
    # The days' stored hashtag uses (tag threads' rubric memory) are those of the grouped posts.
    tag_days = stored_tag_days(conn)
    assert len(tag_days) > 20 and tag_days == scanned_tag_days(conn)
    # One process, one thread and small buckets: the same groups (the workers, the second thread and the bucket
    # size only decide where and how much is computed at once).
    monkeypatch.setenv("WIREWATCH_GROUP_WORKERS", "1")
    stats = group_window(conn, full=True, params=Params(bucket_posts=100))
    assert "vectorise" in stats.phases  # prepared first, then weighed, then scored
    assert sets(partition(conn)) == events and sets(storyline_partition(conn)) == storylines
    assert stored_tag_days(conn) == tag_days


def stored_tag_days(conn) -> set[tuple]:
    """(day, tag key, platform, channel) as the days' rows of `grouping_days` keep them."""
    return {
        (day, k, platform, channel)
        for day, keys, platforms, channels in conn.execute(
            "SELECT day, tag_keys, tag_platforms, tag_channels FROM grouping_days WHERE posts > 0"
        )
        for k, platform, channel in zip(keys, platforms, channels, strict=True)
    }


def scanned_tag_days(conn) -> set[tuple]:
    """The same, counted from the grouped posts."""
    return set(
        conn.execute(
            """SELECT DISTINCT floor(extract(epoch FROM posted_at) / 86400)::int, k, platform, channel_id
               FROM event_posts, unnest(tag_keys) AS k"""
        ).fetchall()
    )


def unrelated_posts_at(at):
    return [
        dataclasses.replace(p, post_id=p.post_id + 500, posted_at=at + timedelta(minutes=2))
        for p in unrelated_posts()
    ]


def test_an_increment_loads_only_events_young_enough_yet_copies_and_forwards_reach_the_older_ones(
    conn, monkeypatch
):
    """An increment reads eagerly only the open events whose first post is within the similarity span of its
    first post (older ones cannot take a post by similarity); a copy or a forward of a post of an older, still
    open event loads that event and joins it, as when every open event was read."""
    from ingest.events import group as group_mod

    load(conn, rutte_posts())
    group_window(conn)
    origin = rutte_posts()[0]
    # The event stays open: a forward 30 h later (stage 0 joins whatever the age).
    keep_open = dataclasses.replace(
        forward_of_intelslava(), post_id=901, posted_at=T0 + timedelta(hours=30), text="again 👇"
    )
    load(conn, [keep_open])
    group_window(conn)
    (eid,) = {partition(conn)[p.key] for p in rutte_posts()}

    read: list[int] = []
    real = group_mod.store.open_events

    def recorded(*args, **kw):
        rows = list(real(*args, **kw))
        read.extend(r.id for r in rows)
        return rows

    monkeypatch.setattr(group_mod.store, "open_events", recorded)
    later = T0 + timedelta(hours=55)  # the event's first post is 55 h old: past the 48 h span
    copy = post(AGGREGATOR, 902, later, origin.text)  # a copy without a forward header
    fwd = dataclasses.replace(
        forward_of_intelslava(), post_id=903, posted_at=later + timedelta(minutes=1), text="👇"
    )
    load(conn, [copy, fwd, *unrelated_posts_at(later)])
    stats = group_window(conn)
    assert stats.mode == "incremental"
    assert eid not in read  # not read up front
    part = partition(conn)
    assert part[copy.key] == part[fwd.key] == eid


def test_a_big_run_refreshes_the_planner_statistics_of_the_group_tables(conn, monkeypatch):
    """A run over many posts (a full regroup, a backfill) ends with ANALYZE of events, storylines and
    event_posts, so the next increment does not plan its reads for empty tables; a small one leaves it to
    autovacuum."""
    from ingest.events import group as group_mod

    def estimated() -> dict[str, float]:
        return dict(
            conn.execute(
                "SELECT relname::text, reltuples FROM pg_class "
                "WHERE relname IN ('events', 'storylines', 'event_posts') AND relkind = 'r'"
            ).fetchall()
        )

    load(conn, rutte_posts())
    monkeypatch.setattr(group_mod, "ANALYZE_AFTER_POSTS", 5)
    group_window(conn)  # 4 posts: below the mark
    assert all(v < 0 for v in estimated().values()), estimated()  # never analysed
    load(conn, unrelated_posts())
    group_window(conn, full=True)  # 9 posts
    after = estimated()
    assert after["event_posts"] == 9 and after["events"] >= 2 and after["storylines"] >= 1, after


@pytest.mark.slow
def test_event_titles_of_real_channels_carry_no_markup_decoration_or_signature(conn, shared_data):
    """Two real channels that decorate their posts (⚡️, **bold**) and sign every one (a subscribe link, an invite
    link, "send us news"): event and storyline titles are the cleaned first line, and a warehouse grouped before
    migration 018 (no cleaned titles stored) keeps the published first line until it is grouped again."""
    from ingest.run.imports import import_files
    from ingest.warehouse.event_writes import refresh_summaries

    channels = ("1699803165", "1754252633")  # moscowtoplive, topor
    import_files(conn, [shared_data / "telegram_news_ru" / f"{c}.jsonl" for c in channels])
    conn.commit()
    group_window(conn)
    titles = conn.execute("SELECT title FROM events WHERE merged_into IS NULL").fetchall()
    titles += conn.execute("SELECT title FROM storylines WHERE merged_into IS NULL").fetchall()
    assert len(titles) > 1000
    junk = re.compile(r"\*\*|__|\]\(|t\.me/|Подписаться|Прислать новость|[⚡❗🔴👉❤]")
    assert [t for (t,) in titles if junk.search(t)] == []
    assert sum(1 for (t,) in titles if t) >= len(titles) - 2
    # The published first line of one decorated origin post, and its event's title.
    eid, published, title = conn.execute(
        """SELECT e.event_id, p.text, e.title FROM events e
           JOIN posts p ON (p.platform, p.channel_id, p.post_id)
                         = (e.origin_platform, e.origin_channel_id, e.origin_post_id)
           WHERE e.merged_into IS NULL AND p.text LIKE '⚡️**%%' ORDER BY e.event_id LIMIT 1"""
    ).fetchone()
    first = published.split("\n", 1)[0]
    assert title == first.replace("⚡️", "").replace("**", "").strip()[:160] and title != first
    # Rows grouped before migration 018: the title falls back to the published first line.
    conn.execute("UPDATE event_posts SET title = NULL WHERE event_id = %s", (eid,))
    refresh_summaries(conn, [eid], [])
    assert conn.execute("SELECT title FROM events WHERE event_id = %s", (eid,)).fetchone()[0] == first.strip()
    conn.rollback()


def test_the_posts_that_repost_or_quote_a_post_are_found_by_index(conn):
    """Every grouping run looks up the reposts and quotes of its posts (`events_of_referrers`): by index, not by
    reading the whole posts table (migration 026), as the forwards always were. 3,000 X posts of one account, one
    in ten a repost or a quote, with fresh statistics: what an hourly run looks them up in."""
    from ingest.models import PostRef

    account = Channel("x", 2001, "polymarketintel", "Polymarket Intel")
    refs = [
        {"reposted": PostRef("x", 9, n)}
        if n % 20 == 0
        else {"quoted": PostRef("x", 9, n)}
        if n % 20 == 10
        else {}
        for n in range(3000)
    ]
    load(
        conn, [post(account, n + 1, T0 + timedelta(seconds=n), f"post {n}", **r) for n, r in enumerate(refs)]
    )
    conn.execute("ANALYZE posts")
    for cols, index in (
        ("fwd_channel_id = 9 AND fwd_post_id = 20", "posts_fwd_idx"),
        ("reposted_channel_id = 9 AND reposted_post_id = 20 AND platform = 'x'", "posts_repost_idx"),
        ("quoted_channel_id = 9 AND quoted_post_id = 30 AND platform = 'x'", "posts_quote_idx"),
    ):
        plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN SELECT post_id FROM posts WHERE {cols}"))  # noqa: S608
        assert index in plan and "Seq Scan" not in plan, plan
    conn.rollback()


GROUP_TABLES = (
    "event_posts, event_redirects, storyline_redirects, events, storylines, grouping_state, grouping_days"
)


@pytest.mark.slow
def test_an_increment_prepared_beside_loading_the_stored_groups_groups_as_one_process(
    conn, shared_data, monkeypatch
):
    """An increment with stored groups to load prepares its posts in worker processes while it reads the open
    events and storylines (`prepare.Preparing`): the same groups as preparing them in this process afterwards."""
    from ingest.events import prepare
    from ingest.run.imports import import_files

    import_files(conn, [shared_data / "telegram_news_ru" / f"{c}.jsonl" for c in PINNED_CHANNELS])
    conn.commit()
    (cut,) = conn.execute("SELECT posted_at FROM posts ORDER BY posted_at OFFSET 2300 LIMIT 1").fetchone()
    monkeypatch.setattr(prepare, "MIN_BESIDE", 100)
    outcomes = []
    for workers in ("1", "2"):  # 1: no worker process (prepared here, after the state is read)
        monkeypatch.setenv("WIREWATCH_GROUP_WORKERS", workers)
        conn.execute(f"TRUNCATE {GROUP_TABLES}")
        conn.commit()
        group_window(conn, until=cut)
        stats = group_window(conn)
        assert stats.mode == "incremental" and stats.posts == 3312 - 2300
        phases = list(stats.phases)
        beside = phases.index("state") < phases.index("vectorise")
        assert beside == (workers == "2"), phases
        outcomes.append((sets(partition(conn)), sets(storyline_partition(conn))))
    assert outcomes[0] == outcomes[1]


def test_an_interrupted_increment_leaves_no_worker_behind(conn, monkeypatch):
    """Ctrl-C while the stored groups are read and the posts prepared beside: the worker processes stop with the
    run."""
    import multiprocessing

    import ingest.events.group as group_module
    from ingest.events import prepare

    load(conn, rutte_posts())
    group_window(conn)
    load(conn, unrelated_posts())
    monkeypatch.setattr(prepare, "MIN_BESIDE", 1)
    monkeypatch.setenv("WIREWATCH_GROUP_WORKERS", "2")
    started: list[int] = []

    def interrupted(*args, **kwargs):
        started.extend(p.pid for p in multiprocessing.active_children())
        raise KeyboardInterrupt

    monkeypatch.setattr(group_module, "_load_clusters", interrupted)
    with pytest.raises(KeyboardInterrupt):
        group_window(conn)
    assert started, "no worker process was preparing the posts"
    assert multiprocessing.active_children() == []
