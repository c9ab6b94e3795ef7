"""Monthly partitions (migration 013) and `wirewatch db maintain`: months ahead, a post for any month loads,
retention drops raw payload months and touches nothing else."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from typer.testing import CliRunner

import ingest.cli.db  # noqa: F401 - registers `wirewatch db`
from ingest.cli import app
from ingest.models import Metrics
from ingest.warehouse import partitions
from ingest.warehouse.loader import Loader
from ingest.warehouse.metrics_policy import MetricsPolicy
from ingest.warehouse.queries import table_checksums
from tests import scratch
from tests.warehouse.test_loader import post

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
UNTOUCHED = ("posts", "post_versions", "post_metrics", "channels", "channel_aliases")


@pytest.fixture
def wh(admin_dsn):
    with scratch.scratch_db(admin_dsn, "ww_test_partitions") as url, psycopg.connect(url) as conn:
        yield url, conn


def _load(conn, posts) -> None:
    Loader(conn, metrics_policy=MetricsPolicy.keep_every_change()).load(posts)
    conn.commit()


def _where(conn, table: str, key: str) -> dict[str, int]:
    return dict(
        conn.execute(
            f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1"  # noqa: S608
        ).fetchall()
    )


def test_tables_are_partitioned_by_month_with_months_ahead(wh):
    _, conn = wh
    kinds = dict(
        conn.execute(
            "SELECT relname, relkind FROM pg_class WHERE relname IN ('raw_records', 'post_metrics') "
            "AND relnamespace = 'public'::regnamespace"
        )
    )
    assert kinds == {"raw_records": "p", "post_metrics": "p"}
    partitions.maintain(conn, months_ahead=3, now=NOW)
    for table in partitions.PARTITIONED:
        have = partitions.months(conn, table)
        assert {m.isoformat() for m in have} >= {"2026-12-01", "2027-01-01", "2027-02-01", "2027-03-01"}
    # Idempotent: a second pass creates nothing.
    assert partitions.maintain(conn, months_ahead=3, now=NOW).created == []


def test_a_post_for_a_month_without_a_partition_loads_and_maintenance_gives_it_its_month(wh):
    _, conn = wh
    far_past = datetime(2001, 5, 4, 3, 0, tzinfo=UTC)
    far_future = datetime(2031, 1, 2, 3, 0, tzinfo=UTC)
    _load(
        conn,
        [
            post(1, posted_at=far_past, observed_at=far_past),
            post(2, posted_at=far_future, observed_at=far_future),
        ],
    )
    _load(
        conn,
        [post(1, posted_at=far_past, metrics=Metrics(views=99), observed_at=far_past + timedelta(hours=1))],
    )
    assert _where(conn, "raw_records", "fetched_at") == {"partitions.raw_records_default": 2}
    before = table_checksums(conn, ("raw_records", "post_metrics", "posts"))
    report = partitions.maintain(conn, now=NOW)
    assert (
        "partitions.raw_records_p2001_05" in report.created
        and "partitions.raw_records_p2031_01" in report.created
    )
    assert report.moved_from_default == {"raw_records": 2, "post_metrics": 2}
    assert _where(conn, "raw_records", "fetched_at") == {
        "partitions.raw_records_p2001_05": 1,
        "partitions.raw_records_p2031_01": 1,
    }
    assert table_checksums(conn, ("raw_records", "post_metrics", "posts")) == before
    # And a further load into those months finds its partition.
    _load(conn, [post(1, posted_at=far_past, text="edited", observed_at=far_past + timedelta(hours=2))])
    assert _where(conn, "raw_records", "fetched_at") == {
        "partitions.raw_records_p2001_05": 2,
        "partitions.raw_records_p2031_01": 1,
    }


def test_retention_drops_old_raw_months_and_touches_nothing_else(wh):
    url, conn = wh
    # Relative to the real month: the command reads the clock.
    this = partitions._month(datetime.now(UTC))
    old, older, recent = (partitions._month(this, -k) for k in (13, 15, 1))
    months = [datetime(m.year, m.month, 10, tzinfo=UTC) for m in (older, old, recent)]
    for i, at in enumerate(months):
        _load(conn, [post(10 + i * 100 + j, posted_at=at, observed_at=at) for j in range(50)])
        # Each month's posts also change counts and text later, so every table has rows of every month.
        later = at + timedelta(days=1)
        _load(
            conn,
            [post(10 + i * 100 + j, "edited", posted_at=at, metrics=Metrics(views=11), observed_at=later,
                  edited_at=later, version_at=later) for j in range(50)],
        )  # fmt: skip
    partitions.maintain(conn)
    assert set(partitions.months(conn, "raw_records")) >= {older, old, recent}
    before = table_checksums(conn, UNTOUCHED)
    raw_before = conn.execute(
        "SELECT count(*) FROM raw_records WHERE fetched_at >= %s", (months[2],)
    ).fetchone()[0]

    conn.commit()  # a reader's open transaction would hold the detach back (maintenance gives up after 30 s)
    # Twelve months: this month and the twelve before it stay; the months 13 and 15 months ago go.
    result = CliRunner().invoke(app, ["--dsn", url, "db", "maintain", "--retention-months", "12", "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    report = json.loads(result.stdout)
    assert sorted(report["dropped"]) == [f"partitions.raw_records_p{m:%Y_%m}" for m in (older, old)]
    assert report["dropped_bytes"] > 0
    assert report["drop_seconds"] < 10
    assert table_checksums(conn, UNTOUCHED) == before
    cutoff = partitions._month(this, -12)
    assert conn.execute("SELECT min(fetched_at) FROM raw_records").fetchone()[0] >= datetime(
        cutoff.year, cutoff.month, 1, tzinfo=UTC
    )
    assert conn.execute("SELECT count(*) FROM raw_records").fetchone()[0] == raw_before == 100
    # The analysts' view of versions and counts is whole.
    assert conn.execute("SELECT count(*) FROM analyst.post_versions WHERE post_id < 200").fetchone()[0] == 200


def test_retention_is_read_from_the_environment(monkeypatch):
    monkeypatch.delenv(partitions.RETENTION_ENV, raising=False)
    assert partitions.retention_from_env() is None
    monkeypatch.setenv(partitions.RETENTION_ENV, "18")
    assert partitions.retention_from_env() == 18
    monkeypatch.setenv(partitions.RETENTION_ENV, "0")
    with pytest.raises(ValueError):
        partitions.retention_from_env()
