"""Test fixtures: every session gets a scratch database of its own on a real PostgreSQL.

The server: $WIREWATCH_TEST_ADMIN_DSN, else the local one at 127.0.0.1:5432 (database `test`), else the
embedded server wirewatch starts for users. The scratch database is dropped at the end of the session.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Airflow reads its configuration at import: point it at a private home before anything imports it.
if "AIRFLOW_HOME" not in os.environ:
    _AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="wirewatch-airflow-test-"))
    os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
    atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(Path(__file__).resolve().parents[1] / "dags"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

import psycopg  # noqa: E402
import pytest  # noqa: E402
from psycopg import sql  # noqa: E402

from tests import scratch  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("WIREWATCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")).resolve()

_DATA_TABLES = (
    "channels", "channel_aliases", "posts", "post_versions", "post_metrics", "raw_records",
    "rejected_records", "ingest_runs", "cursors",
)  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    """A directory the whole run shares, pytest-xdist workers included (they inherit the environment of the
    process that starts them): slow set-ups built once per run keep their result there (tests/dags/helpers.py)."""
    if not hasattr(config, "workerinput") and "WIREWATCH_TEST_SHARED_DIR" not in os.environ:
        shared = tempfile.mkdtemp(prefix="wirewatch-test-run-")
        os.environ["WIREWATCH_TEST_SHARED_DIR"] = shared

        def cleanup() -> None:
            os.environ.pop("WIREWATCH_TEST_SHARED_DIR", None)
            shutil.rmtree(shared, ignore_errors=True)

        config.add_cleanup(cleanup)


DURATIONS_KEY = "wirewatch/durations"  # seconds per test id, from the last runs (.pytest_cache)
_durations: dict[str, float] = {}


#: A test that alone took longer than this is scheduled on its own, ahead of its file's other tests.
LONG_TEST_SECONDS = 60.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest first, by the durations of the last run: the tests that alone took over a minute, one by one; then
    the other tests marked slow, then the rest, both by file (the file with the longest test first; each file's
    tests together and in their order, so module fixtures are built once), so that on pytest-xdist workers the
    minutes-long tests start at once on different workers instead of being left to run alone at the end. Every
    worker reads the same cache, so they agree on the order (a stable sort); without a cache only the slow tests
    move, to the front."""
    cache = getattr(config, "cache", None)
    known = cache.get(DURATIONS_KEY, {}) if cache is not None else {}

    def seconds(item: pytest.Item) -> float:
        return float(known.get(item.nodeid, 0.0))

    def group(item: pytest.Item) -> tuple[int, str]:
        if seconds(item) > LONG_TEST_SECONDS:
            return 0, item.nodeid
        return (1 if item.get_closest_marker("slow") else 2), item.nodeid.split("::")[0]

    longest: dict[tuple[int, str], float] = {}
    total: dict[tuple[int, str], float] = {}
    for item in items:
        longest[group(item)] = max(longest.get(group(item), 0.0), seconds(item))
        total[group(item)] = total.get(group(item), 0.0) + seconds(item)
    items.sort(key=lambda item: (group(item)[0], -longest[group(item)], -total[group(item)]))
    # `make test` runs --dist load --maxschedchunk 1: worker i starts with items 2i and 2i+1, then each worker
    # takes the next item whenever it finishes one. Deal the longest tests out so that each worker starts with one.
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    long_tests = [item for item in items if group(item)[0] == 0]
    if workers > 1 and len(long_tests) >= 2 * workers:
        head = long_tests[: 2 * workers]
        items[: 2 * workers] = [head[k // 2 + (k % 2) * workers] for k in range(2 * workers)]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Called in the main process for every phase of every test, those of xdist workers included.
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    cache = getattr(session.config, "cache", None)
    if cache is None or hasattr(session.config, "workerinput") or not _durations:
        return
    if exitstatus == pytest.ExitCode.INTERRUPTED:  # the test cut short would look quick
        return
    cache.set(
        DURATIONS_KEY, {**cache.get(DURATIONS_KEY, {}), **{k: round(v, 2) for k, v in _durations.items()}}
    )


@pytest.fixture(scope="session")
def admin_dsn() -> str:
    return scratch.admin_dsn()


@pytest.fixture(scope="session")
def dsn(admin_dsn: str) -> Iterator[str]:
    """DSN of this session's scratch database, with every migration applied. Under pytest-xdist each worker is a
    session of its own, so each has its own database (the name carries the worker's pid) and no test shares rows
    with a test on another worker."""
    with scratch.scratch_db(admin_dsn, f"ww_test_{os.getpid()}") as url:
        os.environ["WIREWATCH_TEST_DSN"] = url
        yield url


def truncate_all(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                # The schema's own state stays: which migrations ran, and the keys migration 024 wrote.
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename NOT IN ('schema_migrations', 'warehouse_keys')"
            )
        ]
        if tables:
            conn.execute(
                sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                    sql.SQL(", ").join(sql.Identifier(t) for t in tables)
                )
            )


@pytest.fixture
def db(dsn: str) -> str:
    """The scratch database emptied of data (schema kept): a DSN for tests that open their own connections."""
    truncate_all(dsn)
    return dsn


@pytest.fixture
def conn(db: str) -> Iterator[psycopg.Connection]:
    """A connection (not autocommit) to the emptied scratch database."""
    c = psycopg.connect(db)
    yield c
    c.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared test data not found at {SHARED_DATA} (set WIREWATCH_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
