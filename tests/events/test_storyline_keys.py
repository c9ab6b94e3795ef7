"""Storylines past their first day take a new event only on a word that burst the day before
(`Params.storyline_key_grace_hours`, `ingest.events.rarity.hot_features`), on real posts of the Telegram news
channels: daily beats ("today is ... Day", tomorrow's weather) no longer chain into week-long storylines, and a
developing situation (the Tbilisi protests) still holds across days. Increments agree with a full regroup."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from ingest.events import group_window, partition, rarity
from ingest.events.cluster import Params
from ingest.events.rarity import DAY, DayCounts, hot_features, weigh
from ingest.events.records import Item
from ingest.events.text import FIGURE_BASE, NAMED_BASE, features, vectorize
from ingest.events.text import _hash as text_hash
from ingest.run.imports import import_files
from ingest.warehouse.event_reads import storyline_partition
from tests.events.news_window import (
    assert_regroups_agree,
    group_on_time_then_late,
    groups,
    late_ones,
    window_files,
)
from tests.events.posts import sets

# Labelled DIFF pairs of the development set (tests/data/grouping_ru/pairs3_dev.tsv, pairs4_dev.tsv): "Сегодня
# отмечается День «Кутания в пледы»." (10-26) and "Сегодня отмечается День бабушек и дедушек" (10-28); "Сегодня в
# Москве ожидаются дожди и сильный ветер…" (10-23) and "Сегодня ночью в столице ожидаются заморозки." (10-25).
DAYS = (("telegram", 1747110091, 18830), ("telegram", 1003313758, 64957))
WEATHER = (("telegram", 1699803165, 26766), ("telegram", 1747110091, 18819))
# A labelled STORY pair (pairs_dev.tsv), two days apart: water cannon against the protesters in Tbilisi on 11-28,
# and the protesters still throwing fireworks at the police on 11-30.
TBILISI = (("telegram", 1100158992, 74676), ("telegram", 1101170442, 271227))


# A labelled DIFF pair of the development set (pairs5_dev.tsv): "Москву совсем скоро накроет пятибалльный шторм"
# (11-21) and "Сильный гололёд ожидается к вечеру на дорогах Москвы" (11-22). The storm made "шторм", "ветер" and
# "порывы" burst on 11-21: common words, which a daily beat bursts in whenever its weather changes.
STORM = (("telegram", 1237513492, 72501), ("telegram", 1326203371, 26989))


def together(part: dict, pair: tuple) -> bool:
    return part[pair[0]] == part[pair[1]]


@pytest.mark.slow
def test_daily_beats_do_not_chain_into_storylines(conn, shared_data, tmp_path):
    # The 14 whole days before the first post of the weather pair, and up to the last post of the other.
    since, until = datetime(2024, 10, 9, tzinfo=timezone.utc), datetime(2024, 10, 29, tzinfo=timezone.utc)
    import_files(conn, window_files(shared_data, tmp_path, since, until))
    conn.commit()
    group_window(conn, until=datetime(2024, 10, 27, tzinfo=timezone.utc))
    group_window(conn)  # the last two days as an increment, counted from the days the first run stored
    stories = storyline_partition(conn)
    assert not together(stories, DAYS) and not together(stories, WEATHER)
    assert_regroups_agree(conn, groups(conn))  # one full regroup, and buckets of 100: the same groups

    # On similarity alone each beat is one storyline: the test is what keeps them apart.
    group_window(conn, full=True, params=Params(storyline_key_grace_hours=0))
    stories = storyline_partition(conn)
    assert together(stories, DAYS) and together(stories, WEATHER)


def _grouped(conn, shared_data, tmp_path, since: datetime, until: datetime) -> dict:
    """The storylines of the real stream's posts of [since, until), imported and grouped."""
    import_files(conn, window_files(shared_data, tmp_path, since, until))
    conn.commit()
    group_window(conn)
    return storyline_partition(conn)


def _regrouped(conn, **params) -> dict:
    group_window(conn, full=True, params=Params(**params))
    return storyline_partition(conn)


def _day(month: int, day: int) -> datetime:
    return datetime(2024, month, day, tzinfo=timezone.utc)


@pytest.mark.slow
def test_a_beat_that_bursts_in_common_words_takes_no_storyline_past_its_day(conn, shared_data, tmp_path):
    assert not together(_grouped(conn, shared_data, tmp_path, _day(11, 7), _day(11, 23)), STORM)
    # On similarity alone the two days' weather is one storyline: the burst test, counting names and concepts
    # only, is what keeps them apart (counting every word, it let the storm's words carry the next day's ice).
    assert together(_regrouped(conn, storyline_key_grace_hours=0), STORM)


@pytest.mark.slow
def test_a_developing_situation_holds_on_the_words_that_burst(conn, shared_data, tmp_path):
    assert together(_grouped(conn, shared_data, tmp_path, _day(11, 14), _day(12, 1)), TBILISI)
    # Nothing counts as burst at this ratio: the storyline, two days old, no longer takes the later post.
    assert not together(_regrouped(conn, storyline_hot_ratio=10_000), TBILISI)


