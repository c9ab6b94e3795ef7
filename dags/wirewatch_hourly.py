"""wirewatch hourly: every watched channel over the run's hour, then events and briefs for that hour.

Each run covers its data interval [start, end) in UTC (a manual run without a logical date: the last full hour;
params `since`/`until` override both). The watched channels are read from channels.toml when the run starts; one
mapped task a channel calls `ingest.run.reconnecting.ingest_channel`, the function behind `wirewatch ingest`. Channels run in
the pool of their platform and account (`telegram_default`, `x_default`, ...: create them with
`wirewatch airflow pools --apply`); a Telegram account's pool has one slot, so its session is never used by two
tasks at once, and `max_active_runs=1` keeps hours in order. A rate-limited channel is deferred (its cursor kept;
the next run resumes), not failed; a failed channel is retried with exponential backoff. Re-running an hour
changes nothing that has not changed at the source.

Warehouse: the Airflow connection `wirewatch_db` (AIRFLOW_CONN_WIREWATCH_DB), else WIREWATCH_DSN.
The logic lives in `ingest.run.dag_tasks`; this file only wires tasks.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

from ingest.run import dag_tasks as orch

POOLS = orch.dag_pools()


@dag(
    dag_id="wirewatch_hourly",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=orch.dag_start_date(),
    catchup=True,  # an hour missed while the scheduler was down is run when it is back, in order
    max_active_runs=1,
    default_args={
        "retries": 3,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": 2.0,  # 2, 4, 8 minutes
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(minutes=50),
    },
    params={
        "since": Param(
            None, type=["null", "string"], description="Window start (ISO 8601, UTC); with until."
        ),
        "until": Param(None, type=["null", "string"], description="Window end (exclusive); with since."),
        "channels": Param([], type="array", description="Only these channels (handle or platform:handle)."),
        "rescan_hours": Param(
            None, type=["null", "number"], description="Hours re-read for edits and counts."
        ),
    },
    tags=["wirewatch"],
    doc_md=__doc__,
)
def wirewatch_hourly():
    @task
    def watched_channels(pool: str) -> list[dict]:
        """The channels of one pool, read from channels.toml now."""
        ctx = get_current_context()
        return orch.list_channels(ctx["params"].get("channels") or None, pool=pool, known_pools=POOLS)

    @task(map_index_template="{{ channel_name }}")
    def ingest_channel(channel: dict) -> dict:
        """One channel over the run's window (what `wirewatch ingest` runs)."""
        ctx = get_current_context()
        ctx["channel_name"] = channel["name"]  # type: ignore[typeddict-unknown-key] - names the mapped task
        return orch.run_channel(
            orch.warehouse_dsn(),
            channel,
            orch.window_from_context(ctx),
            rescan_hours=orch.rescan_hours_from_context(ctx),
            kind=orch.run_kind_from_context(ctx),
        )

    @task(trigger_rule="none_failed")
    def group_and_brief() -> dict:
        """Events, then briefs, for the run's window (what `wirewatch group` and `wirewatch briefs` do)."""
        return orch.group_and_brief(orch.warehouse_dsn(), orch.window_from_context(get_current_context()))

    @task
    def maintain_warehouse() -> dict:
        """Monthly partitions ahead and the raw payload retention (what `wirewatch db maintain` does)."""
        return orch.maintain_warehouse(orch.warehouse_dsn())

    fetched = [
        ingest_channel.override(task_id=f"ingest_{pool}", pool=pool).expand(
            channel=watched_channels.override(task_id=f"channels_{pool}")(pool)
        )
        for pool in POOLS
    ]
    fetched >> group_and_brief()
    maintain_warehouse()  # independent of the channels: a failed fetch does not hold it back


wirewatch_hourly()
