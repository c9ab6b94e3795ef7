"""Tag threads (`Params.thread_hours`): a hashtag that other sources used in the days before a post links the
post's storyline to theirs, past the storylines' seven-day span; a channel's rubric tag, a post of one source
alone and two storylines that share little but the tag do not link. Every test runs the same stream with the
rule off or loosened as well, so that each shows what the rule itself changes."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from ingest.events import group_window
from ingest.events.cluster import Grouper, Params
from ingest.events.rarity import day_of
from ingest.events.records import Item
from ingest.events.text import analyse_many, hashtag_keys
from ingest.events.threads import TagThreads
from ingest.models import Channel, Post
from ingest.warehouse.event_reads import storyline_partition
from ingest.warehouse.loader import Loader
from tests.events.test_group import scanned_tag_days, stored_tag_days

T0 = datetime(2013, 11, 8, 0, 0, tzinfo=timezone.utc)

# A typhoon over twelve days, a post every four days from another account: longer than a storyline may grow by
# similarity, each post within the thread's 120 hours of the one before.
TYPHOON = [
    (1, 0, "Typhoon Haiyan makes landfall in Tacloban, winds of 300 km/h flatten homes #Haiyan"),
    (2, 1, "Super typhoon Haiyan hits the central Philippines, thousands evacuated from Leyte #haiyan"),
    (3, 96, "Relief goods arrive in Tacloban as aid agencies scale up after the typhoon #haiyan"),
    (4, 192, "Death toll from typhoon Haiyan rises, survivors queue for water in Leyte #haiyan"),
    (5, 288, "Rebuilding begins in Tacloban, schools reopen in tents after the typhoon #haiyan"),
]


def items(posts: list[tuple[int, float, str]]) -> list[Item]:
    analysed = analyse_many([(text, (), ()) for _, _, text in posts])
    return [
        Item(
            ("x", channel, n),
            (T0 + timedelta(hours=hours)).timestamp(),
            vec,
            dup=dup,
            tags=hashtag_keys(text),
        )
        for n, ((channel, hours, text), (vec, dup)) in enumerate(zip(posts, analysed, strict=True))
    ]


def storylines(posts: list[tuple[int, float, str]], **params) -> list[set[int]]:
    """The storylines of the posts (as sets of their positions), grouped in memory."""
    its = items(posts)
    g = Grouper(dataclasses.replace(Params(), **params))
    res = g.process(its)
    by: dict[int, set[int]] = {}
    for a in res.assignments:
        sid = g.storylines.resolve(g.events.clusters[g.events.resolve(a.event)].storyline)
        by.setdefault(sid, set()).add(a.key[2])
    return sorted(by.values(), key=min)


def test_hashtag_keys_fold_case_and_skip_digits_and_words_that_only_contain_a_hash():
    assert hashtag_keys("#Haiyan and #HAIYAN") == hashtag_keys("#haiyan")
    assert len(hashtag_keys("#haiyan #YolandaPH")) == 2
    assert hashtag_keys("#1 #2013 x#y C# plain") == ()
    assert hashtag_keys("#sg_haze") != hashtag_keys("#sg")


def test_a_tag_other_sources_keep_using_holds_a_storyline_past_its_span():
    assert storylines(TYPHOON) == [{0, 1, 2, 3, 4}]
    # Without threads the span splits the twelve days (the last post is 12 days after the first).
    apart = storylines(TYPHOON, thread_hours=0.0)
    assert len(apart) > 1 and not any({0, 4} <= s for s in apart)


def test_a_tag_used_again_after_the_thread_has_gone_quiet_links_nothing():
    # The thread's last use at 60 h, the next 125 h later: past the storyline's span too, so nothing but the
    # tag could link it.
    late = [*TYPHOON[:2], (3, 60, TYPHOON[2][2]), (6, 185, TYPHOON[4][2])]
    assert len(storylines(late)) == 2
    assert storylines(late, thread_hours=130.0) == [{0, 1, 2, 3}]


def test_one_source_repeating_its_own_tag_is_no_thread():
    # The same account twelve days apart, then a control where another account posts the last one.
    own = [TYPHOON[0], (1, 100, TYPHOON[3][2]), (1, 200, TYPHOON[4][2])]
    assert not any({0, 2} <= s for s in storylines(own))
    other = [TYPHOON[0], (7, 100, TYPHOON[3][2]), (8, 200, TYPHOON[4][2])]
    assert storylines(other) == [{0, 1, 2}]


# Channel 1 files a council story under #citynews on three days; channel 2 uses the tag once, eight days after
# channel 1 began.
RUBRIC = [
    (1, 0, "The city council approved the new budget for road repairs on Monday #citynews"),
    (1, 30, "City council members debated the budget for parks and road repairs #citynews"),
    (1, 100, "The council postponed the vote on the city budget for road repairs #citynews"),
    (2, 200, "City council budget for road repairs finally passed after weeks of debate #citynews"),
]


def test_a_channels_rubric_tag_links_none_of_its_posts():
    assert not any({0, 3} <= s or {2, 3} <= s for s in storylines(RUBRIC))
    # With the rubric test off (a rubric of 99 days) channel 2's post links channel 1's.
    linked = storylines(RUBRIC, thread_rubric_days=99)
    assert any({2, 3} <= s for s in linked)


def test_two_grown_storylines_that_share_little_but_a_tag_stay_apart():
    # A typhoon tagged #typhoon and a flood in Sardinia (Italian), four posts each, then a Sardinian post that
    # tags #typhoon too: two storylines of more than `thread_small` posts need `thread_big_threshold`.
    posts = [
        (1, 0, "Typhoon Haiyan makes landfall in Tacloban, winds flatten homes in Leyte #typhoon"),
        (
            2,
            1,
            "Typhoon Haiyan: thousands evacuated from Leyte and Samar, Tacloban airport destroyed #typhoon",
        ),
        (3, 2, "Tacloban cut off after the typhoon, no power or phone lines in Leyte #typhoon"),
        (4, 3, "Aid agencies race to reach Tacloban and Leyte after the typhoon #typhoon"),
        (11, 10, "Alluvione in Sardegna, Olbia sommersa dall'acqua, dispersi e case evacuate"),
        (12, 11, "Sardegna, il ciclone Cleopatra devasta Olbia: sindaco chiede lo stato di emergenza"),
        (13, 12, "Olbia sott'acqua dopo l'alluvione, la Sardegna conta i dispersi"),
        (14, 13, "Alluvione in Sardegna: Olbia e la Gallura chiedono lo stato di emergenza"),
        (15, 14, "Olbia e la Gallura in ginocchio dopo l'alluvione, vittime in Sardegna #typhoon"),
    ]
    typhoon, sardinia = set(range(4)), set(range(4, 9))
    assert typhoon in storylines(posts) and sardinia in storylines(posts)
    # With the small storylines' bar for all, the tag merges the two crises.
    assert typhoon | sardinia in storylines(posts, thread_big_threshold=0.05)


def test_a_small_storyline_joins_the_thread_on_its_tag():
    # A post about the relief effort that shares the typhoon's tag but few of its words, eight days on.
    posts = [*TYPHOON[:4], (9, 196, "Donate to the Red Cross relief appeal today #haiyan")]
    assert storylines(posts) == [{0, 1, 2, 3, 4}]
    assert len(storylines(posts, thread_hours=0.0)) > 1


# ---- in the warehouse: increments read the tag uses of the days before them


def post(channel: int, hours: float, text: str, post_id: int) -> Post:
    ch = Channel("x", 7000 + channel, f"acct{channel}", f"Account {channel}")
    return Post(
        platform="x", channel_id=ch.channel_id, post_id=post_id, posted_at=T0 + timedelta(hours=hours),
        text=text, channel=ch, source="test",
    )  # fmt: skip


def _post_by_post_then_regrouped(conn, posts: list[Post]) -> list[list]:
    """Group the posts one run each (each increment must read what it needs of the earlier tags from the
    warehouse), check that one regroup from scratch gives the same storylines, and return them."""
    for p in posts:
        Loader(conn).load([p])
        conn.commit()
        group_window(conn)
    incremental = sorted(map(sorted, set(map(frozenset, _by_storyline(conn)))))
    conn.execute(
        "TRUNCATE event_posts, event_redirects, storyline_redirects, events, storylines, grouping_state"
    )
    conn.commit()
    group_window(conn)
    assert sorted(map(sorted, set(map(frozenset, _by_storyline(conn))))) == incremental
    return incremental


def test_increments_follow_a_thread_across_runs_as_one_regroup_does(conn):
    posts = [post(c, h, t, 100 + n) for n, (c, h, t) in enumerate(TYPHOON)]
    assert _post_by_post_then_regrouped(conn, posts) == [sorted(p.key for p in posts)]


def test_increments_know_a_rubric_from_the_days_before_them(conn):
    posts = [post(c, h, t, 200 + n) for n, (c, h, t) in enumerate(RUBRIC)]
    stories = _post_by_post_then_regrouped(conn, posts)
    assert not any({posts[2].key, posts[3].key} <= set(s) for s in stories)


def _rubric_then_last_post(conn, tamper: str) -> tuple[list[Post], list[list]]:
    """Channel 1's three days of its rubric tag grouped one run each, the stored days' tag uses changed by
    `tamper` (SQL), then channel 2's post grouped as an increment: its storylines."""
    posts = [post(c, h, t, 300 + n) for n, (c, h, t) in enumerate(RUBRIC)]
    for p in posts[:3]:
        Loader(conn).load([p])
        conn.commit()
        group_window(conn)
    conn.execute(tamper)
    conn.commit()
    Loader(conn).load([posts[3]])
    conn.commit()
    assert group_window(conn).mode == "incremental"
    return posts, _by_storyline(conn)


