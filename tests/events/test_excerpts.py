"""Excerpt joins (`Params.excerpt_hours`): a post whose main sentence another post repeats whole, on real posts of
the Telegram news channels: Putin's press conference after the CSTO summit in Astana on 2024-11-28, whose
statements one channel posted one by one and others listed in digests. Increments agree with a full regroup, and
the rule is what joins them (off, or with a window shorter than the gap, they stay apart)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ingest.events import group_window, partition
from ingest.events.cluster import Params
from ingest.events.text import sentence_keys
from ingest.run.imports import import_files
from tests.events.news_window import (
    assert_regroups_agree,
    group_on_time_then_late,
    groups,
    late_ones,
    window_files,
)

# Labelled SAME pairs of the development set (tests/data/grouping_ru/pairs_dev.tsv, pairs3_dev.tsv,
# pairs4_dev.tsv): a statement as one channel posted it, and a digest of the press conference 8 to 18 minutes
# later in another channel that lists it among others ("⚡️Киев не раз пытался атаковать цели в Москве и
# Санкт-Петербурге — Путин" and "⚡️Путин: — Россия имеет несколько готовых к применению ракетных систем
# «Орешник»; — Киев не раз пытался атаковать цели в Москве и Санкт-Петербурге; — …").
PAIRS = [
    (("telegram", 1394050290, 194902), ("telegram", 1754252633, 125577)),
    (("telegram", 1394050290, 194925), ("telegram", 1754252633, 125608)),
    (("telegram", 1394050290, 194938), ("telegram", 1754252633, 125620)),
]
SINCE = datetime(2024, 11, 28, tzinfo=timezone.utc)
UNTIL = datetime(2024, 11, 29, tzinfo=timezone.utc)


def test_sentence_keys_name_the_statement_a_post_makes_and_the_sentences_a_list_holds():
    statement = "⚡️Киев не раз пытался атаковать цели в Москве и Санкт-Петербурге — Путин"
    digest = (
        "Путин:\n\n— Россия имеет несколько готовых к применению ракетных систем «Орешник»;\n"
        "— Киев не раз пытался атаковать цели в Москве и Санкт-Петербурге;\n"
        "— Киевские главари сейчас полностью нелегитимны."
    )
    main, own = sentence_keys(statement)
    assert main is not None and own == (main,)  # the attribution after the dash is not part of it
    d_main, d_sentences = sentence_keys(digest)
    assert d_main is None  # a list says several things
    assert main in d_sentences and len(d_sentences) == 2  # "Киевские главари …" has 5 words: no key
    # Case, punctuation, quotes and list markers do not matter; a word does.
    assert sentence_keys("КИЕВ не раз пытался атаковать цели в Москве и «Санкт-Петербурге»!")[0] == main
    assert sentence_keys("Киев не раз пытался атаковать цели в Москве и Петербурге")[0] != main
    # A sentence that is not most of the post is no main sentence.
    long_tail = statement + ". " + " ".join(["Подробности"] * 2) + ". " + "Слово " * 10
    assert sentence_keys(long_tail)[0] is None and main in sentence_keys(long_tail)[1]
    assert sentence_keys("Коротко: отбой тревоги.") == (None, ())


@pytest.mark.slow
def test_a_statement_and_the_digest_that_lists_it_are_one_event(conn, shared_data, tmp_path):
    import_files(conn, window_files(shared_data, tmp_path, SINCE, UNTIL))
    conn.commit()
    # Up to the second statement (13:28), then the rest as an increment: its digest (13:39) meets it through the
    # keys read back from the warehouse.
    group_window(conn, until=datetime(2024, 11, 28, 13, 30, tzinfo=timezone.utc))
    group_window(conn)
    part = partition(conn)
    for a, b in PAIRS:
        assert part[a] == part[b], (a, b)
    assert conn.execute("SELECT count(*) FROM event_posts WHERE joined_by = 'excerpt'").fetchone()[0] > 0
    assert_regroups_agree(conn, groups(conn))  # one full regroup, and buckets of 100: the same groups

    # Off, the short statements and the long digests share too little by weight: the rule is what joins them.
    group_window(conn, full=True, params=Params(excerpt_hours=0))
    part = partition(conn)
    # (The first pair meets by similarity too in this one-day window, whose vectors carry no rarity weights.)
    assert all(part[a] != part[b] for a, b in PAIRS[1:])
    assert "excerpt" not in {r[0] for r in conn.execute("SELECT DISTINCT joined_by FROM event_posts")}
    # The digests came 8 to 18 minutes after the statements: an event is young for excerpts for `excerpt_hours`.
    group_window(conn, full=True, params=Params(excerpt_hours=0.1))
    part = partition(conn)
    assert all(part[a] != part[b] for a, b in PAIRS[1:])


def test_a_headline_retyped_without_a_short_word_is_still_a_copy(conn, shared_data, tmp_path):
    """Moskva Tretiy Rim posted the minimum exam scores at 07:41 with their list ("Минпросвещения РФ установило …"),
    another channel the same headline without "РФ" and with the exams' dates at 10:33 (a labelled SAME pair of
    batch 2's dev part): their lists share too little for similarity, the headline keys meet."""
    a, b = ("telegram", 1326203371, 26447), ("telegram", 1003313758, 64847)
    since = datetime(2024, 10, 22, tzinfo=timezone.utc)
    import_files(conn, window_files(shared_data, tmp_path, since, since.replace(day=23)))
    conn.commit()
    group_window(conn)
    part = partition(conn)
    assert part[a] == part[b]


@pytest.mark.slow
def test_late_posts_replayed_with_excerpts_equal_one_full_regroup(conn, shared_data, tmp_path):
    """A digest that arrives late (with every fifth post from 13:30 on) makes the next run replay from the
    earliest of them; its statement (13:28), grouped on time, is met through the keys read back from the
    warehouse, and the replay comes out as one full regroup."""
    late = late_ones(PAIRS[1][1], datetime(2024, 11, 28, 13, 30, tzinfo=timezone.utc))
    files = window_files(shared_data, tmp_path, SINCE, UNTIL, late)
    assert group_on_time_then_late(conn, files, tmp_path).mode == "replay"
    part = partition(conn)
    assert all(part[a] == part[b] for a, b in PAIRS)
    expected = groups(conn)
    excerpts = conn.execute("SELECT count(*) FROM event_posts WHERE joined_by = 'excerpt'").fetchone()[0]

    group_window(conn, full=True)
    assert groups(conn) == expected
    assert (
        conn.execute("SELECT count(*) FROM event_posts WHERE joined_by = 'excerpt'").fetchone()[0] == excerpts
    )
