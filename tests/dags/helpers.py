"""Shared by the Airflow and backfill tests: a capture spanning hours built from the real shared data, a
channels.toml of replay channels over it, and one migrated AIRFLOW_HOME per test session.

The capture keeps every payload as captured and changes only the times: real Telethon messages of two channels
(Bloomberg, 40 posts; One Piece spoilers, 40 posts with an album, service messages and duplicate records) and the
100-tweet timeline of one X account (withheld.jsonl) are re-timed, in id order, across 60 hours from CAPTURE_START,
so that every hour holds a post or two per channel.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict

REPO_ROOT = Path(__file__).resolve().parents[2]
CAPTURE_START = datetime(2026, 11, 20, tzinfo=UTC)
CAPTURE_HOURS = 60

TELEGRAM = {
    # handle: (file, channel id, first post offset, spacing)
    "bloomberg": ("bloomberg_1488156064.jsonl", 1488156064, timedelta(minutes=20), timedelta(minutes=90)),
    "onepiecespoilhere": ("onepiecespoilhere_1508897975.jsonl", 1508897975, timedelta(minutes=45),
                          timedelta(minutes=85)),
}  # fmt: skip
X_FILE, X_USER_ID, X_HANDLE = "withheld.jsonl", 2351222345, "phillynefl"
X_FIRST, X_SPACING = timedelta(minutes=10), timedelta(minutes=35)


def _telethon_time(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S.%f")  # naive UTC, as the capture writes dates


def make_capture(
    shared_data: Path, dest: Path, start: datetime = CAPTURE_START
) -> dict[str, dict[int, datetime]]:
    """Write the capture, re-timed from `start`, into `dest`; returns {handle: {post id: posted_at}}."""
    dest.mkdir(parents=True, exist_ok=True)
    times: dict[str, dict[int, datetime]] = {}
    for handle, (name, _cid, first, step) in TELEGRAM.items():
        records = [
            json.loads(line) for line in (shared_data / "telethon" / name).read_text().splitlines() if line
        ]
        slots: dict[Any, datetime] = {}
        when: dict[int, datetime] = {}
        for mid in sorted({r["id"] for r in records}):
            rec = next(r for r in records if r["id"] == mid)
            key = rec.get("grouped_id") or ("id", mid)
            # An album's members were posted together: they share one time.
            when[mid] = slots.setdefault(key, start + first + len(slots) * step)
        out = []
        for r in records:
            new = dict(r)
            old_date = datetime.fromisoformat(r["date"])
            new["date"] = _telethon_time(when[r["id"]])
            if r.get("edit_date"):
                delta = min(
                    max(datetime.fromisoformat(r["edit_date"]) - old_date, timedelta(0)), timedelta(hours=1)
                )
                new["edit_date"] = _telethon_time(when[r["id"]] + delta)
            out.append(json.dumps(new, ensure_ascii=False))
        (dest / f"telegram_{handle}.jsonl").write_text("\n".join(out) + "\n", encoding="utf-8")
        times[handle] = when
    pages = []
    mine: list[dict] = []
    for line in (shared_data / "x_api_v2" / "twarc_pages" / X_FILE).read_text().splitlines():
        if line.strip():
            page = json.loads(line)
            mine.extend(t for t in page.get("data") or () if t.get("author_id") == str(X_USER_ID))
            pages.append(page)
    order = {int(t["id"]): k for k, t in enumerate(sorted(mine, key=lambda t: int(t["id"])))}
    when_x = {tid: start + X_FIRST + k * X_SPACING for tid, k in order.items()}
    for page in pages:
        for t in page.get("data") or ():
            if int(t["id"]) in when_x:
                t["created_at"] = when_x[int(t["id"])].strftime("%Y-%m-%dT%H:%M:%S.000Z")
    (dest / "x_phillynefl.jsonl").write_text("\n".join(json.dumps(p) for p in pages) + "\n", encoding="utf-8")
    times[X_HANDLE] = when_x
    return times


def write_channels(dest: Path, capture: Path, **options: Any) -> Path:
    """channels.toml watching the three capture channels through the replay source."""
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items())
    lines = ["[defaults]\nrescan_hours = 48\n"]
    for handle, (_, cid, _, _) in TELEGRAM.items():
        lines.append(
            f'[[channels]]\nplatform = "telegram"\nhandle = "{handle}"\nsource = "replay"\nchannel_id = {cid}\n'
            f'replay_path = "{capture / f"telegram_{handle}.jsonl"}"\n{extra}'
        )
    lines.append(
        f'[[channels]]\nplatform = "x"\nhandle = "{X_HANDLE}"\nsource = "replay"\n'
        f'replay_path = "{capture / "x_phillynefl.jsonl"}"\n{extra}'
    )
    path = dest / "channels.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def album_units(capture_file: Path, ids: set[int]) -> int:
    """How many posts a set of Telegram message ids makes once albums are merged (an album is one post)."""
    groups = {}
    for line in capture_file.read_text().splitlines():
        rec = json.loads(line)
        if rec["id"] in ids:
            groups[rec["id"]] = rec.get("grouped_id") or ("id", rec["id"])
    return len(set(groups.values()))


def channel_ids() -> dict[str, tuple[str, int]]:
    return {**{h: ("telegram", v[1]) for h, v in TELEGRAM.items()}, X_HANDLE: ("x", X_USER_ID)}


def dsn_to_uri(dsn: str) -> str:
    """A libpq key=value DSN as the URI form AIRFLOW_CONN_* takes."""
    from urllib.parse import quote, urlencode

    parts = conninfo_to_dict(dsn)
    user = quote(parts.pop("user", "") or "", safe="")
    password = parts.pop("password", None)
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host, port, db = parts.pop("host", "localhost"), parts.pop("port", "5432"), parts.pop("dbname", "")
    query = f"?{urlencode(parts)}" if parts else ""
    return f"postgresql://{auth}{host}:{port}/{db}{query}"


def _migrate(home: Path) -> None:
    done = subprocess.run(
        [airflow_bin(), "db", "migrate"], env=airflow_env(home), capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def _migrated_template() -> Path | None:
    """Under pytest-xdist, one `airflow db migrate` (about 30 s) for all the workers of this run: the first
    worker to get here migrates a template home in the run's shared directory (made by tests/conftest.py), the
    others wait on the lock and copy its SQLite file. None when the tests run in one process."""
    shared = os.environ.get("WIREWATCH_TEST_SHARED_DIR")
    if not shared or not os.environ.get("PYTEST_XDIST_WORKER"):
        return None
    import fcntl

    template = Path(shared) / "airflow-template"
    template.mkdir(exist_ok=True)
    with open(template / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (template / "migrated").exists():
            _migrate(template)
            (template / "migrated").touch()
    return template


@functools.cache
def airflow_home() -> Path:
    """One migrated AIRFLOW_HOME (SQLite metadata) for the whole test session (for each worker under xdist)."""
    home = Path(tempfile.mkdtemp(prefix="wirewatch-airflow-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    template = _migrated_template()
    if template is None:
        _migrate(home)
    else:
        # Only the database: airflow.cfg names its own home's paths, so each home writes its own.
        shutil.copy2(template / "airflow.db", home / "airflow.db")
    return home


def airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def airflow_env(home: Path, *, dsn: str | None = None, channels: Path | None = None) -> dict[str, str]:
    """The environment of an Airflow process for the tests: private home, the repo's DAGs, no examples; the
    warehouse only through AIRFLOW_CONN_WIREWATCH_DB (WIREWATCH_DSN is removed to prove it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and k != "WIREWATCH_DSN"}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO_ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        # Runs in the tests lie in the capture's past: the DAG must start before them.
        WIREWATCH_START_DATE="2020-01-01T00:00:00Z",
    )
    if dsn is not None:
        env["AIRFLOW_CONN_WIREWATCH_DB"] = dsn_to_uri(dsn)
    if channels is not None:
        env["WIREWATCH_CHANNELS"] = str(channels)
    return env


#: A Python program run under the test Airflow environment: DAG runs in-process with `dag.test()`, one per
#: logical date given (ISO), or one manual run without a logical date when given `manual:<run_after ISO>`.
DAG_RUNNER = r"""
import sys
from datetime import datetime
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
if bag.import_errors:
    raise SystemExit(f"import errors: {bag.import_errors}")
dag = bag.dags["wirewatch_hourly"]
for arg in sys.argv[2:]:
    if arg.startswith("manual:"):
        dr = dag.test(logical_date=None, run_after=datetime.fromisoformat(arg[len("manual:"):]))
    else:
        dr = dag.test(logical_date=datetime.fromisoformat(arg))
    print("RUN", arg, dr.state, dr.logical_date, dr.data_interval_start, dr.data_interval_end, flush=True)
    if str(dr.state) != "success":
        raise SystemExit(f"run {arg} ended {dr.state}")
"""


def run_dag(env: dict[str, str], runs: list[str], *, timeout: float = 1200) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-c", DAG_RUNNER, str(REPO_ROOT / "dags"), *runs],
        env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(
            f"DAG runs failed ({done.returncode}):\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
        )
    return done
