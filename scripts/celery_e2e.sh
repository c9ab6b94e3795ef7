#!/usr/bin/env bash
# The hourly DAG on the CeleryExecutor (Redis at 127.0.0.1:6379, PostgreSQL metadata), end to end; see
# scripts/celery_e2e.py. Needs the `airflow` extra (make install) and a PostgreSQL at 127.0.0.1:5432
# ($WIREWATCH_TEST_ADMIN_DSN for another) where it may create and drop scratch databases.
#   scripts/celery_e2e.sh [--report FILE] [--keep]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
exec "$PYTHON" "$ROOT/scripts/celery_e2e.py" "$@"
