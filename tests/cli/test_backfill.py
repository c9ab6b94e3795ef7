"""`wirewatch airflow pools`: the pools the hourly DAG needs, printed, written, and created in Airflow.
(`wirewatch backfill` itself is tested end to end in tests/test_backfill.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.run import dag_tasks as orchestration
from tests.dags import helpers

CHANNELS = """
[[channels]]
platform = "telegram"
handle = "kyivpost"
source = "telegram_web"
[[channels]]
platform = "telegram"
handle = "intelslava"
source = "telegram_web"
account = "second"
"""


def wirewatch(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("wirewatch")), *args]


@pytest.fixture
def channels(tmp_path) -> Path:
    path = tmp_path / "channels.toml"
    path.write_text(CHANNELS)
    return path


@pytest.mark.slow  # the first Airflow command of a run migrates its metadata (~30 s)
def test_pools_are_printed_and_written(tmp_path, channels):
    env = {**helpers.airflow_env(helpers.airflow_home()), "WIREWATCH_CHANNELS": str(channels)}
    out = subprocess.run(wirewatch("airflow", "pools"), env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    printed = json.loads(out.stdout)
    assert {k: v["slots"] for k, v in printed.items()} == {
        "telegram_default": 1,
        "telegram_second": 1,
        "x_default": 2,
    }
    target = tmp_path / "pools.json"
    assert (
        subprocess.run(wirewatch("airflow", "pools", "-o", str(target)), env=env, timeout=120).returncode == 0
    )
    assert json.loads(target.read_text()) == printed
    blocked = subprocess.run(
        wirewatch("airflow", "pools", "-o", str(target / "pools.json")), env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert blocked.returncode == 1 and "cannot write" in blocked.stderr and "Traceback" not in blocked.stderr


@pytest.mark.airflow
@pytest.mark.slow
def test_apply_creates_the_pools_in_airflow(channels):
    env = {**helpers.airflow_env(helpers.airflow_home()), "WIREWATCH_CHANNELS": str(channels)}
    done = subprocess.run(wirewatch("airflow", "pools", "--apply"), env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    listed = subprocess.run([helpers.airflow_bin(), "pools", "list", "-o", "json"], env=env, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    pools = {p["pool"]: int(p["slots"]) for p in json.loads(listed.stdout)}
    assert {k: pools.get(k) for k in ("telegram_default", "telegram_second", "x_default")} == {
        "telegram_default": orchestration.POOL_SLOTS["telegram"], "telegram_second": 1, "x_default": 2,
    }  # fmt: skip
