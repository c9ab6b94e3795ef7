"""What the Airflow tasks of `dags/wirewatch_hourly.py` call: plain functions, testable without Airflow.

The DAG file only wires tasks together; every decision lives here: which window a run covers (its data interval,
explicit params, or the last full hour for a manual run without a logical date), which channels a run serves and
in which pool, how one channel runs (`ingest.run.reconnecting.ingest_channel`, as `wirewatch ingest` does), how
the warehouse DSN is found (the Airflow connection `wirewatch_db`, else $WIREWATCH_DSN), and the final stage:
event grouping, then briefs, over the run's window. Airflow is imported lazily and only for the connection lookup;
the channel pass, grouping and briefs are imported when their task runs, so that parsing the DAG stays cheap.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ingest.models import ChannelSpec
from ingest.times import iso_to_utc
from ingest.warehouse.db import DSN_ENV, resolve_dsn

log = logging.getLogger(__name__)

CONN_ID = "wirewatch_db"
START_DATE_ENV = "WIREWATCH_START_DATE"
DEFAULT_START_DATE = datetime(2026, 11, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)

#: Slots per pool, by platform. One Telethon client per session: two clients on one session get it revoked
#: (AUTH_KEY_DUPLICATED) and look like a bot to Telegram's flood control. X limits requests per token per
#: 15 minutes; two parallel timelines stay well inside it.
POOL_SLOTS = {"telegram": 1, "x": 2}
POOL_DESCRIPTIONS = {
    "telegram": "wirewatch: Telegram account {account!r}: one task at a time per session (flood limits, one client a session)",
    "x": "wirewatch: X token {account!r}: parallel timeline reads within the per-token rate limit",
}
#: Pools the DAG always has, so its shape does not depend on a readable channels.toml at parse time.
BASE_POOLS = ("telegram_default", "x_default")


class ChannelFailed(RuntimeError):
    """A channel's pass failed (its run record says why): raised so that Airflow retries the task."""

    def __init__(self, summary: dict[str, Any]):
        super().__init__(f"{summary.get('platform')}:{summary.get('handle')} failed: {summary.get('error')}")
        self.summary = summary


# ------------------------------------------------------------------------------------------------- windows


@dataclass(frozen=True)
class Window:
    """[since, until) in UTC, and where it came from: data_interval, params or last_full_hour."""

    since: datetime
    until: datetime
    origin: str

    def as_dict(self) -> dict[str, str]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "origin": self.origin}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Window:
        return cls(to_utc(d["since"]), to_utc(d["until"]), str(d.get("origin", "")))