def _counts(posts: int, pairs: dict[int, int]) -> DayCounts:
    idx = np.array(sorted(pairs), np.int32)
    return DayCounts(posts, idx, np.array([pairs[i] for i in idx], np.int64))


def test_hot_features_burst_against_the_days_before():
    n1, n2, n3, n4 = (NAMED_BASE + k for k in (1, 2, 3, 4))  # names and concepts (`text.NAMED_BASE`)
    word, figure = 5, FIGURE_BASE + 7
    yesterday = _counts(300, {n1: 30, n2: 30, n3: 2, n4: 40, word: 40, figure: 50})
    # The window's 14 days include yesterday: feature n1 had 13 posts on the 13 other days (1 a day, 30
    # yesterday), n2 had 65 (5 a day: 6x), n3 is new but on too few posts, n4 is new; the plain word bursts as
    # n4 does but is no name ("snow" after a week of rain), the figure bursts but is a figure.
    window = _counts(4000, {n1: 43, n2: 95, n3: 2, n4: 40, word: 40, figure: 50})
    assert hot_features(yesterday, window, 14, 3, 8.0).tolist() == [n1, n4]
    assert hot_features(yesterday, window, 14, 3, 5.0).tolist() == [n1, n2, n4]
    assert hot_features(yesterday, window, 14, 2, 8.0).tolist() == [n1, n3, n4]


def test_names_and_concepts_hash_apart_from_plain_words():
    """The burst test tells names from words by their range: an entity (a capitalised word within a sentence)
    and a concept land in [NAMED_BASE, FIGURE_BASE), plain words and skeletons below, figures above."""
    v = vectorize("Protest in Tbilisi")
    named = [(n, text_hash(n)) for n in features("Protest in Tbilisi")]
    for name, i in named:
        if name.startswith(("e:", "c:")):
            assert NAMED_BASE <= i < FIGURE_BASE, name
        elif name.startswith("N:"):
            assert i >= FIGURE_BASE, name
        else:
            assert i < NAMED_BASE, name
    assert any(n.startswith("e:") for n, _ in named) and any(n.startswith("w:") for n, _ in named)
    assert {i for _, i in named} == set(v.idx.tolist())


def test_a_burst_is_judged_against_the_days_that_hold_posts(monkeypatch):
    """A new warehouse: two earlier days hold posts. A word 4 posts had on each of them and 5 yesterday did not
    burst, though against the window's 13 days (the empty ones counted as quiet) it would have; a word new
    yesterday did. Before any earlier day (a warehouse's first two days) there is no test at all."""
    t0 = datetime(2024, 11, 1, tzinfo=timezone.utc).timestamp()

    def day_of_posts(day: int, texts: list[str]) -> list[Item]:
        return [Item(("t", day, i), t0 + day * DAY + 60 * i, vectorize(x)) for i, x in enumerate(texts)]

    filler = [f"weather{k} forecast{k}" for k in range(8)]
    items = day_of_posts(0, ["drones over Kursk"] * 4 + filler) + day_of_posts(
        1, ["drones over Kursk"] * 4 + filler
    )
    items += day_of_posts(2, ["drones over Kursk"] * 5 + ["protest in Tbilisi"] * 5 + filler)
    items += day_of_posts(3, ["drones over Tbilisi and Kursk"])

    def hot_of_last() -> tuple[set[int], list]:
        out, _ = weigh(items, full_posts=10, hot=(3, 8.0))
        return set(out[-1].hot.tolist()), [it.hot for it in out if it.key[1] < 2]

    def named(text: str) -> set[int]:
        return {i for i in vectorize(text).idx.tolist() if NAMED_BASE <= i < FIGURE_BASE}

    kursk, tbilisi = named("in Kursk"), named("in Tbilisi")
    assert kursk and tbilisi
    hot, first_days = hot_of_last()
    assert tbilisi <= hot and not kursk & hot
    assert all(h is None for h in first_days)
    monkeypatch.setattr(rarity, "HOT_MIN_DAYS", 13)  # the mean over the window's 13 days, as before
    hot, _ = hot_of_last()
    assert tbilisi <= hot and kursk <= hot


@pytest.mark.slow
def test_late_posts_replayed_with_the_storyline_test_equal_one_full_regroup(conn, shared_data, tmp_path):
    """Posts of the last three days that arrive late (every fifth one, and the later "Day" post) change the burst
    counts of the days after their own; the replay they cause comes out as one full regroup."""
    since, until = datetime(2024, 10, 9, tzinfo=timezone.utc), datetime(2024, 10, 29, tzinfo=timezone.utc)
    late = late_ones(DAYS[1], datetime(2024, 10, 26, tzinfo=timezone.utc))
    files = window_files(shared_data, tmp_path, since, until, late)
    assert group_on_time_then_late(conn, files, tmp_path).mode == "replay"
    events, stories = sets(partition(conn)), sets(storyline_partition(conn))
    assert not together(storyline_partition(conn), DAYS)

    group_window(conn, full=True)
    assert sets(partition(conn)) == events and sets(storyline_partition(conn)) == stories
