"""The functions behind the DAG's tasks, without Airflow: windows, channels and pools, the DSN, one channel's
run (succeeded, deferred, failed) and the final stage (grouping, then briefs)."""

from __future__ import annotations

import subprocess
import sys
import types
from datetime import UTC, datetime, timedelta

import orjson
import pendulum
import psycopg
import pytest

from ingest.run import dag_tasks as orch
from ingest.sources.base import Deferred, SourceError
from tests.dags import helpers


def test_scheduled_run_covers_its_data_interval():
    ctx = {"params": {"since": None, "until": None}, "data_interval_start": pendulum.datetime(2026, 11, 20, 4),
           "data_interval_end": pendulum.datetime(2026, 11, 20, 5)}  # fmt: skip
    w = orch.window_from_context(ctx)
    assert (w.since, w.until, w.origin) == (datetime(2026, 11, 20, 4, tzinfo=UTC), datetime(2026, 11, 20, 5, tzinfo=UTC),
                                            "data_interval")  # fmt: skip
    assert type(w.since) is datetime  # not pendulum: it goes to psycopg and XCom
    assert orch.Window.from_dict(orjson.loads(orjson.dumps(w.as_dict()))) == w


def test_manual_run_without_logical_date_takes_the_last_full_hour():
    # Airflow 3 gives such a run no data interval at all: the keys are missing from the context.
    run = types.SimpleNamespace(run_after=pendulum.datetime(2026, 11, 20, 7, 42, 13), run_type="manual")
    w = orch.window_from_context({"params": {}, "dag_run": run})
    assert (w.since, w.until, w.origin) == (datetime(2026, 11, 20, 6, tzinfo=UTC), datetime(2026, 11, 20, 7, tzinfo=UTC),
                                            "last_full_hour")  # fmt: skip
    now = datetime(2026, 11, 20, 0, 0, 5, tzinfo=UTC)
    assert orch.window_from_context({}, now=now).since == datetime(2026, 11, 19, 23, tzinfo=UTC)


def test_params_override_and_bad_windows_are_refused():
    ctx = {"params": {"since": "2026-11-20T01:00:00Z", "until": "2026-11-20T04:30"},
           "data_interval_start": pendulum.datetime(2026, 11, 20, 4), "data_interval_end": pendulum.datetime(2026, 11, 20, 5)}  # fmt: skip
    w = orch.window_from_context(ctx)
    assert (w.since, w.until, w.origin) == (datetime(2026, 11, 20, 1, tzinfo=UTC), datetime(2026, 11, 20, 4, 30, tzinfo=UTC),
                                            "params")  # fmt: skip
    with pytest.raises(ValueError, match="both"):
        orch.window_from_context({"params": {"since": "2026-11-20T01:00Z"}})
    with pytest.raises(ValueError, match="CronDataIntervalTimetable"):
        t = pendulum.datetime(2026, 11, 20, 4)
        orch.window_from_context({"data_interval_start": t, "data_interval_end": t})  # what '@hourly' gives


def test_backfill_runs_skip_the_rescan_unless_asked_and_say_backfill():
    from airflow.utils.types import DagRunType

    scheduled = {"dag_run": types.SimpleNamespace(run_type=DagRunType.SCHEDULED)}
    backfill = {"dag_run": types.SimpleNamespace(run_type=DagRunType.BACKFILL_JOB)}
    assert orch.rescan_hours_from_context(scheduled) is None
    assert orch.rescan_hours_from_context(backfill) == 0.0
    assert orch.rescan_hours_from_context({"params": {"rescan_hours": 6}, "dag_run": None}) == 6.0
    assert (orch.run_kind_from_context(scheduled), orch.run_kind_from_context(backfill)) == (
        "ingest",
        "backfill",
    )
    assert orch.run_kind_from_context({}) == "ingest"


CHANNELS = """
[defaults]
rescan_hours = 24
[[channels]]
platform = "telegram"
handle = "kyivpost"
source = "telegram_web"
[[channels]]
platform = "telegram"
handle = "intelslava"
source = "telegram_web"
account = "Second-Phone"
[[channels]]
platform = "x"
handle = "nato"
source = "x_api"
"""


