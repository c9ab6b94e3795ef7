"""Hourly overhead benchmark: `airflow dags test wirewatch_hourly` over 20 channels with no new posts, against
(a) the same 20 channels run directly by `wirewatch ingest --all` (no Airflow) and (b) `airflow dags test` of a
one-task DAG (Airflow's fixed cost), all measured in the same run.

The channels are replay channels over re-numbered copies of a real Telethon capture, and the hour benchmarked
lies after the capture ends, so each run finds nothing new: what is measured is pure overhead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Report, dsn_url, median_of, scratch_db

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("WIREWATCH_SHARED_DATA", REPO.parent / "shared" / "data"))
LOGICAL_DATE = "2026-11-25T12:00:00+00:00"

_NOOP_DAG = """
from datetime import datetime, timezone
from airflow.sdk import dag, task

@dag(dag_id="noop_hourly", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc), catchup=False)
def noop_hourly():
    @task
    def nothing() -> int:
        return 0
    nothing()

noop_hourly()
"""


def build_channels(dest: Path, n: int) -> Path:
    base = [
        json.loads(x)
        for x in (SHARED / "telethon" / "bloomberg_1488156064.jsonl").read_text().splitlines()
        if x
    ]
    lines = []
    for i in range(n):
        cid = 2_000_000_000 + i
        path = dest / f"chan{i:02d}.jsonl"
        with path.open("w") as fh:
            for rec in base:
                rec = dict(rec, peer_id={"_": "PeerChannel", "channel_id": cid})
                fh.write(json.dumps(rec) + "\n")
        lines.append(
            f'[[channels]]\nplatform = "telegram"\nhandle = "chan{i:02d}"\nsource = "replay"\n'
            f'channel_id = {cid}\nreplay_path = "{path}"\n'
        )
    toml = dest / "channels.toml"
    toml.write_text("[defaults]\nrescan_hours = 48\n\n" + "\n".join(lines))
    return toml


def run(n_channels: int, repeats: int) -> Report:
    report = Report("hourly")
    with tempfile.TemporaryDirectory(prefix="ww-bench-hourly-") as tmp, scratch_db() as dsn:
        tmp = Path(tmp)
        toml = build_channels(tmp, n_channels)
        noop_dags = tmp / "noop_dags"
        noop_dags.mkdir()
        (noop_dags / "noop.py").write_text(_NOOP_DAG)
        env = {
            **os.environ, "AIRFLOW_HOME": str(tmp / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"), "AIRFLOW_CONN_WIREWATCH_DB": dsn_url(dsn),
            "WIREWATCH_DSN": dsn, "WIREWATCH_CHANNELS": str(toml), "WIREWATCH_START_DATE": "2026-11-01T00:00:00Z",
        }  # fmt: skip
        airflow = str(Path(sys.executable).with_name("airflow"))
        wirewatch = str(Path(sys.executable).with_name("wirewatch"))
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
        # Load the capture once, so the benchmarked hour finds only known posts.
        subprocess.run([wirewatch, "ingest", "--all", "--since", "2025-01-01", "--until", "2026-11-25T11:00Z"],
                       env=env, check=True, capture_output=True)  # fmt: skip
        print(f"hourly overhead benchmark: {n_channels} channels, no new posts, median of {repeats}")

        def dag_run() -> float:
            t = time.perf_counter()
            subprocess.run([airflow, "dags", "test", "wirewatch_hourly", LOGICAL_DATE], env=env, check=True,
                           capture_output=True)  # fmt: skip
            return time.perf_counter() - t

        def noop_run() -> float:
            t = time.perf_counter()
            subprocess.run([airflow, "dags", "test", "noop_hourly", LOGICAL_DATE],
                           env={**env, "AIRFLOW__CORE__DAGS_FOLDER": str(noop_dags)}, check=True,
                           capture_output=True)  # fmt: skip
            return time.perf_counter() - t

        def direct_run() -> float:
            t = time.perf_counter()
            subprocess.run([wirewatch, "ingest", "--all", "--since", "2026-11-25T11:00Z", "--until", "2026-11-25T12:00Z"],
                           env=env, check=True, capture_output=True)  # fmt: skip
            return time.perf_counter() - t

        t_dag, _ = median_of(repeats, dag_run)
        t_noop, _ = median_of(repeats, noop_run)
        t_direct, _ = median_of(repeats, direct_run)
        report.add(case="airflow dags test, one no-op task (Airflow's fixed cost)", seconds=t_noop)
        report.add(case=f"wirewatch ingest --all, {n_channels} channels, no Airflow", seconds=t_direct)
        report.add(case=f"airflow dags test wirewatch_hourly, {n_channels} channels", seconds=t_dag,
                   vs_noop_dag=t_dag / t_noop, vs_direct=t_dag / t_direct,
                   per_channel_s=(t_dag - t_noop) / n_channels)  # fmt: skip
    print(f"saved {report.save()}")
    return report


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--channels", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    run(args.channels, args.repeats)


if __name__ == "__main__":
    main()
