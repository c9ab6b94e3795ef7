"""Anchor joins (`Params.anchor_hours`): a post that matches no event by similarity joins a young event that holds
enough of its rare features, on real posts of the Telegram news channels: the Moscow school closed over a food
poisoning, told by two channels in different words on 2024-11-18. Increments agree with a full regroup, and the
rule is what joins them (off, they stay apart)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ingest.events import group_window, partition
from ingest.events.cluster import Params
from ingest.run.imports import import_files
from ingest.warehouse.event_reads import storyline_partition
from tests.events.news_window import (
    assert_regroups_agree,
    group_on_time_then_late,
    groups,
    joined_by,
    late_ones,
    window_files,
)
from tests.events.posts import sets

# "❗️ В московской школе №1512 около 50 детей отравились, учреждение закрыли на карантин." and, 1 h 43 min later in
# another channel, "🙅‍♂️Роспотребнадзор приостановил работу школы №1512 на востоке Москвы из-за случаев кишечной
# инфекции…" (a labelled SAME pair of the development set, tests/data/grouping_ru/pairs4_dev.tsv).
FIRST = ("telegram", 1288481277, 29032)
SECOND = ("telegram", 1003313758, 65366)
# The 14 whole days the rarity weights of 2024-11-18 are counted over, and that day.
SINCE = datetime(2024, 11, 4, tzinfo=timezone.utc)
UNTIL = datetime(2024, 11, 19, tzinfo=timezone.utc)


@pytest.mark.slow
def test_two_reports_of_one_happening_in_different_words_meet_on_their_rare_features(
    conn, shared_data, tmp_path
):
    import_files(conn, window_files(shared_data, tmp_path, SINCE, UNTIL))
    conn.commit()
    # Everything up to the first report, then the rest as an increment: the second post's rare features are
    # counted from the days the first run stored.
    group_window(conn, until=datetime(2024, 11, 18, 11, 0, tzinfo=timezone.utc))
    group_window(conn)
    part = partition(conn)
    assert part[FIRST] == part[SECOND]
    assert joined_by(conn, SECOND) == "anchor"
    # One full regroup, and small buckets (a young event is a candidate from the anchor threshold on in every
    # bucket it is young for): the same groups.
    assert_regroups_agree(conn, groups(conn))

    # The second report came 1 h 43 min after the first: an event is young for anchors for `anchor_hours`.
    group_window(conn, full=True, params=Params(anchor_hours=1.5))
    part = partition(conn)
    assert part[FIRST] != part[SECOND]

    # Without anchors the two share too little for a join by similarity: the rule is what joins them.
    group_window(conn, full=True, params=Params(anchor_hours=0))
    part = partition(conn)
    assert part[FIRST] != part[SECOND]
    assert joined_by(conn, SECOND) != "anchor"
    assert "anchor" not in {r[0] for r in conn.execute("SELECT DISTINCT joined_by FROM event_posts")}


@pytest.mark.slow
def test_late_posts_replayed_with_anchors_equal_one_full_regroup(conn, shared_data, tmp_path):
    """Posts of the last two days that arrive late (every fifth one, and the second report) make the next run replay
    from the earliest of them; the replay's anchors, counted from the stored days, come out as one full regroup's."""
    late = late_ones(SECOND, datetime(2024, 11, 17, tzinfo=timezone.utc))
    files = window_files(shared_data, tmp_path, SINCE, UNTIL, late)
    assert group_on_time_then_late(conn, files, tmp_path).mode == "replay"
    events, stories = sets(partition(conn)), sets(storyline_partition(conn))
    assert partition(conn)[FIRST] == partition(conn)[SECOND]
    anchors = conn.execute("SELECT count(*) FROM event_posts WHERE joined_by = 'anchor'").fetchone()[0]
    assert anchors > 0

    group_window(conn, full=True)
    assert sets(partition(conn)) == events and sets(storyline_partition(conn)) == stories
    assert (
        conn.execute("SELECT count(*) FROM event_posts WHERE joined_by = 'anchor'").fetchone()[0] == anchors
    )
