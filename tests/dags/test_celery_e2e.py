"""The distributed path: scripts/celery_e2e.sh runs the hourly DAG on the CeleryExecutor (Redis broker,
PostgreSQL metadata, scheduler + api-server + dag-processor + a Celery worker) and checks every run's window."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def _redis_up(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis at 127.0.0.1:6379 (the Celery broker)")
def test_hourly_dag_on_celery(repo_root, admin_dsn, shared_data, tmp_path):
    pytest.importorskip("airflow.providers.celery")
    report = tmp_path / "report.json"
    env = {**os.environ, "PYTHON": sys.executable, "WIREWATCH_TEST_ADMIN_DSN": admin_dsn,
           "WIREWATCH_SHARED_DATA": str(shared_data)}  # fmt: skip
    done = subprocess.run([str(repo_root / "scripts" / "celery_e2e.sh"), "--report", str(report)], env=env,
                          capture_output=True, text=True, timeout=1800)  # fmt: skip
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    result = json.loads(report.read_text())
    assert result["executor"] == "CeleryExecutor"
    assert result["ingest_runs_by_kind"]["backfill"] == 9
    assert result["celery_tasks_received"] == result["task_instances"] >= 7 * 5
    print(json.dumps(result))
