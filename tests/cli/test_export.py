"""`wirewatch export parquet` on the demo warehouse in a real PostgreSQL, read back with DuckDB and pyarrow."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

import ingest.cli.export  # noqa: F401 - registers the command
from ingest.cli import app
from ingest.cli.demo import rutte_event_id

TABLES = ("channels", "posts", "post_versions", "post_metrics", "storylines", "events", "event_posts")


def export(db: str, out: Path, *args: str) -> dict:
    r = CliRunner().invoke(app, ["--dsn", db, "export", "parquet", str(out), "--json", *args])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def count(conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_every_table_exported_by_month_and_read_by_duckdb(demo_db, conn, tmp_path):
    rep = export(demo_db, tmp_path)
    for t in TABLES:
        assert rep["tables"][t]["rows"] == count(conn, t), t
    assert (tmp_path / "posts" / "month=2026-06" / "part-0.parquet").is_file()
    assert (tmp_path / "channels" / "part-0.parquet").is_file()
    # Grouping state stays internal; JSON goes out as text; times are UTC instants.
    schema = pq.read_schema(tmp_path / "event_posts" / "month=2026-06" / "part-0.parquet")
    assert "vec_idx" not in schema.names and "event_id" in schema.names
    posts = pq.read_schema(tmp_path / "posts" / "month=2026-06" / "part-0.parquet")
    assert str(posts.field("posted_at").type) == "timestamp[us, tz=UTC]"
    assert posts.field("links").type.value_type == pa.string()

    # An analyst's query, as the README shows it: the Rutte event's posts, joined across three tables.
    eid = rutte_event_id(conn)
    conn.commit()
    d = str(tmp_path)
    rows = duckdb.sql(
        f"""SELECT p.url, p.posted_at, ep.month
            FROM read_parquet('{d}/event_posts/*/*.parquet', hive_partitioning = true) ep
            JOIN read_parquet('{d}/posts/*/*.parquet', hive_partitioning = true) p
              USING (platform, channel_id, post_id)
            WHERE ep.event_id = {eid} ORDER BY p.posted_at"""
    ).fetchall()
    want = conn.execute(
        "SELECT p.url FROM event_posts ep JOIN posts p USING (platform, channel_id, post_id) "
        "WHERE ep.event_id = %s ORDER BY p.posted_at",
        (eid,),
    ).fetchall()
    assert [r[0] for r in rows] == [w[0] for w in want] and len(rows) == 8
    assert {r[2] for r in rows} == {"2026-06"}
    # The instant survives: DuckDB's value equals the warehouse's.
    first = conn.execute("SELECT min(posted_at) FROM event_posts WHERE event_id = %s", (eid,)).fetchone()[0]
    assert rows[0][1] == first


def test_the_documented_duckdb_query_runs(demo_db, conn, tmp_path, repo_root):
    export(demo_db, tmp_path)
    query = (repo_root / "docs" / "analysts" / "parquet_rutte.sql").read_text(encoding="utf-8")
    assert query in (repo_root / "docs" / "analysts.md").read_text(encoding="utf-8")
    assert query.rstrip() in (repo_root / "README.md").read_text(encoding="utf-8")  # the newcomer's copy
    rows = duckdb.sql(query.replace("'exports/", f"'{tmp_path}/")).fetchall()
    assert len(rows) == 8 and rows[0][1] == "https://t.me/intelslava/71840"
    assert rows[0][0] == datetime(2026, 6, 26, 2, 47, 10, tzinfo=UTC)  # the instant, whatever the local zone


def test_second_export_rewrites_only_changed_months(demo_db, conn, tmp_path):
    export(demo_db, tmp_path)
    again = export(demo_db, tmp_path)
    assert all(again["tables"][t]["written"] == [] for t in TABLES), again
    before = (tmp_path / "posts" / "month=2026-06" / "part-0.parquet").stat().st_mtime_ns

    # A post of an older month arrives, and one demo post is edited: only those months of posts are rewritten.
    conn.execute(
        """INSERT INTO posts (platform, channel_id, post_id, posted_at, version_at, text, source,
                              content_hash, metrics_hash, row_hash)
           SELECT platform, channel_id, 999999, '2026-03-31T23:59:59Z', '2026-03-31T23:59:59Z', 'late post',
                  source, 1, 1, 1 FROM posts LIMIT 1"""
    )
    conn.execute(
        "UPDATE posts SET text = text || ' (edited)' WHERE post_id = (SELECT min(post_id) FROM posts)"
    )
    conn.commit()
    rep = export(demo_db, tmp_path)
    assert sorted(rep["tables"]["posts"]["written"]) == ["2026-03", "2026-06"]
    assert rep["tables"]["events"]["written"] == [] and rep["tables"]["post_metrics"]["written"] == []
    table = pq.read_table(tmp_path / "posts" / "month=2026-03" / "part-0.parquet")
    assert table.column("text").to_pylist() == ["late post"]
    assert (tmp_path / "posts" / "month=2026-06" / "part-0.parquet").stat().st_mtime_ns != before
    total = duckdb.sql(f"SELECT count(*) FROM read_parquet('{tmp_path}/posts/*/*.parquet')").fetchall()[0][0]
    assert total == count(conn, "posts")

    # The late post goes away again: its month's folder goes with it.
    conn.execute("DELETE FROM posts WHERE post_id = 999999")
    conn.commit()
    rep = export(demo_db, tmp_path)
    assert rep["tables"]["posts"]["removed"] == ["2026-03"]
    assert not (tmp_path / "posts" / "month=2026-03").exists()


def test_since_until_select_whole_months(demo_db, conn, tmp_path):
    conn.execute(
        """INSERT INTO posts (platform, channel_id, post_id, posted_at, version_at, text, source,
                              content_hash, metrics_hash, row_hash)
           SELECT platform, channel_id, 999998, '2026-05-02T10:00:00Z', '2026-05-02T10:00:00Z', 'May post',
                  source, 1, 1, 1 FROM posts LIMIT 1"""
    )
    conn.commit()
    # 2026-05-20 widens to May; the 2026-06 posts stay out.
    rep = export(demo_db, tmp_path, "--since", "2026-05-20T00:00Z", "--until", "2026-05-21T00:00Z")
    assert rep["tables"]["posts"]["written"] == ["2026-05"]
    assert not (tmp_path / "posts" / "month=2026-06").exists()
    # A later export of June leaves May's file alone (and does not remove it).
    rep = export(demo_db, tmp_path, "--since", "2026-06-01T00:00Z")
    assert rep["tables"]["posts"]["written"] == ["2026-06"] and rep["tables"]["posts"]["removed"] == []
    assert (tmp_path / "posts" / "month=2026-05" / "part-0.parquet").is_file()


def test_since_after_until_is_a_usage_error(demo_db, tmp_path):
    r = CliRunner().invoke(
        app,
        [
            "--dsn",
            demo_db,
            "export",
            "parquet",
            str(tmp_path),
            "--since",
            "2026-07-01",
            "--until",
            "2026-06-01",
        ],
    )
    assert r.exit_code == 2 and "--since must be before --until" in r.output


def test_a_folder_that_cannot_be_written_is_a_clear_error(demo_db, tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    r = CliRunner().invoke(app, ["--dsn", demo_db, "export", "parquet", str(blocker / "exports")])
    assert r.exit_code == 1 and "cannot write the export into" in r.output and "Traceback" not in r.output, (
        r.output
    )
