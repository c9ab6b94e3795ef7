"""Benchmark plumbing: a scratch database, medians over repeats, a results table, RSS readings."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import psycopg

from tests import scratch

RESULTS = Path(__file__).resolve().parent / "results"


def admin_dsn() -> str:
    return scratch.admin_dsn("WIREWATCH_BENCH_ADMIN_DSN", "WIREWATCH_TEST_ADMIN_DSN")


@contextmanager
def scratch_db(prefix: str = "ww_bench", *, keep: bool = False) -> Iterator[str]:
    """A fresh database with every migration applied, dropped afterwards (`keep`: left in place, for re-use)."""
    with scratch.scratch_db(admin_dsn(), prefix, keep=keep) as dsn:
        yield dsn


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def median_of(runs: int, fn: Callable[[], float]) -> tuple[float, list[float]]:
    values = [fn() for _ in range(runs)]
    return statistics.median(values), values


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


@dataclass
class Report:
    name: str
    rows: list[dict] = field(default_factory=list)

    def add(self, **row) -> None:
        self.rows.append(row)
        print("  " + "  ".join(f"{k}={_fmt(v)}" for k, v in row.items()), flush=True)

    def save(self) -> Path:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{self.name}.json"
        path.write_bytes(orjson.dumps({"machine": machine(), "rows": self.rows}, option=orjson.OPT_INDENT_2))
        return path


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:,.0f}"
    return str(v)


def dsn_url(dsn: str, *, password_placeholder: str = "") -> str:
    """A postgresql:// URL for tools that take no libpq DSN (Airflow connections, dlt, SQLAlchemy)."""
    parts = psycopg.conninfo.conninfo_to_dict(dsn)
    user = parts.get("user") or os.environ.get("USER", "postgres")
    password = parts.get("password") or password_placeholder
    pw = f":{password}" if password else ""
    return f"postgresql://{user}{pw}@{parts.get('host', '127.0.0.1')}:{parts.get('port', 5432)}/{parts['dbname']}"