def test_channels_pools_and_the_pools_file(tmp_path, monkeypatch):
    path = tmp_path / "channels.toml"
    path.write_text(CHANNELS)
    monkeypatch.setenv("WIREWATCH_CHANNELS", str(path))
    assert orch.dag_pools() == ["telegram_default", "telegram_second_phone", "x_default"]
    every = orch.list_channels()
    orjson.dumps(every)  # XCom-safe
    assert [c["pool"] for c in every] == ["telegram_default", "telegram_second_phone", "x_default"]
    assert [c["name"] for c in orch.list_channels(pool="x_default")] == ["x:nato"]
    assert [c["handle"] for c in orch.list_channels(["intelslava"])] == ["intelslava"]
    assert orch.channel_from_dict(every[1]).account == "Second-Phone"
    with pytest.raises(RuntimeError, match="telegram_second_phone"):
        orch.list_channels(known_pools=["telegram_default", "x_default"])
    spec = orch.pools_spec()
    assert {k: v["slots"] for k, v in spec.items()} == {
        "telegram_default": 1,
        "telegram_second_phone": 1,
        "x_default": 2,
    }
    # A config that cannot be read still gives the DAG its base pools (the run then reports the error).
    path.write_text("[[channels]]\nplatform = 'mastodon'\nhandle = 'x'\n")
    assert orch.dag_pools() == ["telegram_default", "x_default"]
    with pytest.raises(ValueError, match="mastodon"):
        orch.list_channels()


