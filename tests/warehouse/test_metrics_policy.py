"""The metrics policy: every count change while a post is young, then material changes and one per gap; the
analyst series still ends at the current counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ingest.models import Metrics
from ingest.warehouse.loader import Loader
from ingest.warehouse.metrics_policy import MetricsPolicy
from tests.warehouse.test_loader import T0, post

H = timedelta(hours=1)


def _observe(conn, policy: MetricsPolicy, views: list[int], *, start: timedelta = timedelta(0)) -> list[int]:
    """Post 1 (published at T0 + 1 min) observed hourly from T0 + start with these view counts; the stored
    series of views."""
    for i, v in enumerate(views):
        Loader(conn, metrics_policy=policy).load(
            [post(1, metrics=Metrics(views=v), observed_at=T0 + start + i * H)]
        )
        conn.commit()
    return [
        r[0] for r in conn.execute("SELECT views FROM post_metrics WHERE post_id = 1 ORDER BY observed_at")
    ]


def _analyst_series(conn) -> list[tuple[int, bool]]:
    return list(
        conn.execute(
            "SELECT views, is_latest FROM analyst.post_metrics WHERE post_id = 1 ORDER BY observed_at"
        )
    )


def test_a_young_post_keeps_every_change(conn):
    views = [100, 101, 102, 103, 104]
    assert _observe(conn, MetricsPolicy(young_hours=24), views) == views


def test_an_old_post_keeps_material_changes_and_shows_its_current_counts(conn):
    # Observed from 30 h after publication: 1 % steps are immaterial until they add up to 5 %.
    policy = MetricsPolicy(young_hours=24, min_change=0.05, max_gap_hours=None)
    views = [1000, 1010, 1020, 1030, 1040, 1050, 1060, 2000]
    stored = _observe(conn, policy, views, start=30 * H)
    # The first observation (stored when the counts first change), then changes of >= 5 % of the last row.
    assert stored == [1000, 1050, 2000]
    # With an immaterial last change the analyst view ends at the current counts, not at the last stored row.
    Loader(conn, metrics_policy=policy).load([post(1, metrics=Metrics(views=2010), observed_at=T0 + 40 * H)])
    conn.commit()
    assert _analyst_series(conn) == [(v, False) for v in stored] + [(2010, True)]
    assert conn.execute("SELECT views FROM posts").fetchone()[0] == 2010


def test_the_gap_floor_keeps_a_slow_post_moving(conn):
    policy = MetricsPolicy(young_hours=0, min_change=0.5, max_gap_hours=3)
    stored = _observe(conn, policy, [100, 101, 102, 103, 104, 105, 106, 107], start=30 * H)
    assert stored == [100, 103, 106]  # the first observation, then one every 3 h


def test_keep_every_change_is_the_behaviour_before_the_policy(conn):
    views = [1000, 1001, 1002, 1003]
    assert _observe(conn, MetricsPolicy.keep_every_change(), views, start=300 * H) == views
    assert _analyst_series(conn) == [(1000, False), (1001, False), (1002, False), (1003, True)]


def test_a_count_appearing_is_material(conn):
    policy = MetricsPolicy(young_hours=0, min_change=0.5, max_gap_hours=None)
    for i, m in enumerate([Metrics(views=100), Metrics(views=101), Metrics(views=102, forwards=1)]):
        Loader(conn, metrics_policy=policy).load([post(1, metrics=m, observed_at=T0 + 30 * H + i * H)])
        conn.commit()
    rows = list(conn.execute("SELECT views, forwards FROM post_metrics ORDER BY observed_at"))
    assert rows == [(100, None), (102, 1)]  # 101 is 1 % more: immaterial


def test_policy_from_the_environment():
    assert MetricsPolicy.from_env({}) == MetricsPolicy()
    env = {
        "WIREWATCH_METRICS_YOUNG_HOURS": "all",
        "WIREWATCH_METRICS_MIN_CHANGE": "0",
        "WIREWATCH_METRICS_MAX_GAP_HOURS": "none",
    }
    assert MetricsPolicy.from_env(env) == MetricsPolicy.keep_every_change()
    assert MetricsPolicy.from_env({"WIREWATCH_METRICS_YOUNG_HOURS": "12"}).young_hours == 12
    with pytest.raises(ValueError, match="WIREWATCH_METRICS_MIN_CHANGE"):
        MetricsPolicy.from_env({"WIREWATCH_METRICS_MIN_CHANGE": "five percent"})
    with pytest.raises(ValueError, match="young_hours"):
        MetricsPolicy(young_hours=-1)


def test_past_youth_and_without_a_gap_floor_the_series_depends_only_on_the_states_seen(conn):
    """Material changes are judged against the last stored row, not the clock: two schedules that saw the same
    states (one of them some twice, at other moments) store the same series."""
    policy = MetricsPolicy(young_hours=0, min_change=0.05, max_gap_hours=None)
    states = [1000, 1010, 1030, 1060, 1061, 1200, 1210, 1300]
    hourly = _observe(conn, policy, states, start=30 * H)
    conn.execute("TRUNCATE posts, post_metrics, raw_records, channels, channel_aliases CASCADE")
    conn.commit()
    for i, v in enumerate([1000, 1000, 1010, 1030, 1030, 1060, 1061, 1200, 1210, 1210, 1300]):
        at = T0 + 50 * H + i * timedelta(minutes=17)
        Loader(conn, metrics_policy=policy).load([post(1, metrics=Metrics(views=v), observed_at=at)])
        conn.commit()
    irregular = [r[0] for r in conn.execute("SELECT views FROM post_metrics ORDER BY observed_at")]
    assert hourly == irregular == [1000, 1060, 1200, 1300]


@pytest.mark.parametrize(
    "order",
    [(0, 1, 2, 3), (0, 2, 1, 3), (3, 0, 1, 2), (3, 2, 1, 0), (2, 0, 3, 1)],
    ids=lambda o: "".join(map(str, o)),
)
def test_observations_loaded_in_any_order_keep_each_states_first_observation(conn, order):
    """Captures loaded out of time order (a folder's files finishing in another order, an older capture read after
    a newer one): the series is that of the observations loaded in time order, never one state twice in a row.
    Hourly observations of a young post: 100, 120, 120, 150; the repeat's first observation is what stays."""
    views = [100, 120, 120, 150]
    for i in order:
        Loader(conn, metrics_policy=MetricsPolicy()).load(
            [post(1, metrics=Metrics(views=views[i]), observed_at=T0 + i * H)]
        )
        conn.commit()
    series = list(
        conn.execute("SELECT observed_at, views FROM post_metrics WHERE post_id = 1 ORDER BY observed_at")
    )
    assert series == [(T0, 100), (T0 + H, 120), (T0 + 3 * H, 150)]
    assert conn.execute("SELECT views FROM posts WHERE post_id = 1").fetchone()[0] == 150