def test_an_increment_reads_the_rubric_from_the_stored_days(conn):
    # The days' rows say no channel used a tag (their counts still valid): the increment, which reads them and
    # not the tagged posts, no longer knows channel 1's rubric, so channel 2's post follows channel 1's tag.
    posts, stories = _rubric_then_last_post(
        conn, "UPDATE grouping_days SET tag_keys = '{}', tag_platforms = '{}', tag_channels = '{}'"
    )
    assert any({posts[2].key, posts[3].key} <= set(s) for s in stories)


def test_a_day_stored_without_tag_uses_is_counted_again(conn):
    # Rows written before migration 030 hold no tag uses (NULL): their days are counted again from the grouped
    # posts, so the rubric holds, and the rows of the days the run read are written again with the uses.
    posts, stories = _rubric_then_last_post(
        conn, "UPDATE grouping_days SET tag_keys = NULL, tag_platforms = NULL, tag_channels = NULL"
    )
    assert not any({posts[2].key, posts[3].key} <= set(s) for s in stories)
    read = day_of(posts[3].posted_at.timestamp()) - Params().rarity_window_days
    rows = conn.execute("SELECT day, tag_keys IS NULL FROM grouping_days WHERE day >= %s", (read,)).fetchall()
    assert rows and not any(null for _, null in rows)


