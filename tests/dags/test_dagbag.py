"""Every DAG in dags/ imports cleanly, and the hourly DAG has the shape the README promises."""

from __future__ import annotations

from datetime import timedelta

import pytest

pytest.importorskip("airflow")

from airflow.dag_processing.dagbag import DagBag  # noqa: E402
from airflow.timetables.interval import CronDataIntervalTimetable  # noqa: E402


def _bag(repo_root) -> DagBag:
    return DagBag(dag_folder=str(repo_root / "dags"))


def test_every_dag_imports_without_errors(repo_root):
    bag = _bag(repo_root)
    assert bag.import_errors == {}
    assert "wirewatch_hourly" in bag.dags


def test_hourly_dag_shape(repo_root, tmp_path, monkeypatch):
    toml = tmp_path / "channels.toml"
    toml.write_text(
        '[[channels]]\nplatform = "telegram"\nhandle = "kyivpost"\nsource = "telegram_web"\n'
        '[[channels]]\nplatform = "telegram"\nhandle = "intelslava"\nsource = "telegram_web"\naccount = "second"\n'
    )
    monkeypatch.setenv("WIREWATCH_CHANNELS", str(toml))
    dag = _bag(repo_root).dags["wirewatch_hourly"]

    # Hourly data intervals in UTC (not '@hourly', whose intervals are empty in Airflow 3), in order, one at a time.
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable.summary == "0 * * * *"
    assert dag.max_active_runs == 1 and dag.catchup is True
    assert set(dag.params.keys()) == {"since", "until", "channels", "rescan_hours"}

    # One mapped ingest task per pool (platform + account), fed by a channel list read at run time.
    pools = ["telegram_default", "telegram_second", "x_default"]
    for pool in pools:
        ingest = dag.get_task(f"ingest_{pool}")
        assert ingest.pool == pool
        assert type(ingest).__name__.endswith("MappedOperator")
        assert ingest.upstream_task_ids == {f"channels_{pool}"}
        assert ingest.retries == 3 and ingest.retry_exponential_backoff == 2.0
        assert ingest.retry_delay == timedelta(minutes=2) and ingest.max_retry_delay == timedelta(minutes=30)
    final = dag.get_task("group_and_brief")
    assert final.upstream_task_ids == {f"ingest_{p}" for p in pools}
    assert final.trigger_rule == "none_failed"  # a pool with no channels is skipped, not a failure
    assert set(dag.task_ids) == {
        *(f"channels_{p}" for p in pools),
        *(f"ingest_{p}" for p in pools),
        "group_and_brief",
        "maintain_warehouse",
    }
    # Partitions ahead and retention: on their own, so a failed channel does not hold them back.
    assert dag.get_task("maintain_warehouse").upstream_task_ids == set()
