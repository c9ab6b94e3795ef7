"""The hourly DAG on Airflow's CeleryExecutor, end to end, on this machine (what docker-compose's celery profile
runs, without Docker): Redis as the broker, a scratch PostgreSQL database for Airflow's metadata and another for
the warehouse, scheduler + api-server + dag-processor + one Celery worker in the background.

It exercises every way a run starts and checks that each run loaded its own window and nothing else:
  * scheduled runs: the scheduler catches up the hours since WIREWATCH_START_DATE (two hours ago);
  * a run triggered through the REST API with a logical date (its window repeats a scheduled one: idempotent);
  * a run triggered through the REST API without a logical date (the last full hour);
  * `airflow backfill create` over three earlier hours (before the DAG's start date).
Then it stops everything with SIGINT and drops the scratch databases. Run it with scripts/celery_e2e.sh.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.warehouse import migrate  # noqa: E402
from tests.dags import helpers  # noqa: E402

BIN = Path(sys.executable).parent
DAG_ID = "wirewatch_hourly"


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def run(cmd: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[:3])} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_db(dsn: str, dbname: str) -> str:
    parts = conninfo_to_dict(dsn)
    parts["dbname"] = dbname
    return make_conninfo(**parts)


def sqlalchemy_url(dsn: str) -> str:
    return helpers.dsn_to_uri(dsn).replace("postgresql://", "postgresql+psycopg://", 1)


class Stack:
    """The Airflow components, each in its own process group, stopped with SIGINT."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env, self.logs, self.procs = env, logs, {}

    def start(self, name: str, *args: str) -> None:
        out = (self.logs / f"{name}.log").open("w")
        self.procs[name] = subprocess.Popen(
            [str(BIN / "airflow"), *args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log(f"started {name} (pid {self.procs[name].pid})")

    def check(self) -> None:
        for name, p in self.procs.items():
            if p.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text()[-3000:]
                raise RuntimeError(f"{name} exited with {p.returncode}:\n{tail}")

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                os.kill(p.pid, signal.SIGINT)
        deadline = time.monotonic() + 45
        for name, p in self.procs.items():
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
                log(f"{name} stopped ({p.returncode})")
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop on SIGINT: SIGTERM to its process group")
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        # Children a component left behind (executor subprocesses) share its process group.
        for p in self.procs.values():
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


class Api:
    def __init__(self, base: str):
        self.http = httpx.Client(base_url=base, timeout=30)
        token = self.http.get("/auth/token").json()["access_token"]  # all admins: no login
        self.http.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **kw):
        r = self.http.get(path, **kw)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: dict):
        r = self.http.post(path, json=body)
        if r.status_code >= 400:
            raise RuntimeError(f"POST {path}: {r.status_code} {r.text}")
        return r.json()

    def patch(self, path: str, body: dict):
        r = self.http.patch(path, json=body)
        r.raise_for_status()
        return r.json()