def to_utc(value: Any) -> datetime:
    """A plain aware UTC datetime from a datetime (pendulum's too) or an ISO string; naive means UTC."""
    if isinstance(value, str):
        value = iso_to_utc(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a time: {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    # Rebuild as a stdlib datetime so the value pickles, compares and serialises like any other.
    return datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                    value.microsecond, tzinfo=UTC)  # fmt: skip


def floor_hour(dt: datetime) -> datetime:
    return dt.replace(minute=0, second=0, microsecond=0)


def window_from_context(context: Mapping[str, Any], now: datetime | None = None) -> Window:
    """The window a DAG run covers.

    1. params `since` and `until` (both, or neither) when a user gives them on a manual run;
    2. the run's data interval (scheduled runs, backfills, manual runs with a logical date);
    3. a manual run without a logical date has no data interval in Airflow 3: the last full hour before the run
       was requested (`dag_run.run_after`, else now).
    """
    params = context.get("params") or {}
    since, until = params.get("since"), params.get("until")
    if since or until:
        if not (since and until):
            raise ValueError("give both params 'since' and 'until', or neither")
        window = Window(to_utc(since), to_utc(until), "params")
    else:
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        if start is not None and end is not None:
            window = Window(to_utc(start), to_utc(end), "data_interval")
        else:
            dag_run = context.get("dag_run")
            ref = getattr(dag_run, "run_after", None) or now or datetime.now(UTC)
            end = floor_hour(to_utc(ref))
            window = Window(end - HOUR, end, "last_full_hour")
    if window.since >= window.until:
        raise ValueError(
            f"empty window [{window.since.isoformat()}, {window.until.isoformat()}) from {window.origin}: "
            "the DAG needs a timetable with real data intervals (CronDataIntervalTimetable), not '@hourly'"
        )
    return window


def _run_type(context: Mapping[str, Any]) -> str:
    run_type = getattr(context.get("dag_run"), "run_type", None)
    return str(getattr(run_type, "value", run_type))


def run_kind_from_context(context: Mapping[str, Any]) -> str:
    """The `ingest_runs.kind` of a DAG run's channel passes: 'backfill' for `airflow backfill create` runs (as
    for `wirewatch backfill`), else 'ingest' (as for `wirewatch ingest`)."""
    return "backfill" if _run_type(context) == "backfill" else "ingest"


def rescan_hours_from_context(context: Mapping[str, Any]) -> float | None:
    """None (the configured default) for regular runs; 0 for backfills, whose windows are history and whose
    rescans would only re-read the hours before each window again (X bills every read)."""
    params = context.get("params") or {}
    if params.get("rescan_hours") is not None:
        return float(params["rescan_hours"])
    if _run_type(context) == "backfill":
        return 0.0
    return None


# ------------------------------------------------------------------------------------------------ channels


def pool_for(platform: str, account: str) -> str:
    """The Airflow pool of a channel: one per platform and account (a Telegram session, an X token)."""
    return f"{platform}_{re.sub(r'[^a-z0-9_]', '_', account.lower())}"


def channel_to_dict(spec: ChannelSpec) -> dict[str, Any]:
    return {
        "name": f"{spec.platform}:{spec.handle}", "platform": spec.platform, "handle": spec.handle,
        "source": spec.source, "channel_id": spec.channel_id, "title": spec.title, "account": spec.account,
        "options": dict(spec.options), "pool": pool_for(spec.platform, spec.account),
    }  # fmt: skip


def channel_from_dict(d: Mapping[str, Any]) -> ChannelSpec:
    return ChannelSpec(
        platform=d["platform"], handle=d["handle"], source=d["source"], channel_id=d.get("channel_id"),
        title=d.get("title"), account=d.get("account", "default"), options=dict(d.get("options") or {}),
    )  # fmt: skip


def list_channels(
    names: list[str] | None = None,
    *,
    pool: str | None = None,
    known_pools: list[str] | tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """The watched channels (read now, from channels.toml) as JSON-able dicts, those of `pool` only if given.

    `known_pools` are the pools the DAG was parsed with: a channel needing another pool (an account added since)
    fails the run loudly instead of being skipped; the DAG picks the new pool up when it is parsed again."""
    from ingest.run import reconnecting

    channels = [channel_to_dict(s) for s in reconnecting.watched_channels(names or None)]
    if known_pools is not None:
        unknown = sorted({c["pool"] for c in channels} - set(known_pools))
        if unknown:
            raise RuntimeError(
                f"channels need pool(s) {', '.join(unknown)} that this DAG version has no task for; "
                "wait for the DAG to be parsed again and create the pools (wirewatch airflow pools --apply)"
            )
    return [c for c in channels if pool is None or c["pool"] == pool]


def dag_pools() -> list[str]:
    """Pools the DAG has a task for, read when the DAG file is parsed: the base pools plus one per platform and
    account in channels.toml. A channels.toml that cannot be read leaves the base pools (the run then fails on
    the real error, where it is visible)."""
    pools = set(BASE_POOLS)
    try:
        from ingest import config as cfg

        pools |= {pool_for(s.platform, s.account) for s in cfg.load_config().channels}
    except Exception as exc:  # noqa: BLE001 - a broken config must not hide the DAG
        log.warning("channels.toml unreadable while parsing the DAG: %s", exc)
    return sorted(pools)


def pools_spec(pools: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """`airflow pools import` JSON for the DAG's pools."""
    out = {}
    for name in pools if pools is not None else dag_pools():
        platform, _, account = name.partition("_")
        out[name] = {
            "slots": POOL_SLOTS.get(platform, 1),
            "description": POOL_DESCRIPTIONS.get(platform, "wirewatch: {account!r}").format(account=account),
            "include_deferred": False,
        }
    return out


def dag_start_date() -> datetime:
    """The first hour the DAG schedules ($WIREWATCH_START_DATE, ISO 8601): with catchup on, the scheduler runs
    every hour since, in order, so set it to when watching starts."""
    env = os.environ.get(START_DATE_ENV)
    return floor_hour(to_utc(env)) if env else DEFAULT_START_DATE


# ----------------------------------------------------------------------------------------------- warehouse


def warehouse_dsn(conn_id: str = CONN_ID) -> str:
    """The warehouse DSN: the Airflow connection `conn_id` (AIRFLOW_CONN_WIREWATCH_DB, or one stored in
    Airflow), else $WIREWATCH_DSN (`resolve_dsn`, as the CLI). Never logged: it holds the password."""
    missing = (
        f"no warehouse: set the Airflow connection {conn_id!r} (AIRFLOW_CONN_{conn_id.upper()}) or {DSN_ENV}"
    )
    return resolve_dsn(_airflow_connection_uri(conn_id), start_embedded=False, missing=missing)


def _airflow_connection_uri(conn_id: str) -> str | None:
    try:
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:
        return None  # Airflow not installed: the environment is the only place
    try:
        # get_uri() gives postgres://...: libpq accepts it (the postgres provider's hook would give a
        # SQLAlchemy URL that psycopg rejects, which is why the provider is not used).
        return Connection.get(conn_id).get_uri()
    except AirflowNotFoundException:
        return None


# ------------------------------------------------------------------------------------------------ the tasks


def run_channel(
    dsn: str,
    channel: Mapping[str, Any],
    window: Window,
    *,
    rescan_hours: float | None = None,
    kind: str = "ingest",
    source: Any = None,
) -> dict[str, Any]:
    """One channel over one window: the JSON-able summary. A deferred channel (rate-limited; its cursor kept) is
    a normal outcome; a failed one raises ChannelFailed so that Airflow retries it."""
    from ingest.run import reconnecting

    spec = channel_from_dict(channel)
    summary = reconnecting.ingest_channel(
        dsn, spec, since=window.since, until=window.until, rescan_hours=rescan_hours, kind=kind, source=source
    )
    result = {**summary.as_dict(), "window": window.as_dict()}
    if summary.status == "failed":
        raise ChannelFailed(result)
    if summary.status == "deferred":
        log.warning("%s deferred until %s: %s", channel.get("name"), result["deferred_until"], summary.error)
    return result


def group_and_brief(dsn: str, window: Window) -> dict[str, Any]:
    """Group the window's posts into events (`ingest.events.group_window`, as `wirewatch group`), then write the
    window's briefs (`ingest.briefs.brief_window`, as `wirewatch briefs`): each stage on its own connection,
    committed when it succeeds. A failing stage raises (its transaction rolled back, later stages not run), so
    that Airflow retries the task. Returns {"window", "group", "briefs"}: the window and each stage's stats.

    Both stages import numpy and scipy (seconds), so they are imported here, when the task runs, not when the
    DAG file is parsed."""
    from ingest.briefs import brief_window
    from ingest.events import group_window
    from ingest.warehouse.db import connect

    out: dict[str, Any] = {"window": window.as_dict()}
    with connect(dsn) as conn:  # commits on success
        out["group"] = jsonable(group_window(conn, window.since, window.until))
    with connect(dsn) as conn:
        out["briefs"] = jsonable(brief_window(conn, window.since, window.until))
    return out


def maintain_warehouse(dsn: str) -> dict[str, Any]:
    """Monthly partitions made ahead and the raw payload retention ($WIREWATCH_RAW_RETENTION_MONTHS), as
    `wirewatch db maintain` does."""
    from ingest.warehouse import partitions
    from ingest.warehouse.db import connect

    with connect(dsn) as conn:
        report = partitions.maintain(conn, retention_months=partitions.retention_from_env())
    return jsonable(report)


def jsonable(value: Any) -> Any:
    """A value XCom can store: dataclasses and objects with as_dict() become dicts, times ISO strings."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "as_dict"):
        return jsonable(value.as_dict())
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)
