"""The year benchmark's simulated world (bench/bench_year.py): its figures mean something only if the captures it
writes are what a live Telegram rescan would return and go through the real pass as such."""

from __future__ import annotations

import statistics
from datetime import timedelta

import orjson
import psycopg
import pytest

from bench import bench_year as by


def test_watchlist_is_skewed_around_the_mean_and_the_sample_spans_it() -> None:
    rates = by.watchlist_rates(500, 150.0, 7)
    assert statistics.mean(rates) == pytest.approx(150.0)
    assert rates == sorted(rates, reverse=True)
    assert rates[0] > 5 * statistics.median(rates)  # a few busy channels, many quiet ones
    sample = by.sample_indexes(500, 6)
    assert len(sample) == 6 and sample[0] < 100 and sample[-1] > 400
    assert statistics.mean(rates[i] for i in sample) == pytest.approx(150.0, rel=0.25)


def test_rhythm_keeps_the_daily_mean_and_peaks_in_the_day() -> None:
    assert sum(by.RHYTHM) == pytest.approx(24.0)
    assert max(range(24), key=lambda h: by.RHYTHM[h]) == 11
    assert by.RHYTHM[11] > 3 * by.RHYTHM[23]


def test_captures_number_posts_in_time_order_and_only_counts_grow(tmp_path) -> None:
    world = by.World(by.watchlist_rates(10, 400.0, 3), [0, 5], seed=3)
    for h in range(4):
        world.advance(by.START + timedelta(hours=h))
    now = by.START + timedelta(hours=4)
    world.write_captures(tmp_path, now)
    for ch in world.channels:
        recs = [orjson.loads(x) for x in (tmp_path / f"c{ch.index}.jsonl").read_bytes().splitlines()]
        assert recs, "a busy channel publishes in four hours"
        assert [r["id"] for r in recs] == sorted(r["id"] for r in recs)
        assert [r["date"] for r in recs] == sorted(r["date"] for r in recs)
        assert all(r["peer_id"]["channel_id"] == ch.channel_id for r in recs)
        post = next(p for p in ch.posts if p.edited_at is None)
        early, late = (world.payload(ch, post, post.posted_at + timedelta(hours=h)) for h in (1, 30))
        assert late["views"] > early["views"] and late["message"] == early["message"]
        assert late["edit_date"] is None


def test_an_edit_changes_the_text_from_its_time_on() -> None:
    world = by.World([100.0], [0], seed=1)
    world.advance(by.START)
    ch = world.channels[0]
    post = ch.posts[0]
    post.edited_at = post.posted_at + timedelta(minutes=30)
    before = world.payload(ch, post, post.posted_at + timedelta(minutes=10))
    after = world.payload(ch, post, post.posted_at + timedelta(hours=2))
    assert before["message"] != after["message"] and after["edit_date"] is not None


def test_simulated_hours_go_through_the_real_pass(db: str, tmp_path) -> None:
    """Three simulated hours of two channels: every post stored once, none rejected, the rescans append a
    metrics row for each post whose counts grew, and only the posts the world deleted are marked deleted."""
    world = by.World(by.watchlist_rates(4, 300.0, 5), [0, 1], seed=5)
    post = None
    with psycopg.connect(db) as conn:
        results = [by.run_hour(conn, world, tmp_path, by.START + timedelta(hours=h)) for h in (1, 2, 3)]
        published = sum(len(ch.posts) for ch in world.channels)
        post = world.channels[0].posts[0]
        stored, rejected, deleted = conn.execute(
            """SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM rejected_records),
                      (SELECT count(*) FROM posts WHERE deleted_at IS NOT NULL)"""
        ).fetchone()
        first_metrics = conn.execute(
            "SELECT count(*) FROM post_metrics WHERE channel_id = %s AND post_id = %s",
            (world.channels[0].channel_id, post.post_id),
        ).fetchone()[0]
    assert stored == published and rejected == 0
    expected_deleted = sum(
        1
        for ch in world.channels
        for p in ch.posts
        if p.deleted_at and p.deleted_at <= by.START + timedelta(hours=3)
    )
    assert deleted <= expected_deleted
    assert sum(r.inserted for r in results) == published
    assert results[-1].metrics > 0
    assert first_metrics >= 1  # published in hour 1, its counts grew by hours 2 and 3
