"""A new warehouse, with no history before its first day, on the last five days of the real Telegram news
channels: templated rate posts of different levels stay apart (`Params.figure_conflict`, in both stages), and the storylines'
burst test reads a short history as short (`ingest.events.rarity.HOT_MIN_DAYS`) and remembers the bursts of two
days (`HOT_DAYS`), so nightly drone counts do not chain while a developing situation (the Tbilisi protests) still
holds. Both failed before on such a stream: the
template's words weigh in full without a rarity window, and the burst test took the window's empty days as quiet
ones."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ingest.events import group_window, partition, rarity
from ingest.events.cluster import Params
from ingest.run.imports import import_files
from ingest.warehouse.event_reads import storyline_partition
from tests.events.news_window import window_files
from tests.events.test_storyline_keys import TBILISI, together

FIRST, END = datetime(2024, 11, 26, tzinfo=timezone.utc), datetime(2024, 12, 1, tzinfo=timezone.utc)
# A labelled STORY pair (pairs2_dev.tsv): "**⚡️Курс доллара достиг отметки в 111 рублей**" (11-27 11:54) and
# "**⚡️Курс доллара достиг отметки в 112 рублей, **— данные торгов." (12:36), another channel.
RATES = (("telegram", 1166834860, 128792), ("telegram", 1237513492, 72823))
# Another (pairs4_dev.tsv): "**⚡️Курс доллара достиг отметки в 112 рублей, **— данные торгов." (11-27 12:35) and
# "**⚡️Курс доллара достиг отметки в 113 рублей, евро - 119,** — данные торгов." (13:01). A post that the "113"
# event refused by the figure test started an event of its own and then merged the two (stage 2), until stage 2
# asked the same test.
RATES_2 = (("telegram", 1754252633, 125481), ("telegram", 1288489154, 39899))
# A labelled DIFF pair (pairs_dev.tsv): the night's drones over the Rostov region (11-26) and the ministry's
# count of another night over several regions (11-28).
DRONES = (("telegram", 1754252633, 125329), ("telegram", 1101170442, 270842))


@pytest.mark.slow
def test_a_new_warehouse_keeps_rate_levels_and_nightly_counts_apart(conn, shared_data, tmp_path, monkeypatch):
    import_files(conn, window_files(shared_data, tmp_path, FIRST, END))
    conn.commit()
    group_window(conn)
    assert not together(partition(conn), RATES) and not together(partition(conn), RATES_2)
    stories = storyline_partition(conn)
    assert not together(stories, DRONES) and together(stories, TBILISI)

    # Bursts of the day before alone: the protests' names burst on the 28th and are no longer new on the 29th, so
    # the post of the 30th leaves their storyline.
    monkeypatch.setattr(rarity, "HOT_DAYS", 1)
    group_window(conn, full=True)
    assert not together(storyline_partition(conn), TBILISI)
    monkeypatch.setattr(rarity, "HOT_DAYS", 2)

    # The figure margin of a full rarity window lets the "112" post into the "111" event.
    group_window(conn, full=True, params=Params(figure_conflict=0.15))
    assert together(partition(conn), RATES)
    # A burst judged against the window's 13 days, empty ones as quiet, lets the nightly counts chain.
    monkeypatch.setattr(rarity, "HOT_MIN_DAYS", 13)
    group_window(conn, full=True)
    assert together(storyline_partition(conn), DRONES)