def wait_for(what: str, check, timeout: float, stack: Stack, every: float = 2.0):
    deadline = time.monotonic() + timeout
    while True:
        stack.check()
        try:
            value = check()
        except (httpx.HTTPError, KeyError, RuntimeError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(every)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--admin-dsn",
        default=os.environ.get("WIREWATCH_TEST_ADMIN_DSN", "host=127.0.0.1 port=5432 dbname=test"),
    )
    parser.add_argument("--redis", default=os.environ.get("WIREWATCH_TEST_REDIS", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--shared-data", default=os.environ.get("WIREWATCH_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
    )
    parser.add_argument("--report", help="write the timings as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args()

    t0 = time.monotonic()
    tag = secrets.token_hex(4)
    meta_db, wh_db = f"airflow_meta_{tag}", f"ww_celery_{tag}"
    work = Path(tempfile.mkdtemp(prefix="wirewatch-celery-"))
    (work / "logs").mkdir()
    now = datetime.now(UTC)
    top = now.replace(minute=0, second=0, microsecond=0)  # the start of the current hour
    with psycopg.connect(args.admin_dsn, autocommit=True) as c:
        for db in (meta_db, wh_db):
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    warehouse = with_db(args.admin_dsn, wh_db)
    stack = None
    timings: dict[str, float | str] = {}
    try:
        with psycopg.connect(warehouse) as c:
            migrate.upgrade(c)
        times = helpers.make_capture(Path(args.shared_data), work / "capture", start=top - timedelta(hours=8))
        channels = helpers.write_channels(work, work / "capture")
        port = free_port()
        queue = f"wirewatch_e2e_{tag}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and k != "WIREWATCH_DSN"}
        env.update(
            AIRFLOW_HOME=str(work / "home"),
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlalchemy_url(with_db(args.admin_dsn, meta_db)),
            # psycopg 3 serves Airflow's async engine too (the default would need asyncpg).
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=sqlalchemy_url(with_db(args.admin_dsn, meta_db)),
            AIRFLOW__CELERY__BROKER_URL=args.redis,
            AIRFLOW__CELERY__RESULT_BACKEND=args.redis,
            AIRFLOW__CELERY__WORKER_CONCURRENCY="2",
            # A queue of our own: another Celery worker on the same Redis never takes these tasks.
            AIRFLOW__OPERATORS__DEFAULT_QUEUE=queue,
            AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__PARALLELISM="4",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
            AIRFLOW__API__PORT=str(port),
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
            AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
            AIRFLOW_CONN_WIREWATCH_DB=helpers.dsn_to_uri(warehouse),
            WIREWATCH_CHANNELS=str(channels),
            WIREWATCH_START_DATE=(top - timedelta(hours=2)).isoformat(),
        )
        t = time.monotonic()
        subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
        subprocess.run(
            [str(BIN / "wirewatch"), "airflow", "pools", "--apply"], env=env, check=True, capture_output=True
        )
        timings["migrate_and_pools_s"] = round(time.monotonic() - t, 1)
        log(f"metadata db {meta_db} migrated, pools created ({timings['migrate_and_pools_s']} s)")

        stack = Stack(env, work / "logs")
        t = time.monotonic()
        stack.start("api-server", "api-server", "--port", str(port))
        stack.start("scheduler", "scheduler")
        stack.start("dag-processor", "dag-processor")
        stack.start("celery-worker", "celery", "worker", "--queues", queue, "--concurrency", "2")
        base = f"http://127.0.0.1:{port}"
        api = wait_for("the api-server", lambda: Api(base), 180, stack)
        wait_for("the DAG to be parsed", lambda: api.get(f"/api/v2/dags/{DAG_ID}"), 240, stack)
        timings["stack_ready_s"] = round(time.monotonic() - t, 1)
        log(f"stack up, DAG parsed ({timings['stack_ready_s']} s)")

        t = time.monotonic()
        api.patch(f"/api/v2/dags/{DAG_ID}", {"is_paused": False})  # the scheduler now catches up 2 hours
        with_date = api.post(f"/api/v2/dags/{DAG_ID}/dagRuns",
                             {"logical_date": (top - timedelta(minutes=59)).isoformat()})  # fmt: skip
        manual = api.post(f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None})
        backfill_from, backfill_to = top - timedelta(hours=6), top - timedelta(hours=4)
        run([str(BIN / "airflow"), "backfill", "create", "--dag-id", DAG_ID, "--from-date", backfill_from.isoformat(),
             "--to-date", backfill_to.isoformat(), "--max-active-runs", "1"], env)  # fmt: skip
        log(
            f"triggered: {with_date['dag_run_id']} (logical date), {manual['dag_run_id']} (none), backfill of 3 h"
        )

        def finished():
            runs = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"limit": 100})["dag_runs"]
            states = {r["dag_run_id"]: r["state"] for r in runs}
            if any(s == "failed" for s in states.values()):
                raise SystemExit(f"a DAG run failed: {states}")
            kinds = {r["run_type"] for r in runs}
            done = [r for r in runs if r["state"] == "success"]
            # 2 scheduled + 2 triggered + 3 backfill runs (one more scheduled if the clock passes the hour).
            return (
                runs if len(done) == len(runs) >= 7 and {"scheduled", "manual", "backfill"} <= kinds else None
            )

        runs = wait_for("7 successful DAG runs", finished, 900, stack, every=3)
        timings["runs_s"] = round(time.monotonic() - t, 1)
        durations = [
            (datetime.fromisoformat(r["end_date"]) - datetime.fromisoformat(r["start_date"])).total_seconds()
            for r in runs
        ]
        timings["run_mean_s"] = round(sum(durations) / len(durations), 1)
        log(f"7 runs succeeded in {timings['runs_s']} s (a run took {timings['run_mean_s']} s on average)")
        tis = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/~/taskInstances", params={"limit": 1000})[
            "task_instances"
        ]
        hosts = {ti["hostname"] for ti in tis if ti.get("hostname")}
        executors = {ti.get("executor") or "default" for ti in tis}
        queues = {ti["queue"] for ti in tis}
        assert queues == {queue}, queues

        # Each run loaded its own window: the union of the windows and nothing in the gap between them.
        windows = set()
        for r in runs:
            if r["data_interval_start"]:
                windows.add(
                    (
                        datetime.fromisoformat(r["data_interval_start"]),
                        datetime.fromisoformat(r["data_interval_end"]),
                    )
                )
            else:  # the manual run without a logical date: the last full hour before it was requested
                end = datetime.fromisoformat(r["run_after"]).replace(minute=0, second=0, microsecond=0)
                windows.add((end - timedelta(hours=1), end))
        with psycopg.connect(warehouse) as c:
            stored_windows = set(c.execute(
                "SELECT DISTINCT window_start, window_end FROM ingest_runs WHERE status = 'succeeded'").fetchall())  # fmt: skip
            assert stored_windows == windows, (stored_windows, windows)
            kinds = dict(c.execute("SELECT kind, count(*) FROM ingest_runs GROUP BY 1").fetchall())
            for handle, (platform, channel_id) in helpers.channel_ids().items():
                if platform != "telegram":
                    continue  # X pages also carry the older posts they reference (checked in the pytest suite)
                got = {r[0] for r in c.execute(
                    "SELECT post_id FROM posts WHERE platform = %s AND channel_id = %s", (platform, channel_id))}  # fmt: skip
                want = {i for i, at in times[handle].items() if any(s <= at < e for s, e in windows)}
                units = helpers.album_units(work / "capture" / f"telegram_{handle}.jsonl", want)
                assert got <= want and len(got) == units, (handle, sorted(got), sorted(want))
            posts = c.execute("SELECT count(*) FROM posts").fetchone()[0]
        worker_log = (work / "logs" / "celery-worker.log").read_text()
        received = len(re.findall(r"Task execute_workload\[[0-9a-f-]+\] received", worker_log))
        assert received == len(tis), (received, len(tis))  # every task went through the Celery worker
        # 3 channels x (2+ scheduled and 2 triggered runs; 3 backfill runs)
        assert kinds["backfill"] == 9 and kinds["ingest"] >= 12, kinds
        timings["total_s"] = round(time.monotonic() - t0, 1)
        summary = {
            "executor": "CeleryExecutor", "broker": args.redis, "metadata_db": "postgresql (scratch)",
            "runs": {"scheduled": 2, "rest_with_logical_date": 1, "rest_without_logical_date": 1, "backfill": 3},
            "windows": len(windows), "ingest_runs_by_kind": kinds, "posts": posts, "task_instances": len(tis),
            "celery_tasks_received": received,
            "worker_hosts": sorted(hosts), "executors": sorted(executors), **timings,
        }  # fmt: skip
        print(json.dumps(summary, indent=2))
        if args.report:
            Path(args.report).write_text(json.dumps(summary, indent=2) + "\n")
        log("OK")
        return 0
    finally:
        if stack is not None:
            stack.stop()
        with psycopg.connect(args.admin_dsn, autocommit=True) as c:
            for db in (meta_db, wh_db):
                c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))
                c.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db)))
        log(f"dropped {meta_db} and {wh_db}")
        if args.keep:
            log(f"logs kept in {work / 'logs'}")
        else:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
