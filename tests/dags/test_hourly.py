"""The hourly DAG end to end: `airflow dags test` against the real warehouse with replay sources over a capture.

One run loads its data interval's posts and nothing else, then groups them into events and writes their briefs;
the same interval again changes nothing, and a manual run without a logical date (no data interval at all in
Airflow 3) takes the last full hour before it was requested.
The warehouse is reached only through AIRFLOW_CONN_WIREWATCH_DB.
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta

import pytest

from ingest.warehouse.queries import table_checksums
from tests.dags import helpers

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


@pytest.fixture(scope="module")
def channels(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("hourly")
    times = helpers.make_capture(shared_data, root / "capture")
    return helpers.write_channels(root, root / "capture"), times


def check_window(conn, times, channels_toml, since: datetime, until: datetime) -> None:
    """Every watched channel holds exactly its posts of [since, until); for X, older posts only where a post of
    the window references them (the API sends referenced posts along, and they are kept)."""
    for handle, (platform, channel_id) in helpers.channel_ids().items():
        rows = conn.execute(
            "SELECT post_id, posted_at FROM posts WHERE platform = %s AND channel_id = %s",
            (platform, channel_id),
        ).fetchall()
        expected = {i for i, t in times[handle].items() if since <= t < until}
        inside = {i for i, t in rows if since <= t < until}
        outside = {i for i, t in rows if not since <= t < until}
        assert expected, f"the capture should hold posts of {handle} in the window"
        if platform == "telegram":
            assert not outside, f"{handle}: posts outside the window were loaded"
            assert inside <= expected
            assert len(inside) == helpers.album_units(
                channels_toml.parent / "capture" / f"telegram_{handle}.jsonl", expected
            )
        else:
            assert inside == expected
            referenced = {
                r[0]
                for r in conn.execute(
                    """SELECT unnest(ARRAY[reply_to_post_id, quoted_post_id, reposted_post_id]) FROM posts
                       WHERE platform = 'x' AND channel_id = %s AND posted_at >= %s AND posted_at < %s""",
                    (channel_id, since, until),
                )
            }
            assert outside <= referenced
    # Nor did the rescan (which re-reads the 48 h before the window, refreshing stored posts only) record the
    # channels of posts it left out: every channel is watched or has a stored post.
    strays = conn.execute(
        """SELECT platform, channel_id, handle FROM channels c WHERE NOT watched AND NOT EXISTS
           (SELECT 1 FROM posts p WHERE p.platform = c.platform AND p.channel_id = c.channel_id)"""
    ).fetchall()
    assert strays == []


def _runs(conn) -> list[tuple]:
    return conn.execute(
        "SELECT target, kind, status, window_start, window_end FROM ingest_runs ORDER BY target, run_id"
    ).fetchall()


def test_dags_test_loads_its_hour_only_and_a_rerun_changes_nothing(db, conn, channels):
    toml, times = channels
    env = helpers.airflow_env(helpers.airflow_home(), dsn=db, channels=toml)
    logical = helpers.CAPTURE_START + timedelta(hours=23)  # hour 22 of the capture: posts in every channel
    since, until = logical - timedelta(hours=1), logical  # the interval Airflow infers for that logical date
    cmd = [helpers.airflow_bin(), "dags", "test", "wirewatch_hourly", logical.isoformat()]

    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    check_window(conn, times, toml, since, until)
    runs = _runs(conn)
    assert sorted(runs) == sorted(
        (f"{p}:{h}", "ingest", "succeeded", since, until) for h, (p, _) in helpers.channel_ids().items()
    )
    # The final task grouped the hour's posts into events and wrote their briefs.
    grouped = conn.execute(
        """SELECT count(*) FROM event_posts e JOIN posts p USING (platform, channel_id, post_id)
           WHERE p.posted_at >= %s AND p.posted_at < %s""",
        (since, until),
    ).fetchone()[0]
    assert grouped > 0
    assert conn.execute("SELECT count(*) FROM briefs").fetchone()[0] > 0
    before = table_checksums(conn)
    conn.commit()

    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    assert table_checksums(conn) == before
    assert len(_runs(conn)) == 2 * len(runs) and {r[2] for r in _runs(conn)} == {"succeeded"}


def test_manual_run_without_logical_date_takes_the_last_full_hour(db, conn, channels):
    toml, times = channels
    env = helpers.airflow_env(helpers.airflow_home(), dsn=db, channels=toml)
    requested = helpers.CAPTURE_START + timedelta(hours=32, minutes=17)
    done = helpers.run_dag(env, [f"manual:{requested.isoformat()}"])
    # Airflow gave the run no logical date and no data interval.
    assert f"RUN manual:{requested.isoformat()} success None None None" in done.stdout
    since, until = helpers.CAPTURE_START + timedelta(hours=31), helpers.CAPTURE_START + timedelta(hours=32)
    check_window(conn, times, toml, since, until)
    assert {(r[2], r[3], r[4]) for r in _runs(conn)} == {("succeeded", since, until)}
