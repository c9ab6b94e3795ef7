"""Stored briefs (ingest/briefs/service.py, ingest/warehouse/briefs.py): written for every event of a window,
rewritten only when the event changed, dropped when the event is gone; the analysts' views over them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from ingest import briefs
from ingest.briefs import brief_window, event_brief
from ingest.cli.demo import rutte_event_id
from ingest.events import group_window
from ingest.models import Channel, Post
from ingest.run.imports import import_files
from ingest.warehouse.loader import Loader


@pytest.fixture
def demo(conn, repo_root):
    import_files(conn, [repo_root / "seeds" / "demo"])
    conn.commit()
    group_window(conn, None, None)
    return conn


def _count(conn, q: str, params=()) -> int:
    n = conn.execute(q, params).fetchone()[0]
    conn.commit()
    return n


def test_brief_window_writes_each_event_once_then_only_changed_ones(demo):
    events = _count(demo, "SELECT count(*) FROM events WHERE merged_into IS NULL")
    first = brief_window(demo, None, None)
    assert (first.events, first.written, first.unchanged) == (events, events, 0)
    assert _count(demo, "SELECT count(*) FROM briefs") == events
    again = brief_window(demo, None, None)
    assert (again.written, again.unchanged) == (0, events)
    forced = brief_window(demo, None, None, force=True)
    assert forced.written == events


def test_a_new_brief_format_rewrites_every_stored_brief(demo, monkeypatch):
    """After an upgrade that changes what a brief says (BRIEF_FORMAT bumped), the hourly run rewrites the stored
    briefs even though no event changed; without a bump it leaves them."""
    from ingest.warehouse import briefs as store

    first = brief_window(demo, None, None)
    assert brief_window(demo, None, None).written == 0
    monkeypatch.setattr(store, "BRIEF_FORMAT", store.BRIEF_FORMAT + 1)
    assert brief_window(demo, None, None).written == first.written > 0


def test_an_edit_regenerates_only_its_events_brief(demo):
    brief_window(demo, None, None)
    eid = rutte_event_id(demo)
    before = dict(demo.execute("SELECT event_id, generated_at FROM briefs").fetchall())
    demo.commit()
    # Polymarket edits its post: a new version with a different figure.
    row = demo.execute(
        "SELECT channel_id, post_id, posted_at, text FROM posts WHERE platform = 'x' AND post_id = 2070340793922536657"
    ).fetchone()
    demo.commit()
    ch = Channel("x", row[0], "polymarketintel", "Polymarket Intel")
    edited = Post("x", row[0], row[1], row[2], row[3] + " Sources put it at $60 billion.", channel=ch,
                  version_at=row[2] + timedelta(minutes=20), source="test",
                  url=f"https://x.com/PolymarketIntel/status/{row[1]}")  # fmt: skip
    Loader(demo).load([edited])
    demo.commit()
    group_window(demo, None, None)
    stats = brief_window(demo, None, None)
    assert stats.written == 1
    after = dict(demo.execute("SELECT event_id, generated_at FROM briefs").fetchall())
    demo.commit()
    assert [e for e in after if after[e] != before.get(e)] == [eid]
    md = event_brief(demo, eid)["markdown"]
    assert "60 billion dollars" in md  # the new figure, single-source
    assert "edit" in md


def test_briefs_of_vanished_events_are_dropped(demo):
    brief_window(demo, None, None)
    demo.execute(
        """INSERT INTO briefs (event_id, content_hash, headline, first_seen_at, last_post_at, post_count,
                               source_count, markdown, json)
           VALUES (999999, 'x', 'gone', now(), now(), 1, 1, '# gone', '{}')"""
    )
    demo.commit()
    stats = brief_window(demo, None, None)
    assert stats.dropped == 1
    assert _count(demo, "SELECT count(*) FROM briefs WHERE event_id = 999999") == 0


def test_window_limits_the_events(demo):
    start = datetime(2026, 6, 26, 9, 0, tzinfo=UTC)
    stats = brief_window(demo, start, start + timedelta(hours=1))
    # Only events with a post between 09:00 and 10:00 UTC: the Tikhoretsk oil depot and the noise of that hour.
    ids = [r[0] for r in demo.execute("SELECT event_id FROM briefs ORDER BY event_id")]
    heads = {r[0] for r in demo.execute("SELECT headline FROM briefs")}
    assert stats.written == len(ids) >= 1
    assert any("Тихорецк" in h for h in heads)
    assert not any("Rutte" in h for h in heads)


def test_event_brief_reuses_the_stored_brief_while_unchanged(demo):
    eid = rutte_event_id(demo)
    first = event_brief(demo, eid)
    second = event_brief(demo, eid)
    assert first["generated_at"] == second["generated_at"]
    assert first["markdown"] == second["markdown"]
    assert event_brief(demo, 10**12) is None


def test_analyst_views_over_events_and_briefs(demo):
    brief_window(demo, None, None)
    eid = rutte_event_id(demo)
    row = demo.execute(
        """SELECT independent_sources, posts, forwards, first_channel, first_url, languages, headline
           FROM analyst.events WHERE event_id = %s""",
        (eid,),
    ).fetchone()
    assert row[:5] == (5, 8, 2, "intelslava", "https://t.me/intelslava/71840")
    assert set(row[5]) == {"en", "ru"}
    tl = demo.execute(
        "SELECT seq, channel, role, minutes_after_first FROM analyst.event_timeline WHERE event_id = %s ORDER BY seq",
        (eid,),
    ).fetchall()
    assert tl[0][:3] == (1, "intelslava", "origin") and float(tl[0][3]) == 0.0
    assert [r[2] for r in tl].count("forward") == 2
    single = demo.execute(
        "SELECT json_array_length(json->'single_source') FROM analyst.briefs WHERE event_id = %s", (eid,)
    ).fetchone()[0]
    assert single == 1
    demo.commit()


def test_stats_shape_as_the_hourly_dag_reports_it(demo):
    assert {f.name for f in dataclasses.fields(briefs.BriefStats)} >= {
        "events",
        "written",
        "unchanged",
        "dropped",
    }
    stats = brief_window(demo, None, None)
    demo.commit()
    assert isinstance(stats, briefs.BriefStats)
    # ingest.run.dag_tasks.group_and_brief returns this dict as the final task's "briefs" (its XCom).
    reported = stats.as_dict()
    assert set(reported) == {"events", "written", "unchanged", "dropped", "seconds"}
    assert reported["events"] == stats.events > 0 and reported["written"] == stats.written == stats.events