def test_the_stored_days_hold_each_tag_and_channel_of_their_posts(conn):
    posts = [post(c, h, t, 400 + n) for n, (c, h, t) in enumerate([*RUBRIC, *TYPHOON])]
    for p in posts:
        Loader(conn).load([p])
        conn.commit()
        group_window(conn)
    stored, scanned = stored_tag_days(conn), scanned_tag_days(conn)
    assert len(scanned) > 8 and stored == scanned


def _by_storyline(conn) -> list[list]:
    by: dict[int, list] = {}
    for key, sid in storyline_partition(conn).items():
        by.setdefault(sid, []).append(key)
    return list(by.values())


def test_a_rubric_is_forgotten_with_the_uses_that_made_it():
    day = 86400.0
    th = TagThreads(rubric_days=3, window_days=14)
    a, b = ("telegram", 1), ("telegram", 2)
    for d in range(3):  # channel a tags three days running: its rubric
        th.note(7, d * day, 100 + d, a)
    assert th.holders(7, 3 * day, b, 5 * day, lambda s: s) == []  # a's uses do not vote
    assert th.holders(7, 3 * day, a, 5 * day, lambda s: s) == []  # nor does a's own post link
    th.note(7, 3.5 * day, 200, b)
    assert th.holders(7, 4 * day, ("x", 3), 5 * day, lambda s: s) == [200]
    # On day 17 a's days (0-2) are past the 14 days before: its next use is no rubric and links to b's latest.
    th.note(7, 16 * day, 300, b)
    assert th.holders(7, 17.5 * day, a, 5 * day, lambda s: s) == [300]
    assert set(th.tags[7].channel_days) == {b}