def test_dsn_from_the_airflow_connection_else_the_environment(db, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WIREWATCH_DB", helpers.dsn_to_uri(db))
    monkeypatch.setenv("WIREWATCH_DSN", "host=nowhere.invalid")
    with psycopg.connect(orch.warehouse_dsn()) as c:
        assert (
            c.execute("SELECT current_database()").fetchone()[0]
            == psycopg.conninfo.conninfo_to_dict(db)["dbname"]
        )
    monkeypatch.delenv("AIRFLOW_CONN_WIREWATCH_DB")
    assert orch.warehouse_dsn() == "host=nowhere.invalid"
    monkeypatch.delenv("WIREWATCH_DSN")
    with pytest.raises(RuntimeError, match="AIRFLOW_CONN_WIREWATCH_DB"):
        orch.warehouse_dsn()


class _Source:
    """A live source that fails in a chosen way (the replay source covers the succeeding path)."""

    name, platform = "replay", "telegram"

    def __init__(self, error: Exception):
        self.error = error

    def resolve(self, spec):
        return 777, spec.handle, None

    def fetch(self, spec, channel_id, cursor, window):
        raise self.error
        yield  # pragma: no cover


WINDOW = orch.Window(
    datetime(2026, 11, 20, 4, tzinfo=UTC), datetime(2026, 11, 20, 5, tzinfo=UTC), "data_interval"
)
CHANNEL = {"name": "telegram:somechannel", "platform": "telegram", "handle": "somechannel", "source": "replay",
           "channel_id": 777, "account": "default", "options": {}, "pool": "telegram_default"}  # fmt: skip


def test_a_deferred_channel_is_a_normal_outcome(db, conn):
    until = datetime.now(UTC) + timedelta(hours=2)
    out = orch.run_channel(db, CHANNEL, WINDOW, source=_Source(Deferred(until, "FloodWait 7200 s")))
    orjson.dumps(out)
    assert out["status"] == "deferred" and out["deferred_until"] == until.isoformat()
    assert out["window"] == WINDOW.as_dict()
    assert conn.execute("SELECT status, window_start, window_end FROM ingest_runs").fetchall() == [
        ("deferred", WINDOW.since, WINDOW.until)
    ]


def test_a_failed_channel_raises_so_that_airflow_retries(db, conn):
    with pytest.raises(orch.ChannelFailed, match="somechannel failed") as err:
        orch.run_channel(db, CHANNEL, WINDOW, source=_Source(SourceError("channel has no public preview")))
    assert err.value.summary["status"] == "failed" and err.value.summary["run_id"]
    assert conn.execute("SELECT status FROM ingest_runs").fetchall() == [("failed",)]


STAGE_WINDOW = orch.Window(
    datetime(2026, 6, 26, 4, tzinfo=UTC), datetime(2026, 6, 26, 6, tzinfo=UTC), "data_interval"
)


def _stage_posts():
    """The Rutte reports and unrelated posts of 04:50-05:30 (inside STAGE_WINDOW), and one post after it."""
    from tests.events.posts import KYIVPOST, post, rutte_posts, unrelated_posts

    later = post(
        KYIVPOST, 50999, STAGE_WINDOW.until + timedelta(minutes=5), "Parliament adjourned till Monday."
    )
    return rutte_posts() + unrelated_posts(), later


def _count(conn, table: str) -> int:
    n = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    conn.commit()
    return n


def test_group_and_brief_groups_the_window_then_writes_its_briefs(db, conn):
    from ingest.warehouse.loader import Loader

    inside, later = _stage_posts()
    Loader(conn).load([*inside, later])
    conn.commit()

    out = orch.group_and_brief(db, STAGE_WINDOW)
    orjson.dumps(out)  # what XCom stores
    assert out["window"] == STAGE_WINDOW.as_dict()
    # The Rutte reports form one event, each unrelated post its own: 6 events from the window's 9 posts.
    group = out["group"]
    assert (group["mode"], group["posts"], group["events_created"]) == ("incremental", 9, 6)
    assert group["replayed_from"] is None and group["seconds"] >= 0
    assert {k: v for k, v in out["briefs"].items() if k != "seconds"} == {
        "events": 6, "written": 6, "unchanged": 0, "dropped": 0,
    }  # fmt: skip
    assert _count(conn, "event_posts") == 9 and _count(conn, "briefs") == 6  # both stages committed
    later_grouped = conn.execute(
        "SELECT count(*) FROM event_posts WHERE platform = %s AND channel_id = %s AND post_id = %s",
        (later.platform, later.channel_id, later.post_id),
    ).fetchone()[0]
    assert later_grouped == 0  # the post after the window is left to its own run

    again = orch.group_and_brief(db, STAGE_WINDOW)  # re-running the hour changes nothing
    assert again["group"]["mode"] == "noop"
    assert (again["briefs"]["written"], again["briefs"]["unchanged"]) == (0, 6)


def test_a_failure_inside_grouping_fails_the_task_and_leaves_nothing_half_written(db, conn, monkeypatch):
    import ingest.briefs
    from ingest.warehouse import events as store
    from ingest.warehouse.loader import Loader

    inside, _ = _stage_posts()
    Loader(conn).load(inside)
    conn.commit()

    def boom(*args, **kwargs):
        raise RuntimeError("grouping broke after writing its events")

    briefed: list = []
    # set_state is the last step of a grouping run: the events are written by then.
    monkeypatch.setattr(store, "set_state", boom)
    monkeypatch.setattr(ingest.briefs, "brief_window", lambda *a, **kw: briefed.append(a))
    with pytest.raises(RuntimeError, match="grouping broke"):
        orch.group_and_brief(db, STAGE_WINDOW)
    assert briefed == []  # briefs never ran on a failed grouping
    assert _count(conn, "events") == 0 and _count(conn, "event_posts") == 0  # rolled back

    monkeypatch.undo()  # Airflow's retry: the posts are still to group
    out = orch.group_and_brief(db, STAGE_WINDOW)
    assert (out["group"]["posts"], out["group"]["events_created"], out["briefs"]["written"]) == (9, 6, 6)


def test_parsing_the_dag_does_not_import_grouping_or_briefs():
    # The DAG file imports this module on every parse; grouping and briefs (numpy, scipy) load when the task runs.
    code = (
        "import sys, ingest.run.dag_tasks; "
        "print(sorted(m for m in ('ingest.events', 'ingest.briefs', 'numpy', 'scipy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_start_date_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("WIREWATCH_START_DATE", "2026-06-26T05:40:00+02:00")
    assert orch.dag_start_date() == datetime(2026, 6, 26, 3, tzinfo=UTC)
    monkeypatch.delenv("WIREWATCH_START_DATE")
    assert orch.dag_start_date() == orch.DEFAULT_START_DATE
