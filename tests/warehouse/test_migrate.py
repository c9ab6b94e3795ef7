"""Migrations: applied in order, recorded, safe to run twice, every analyst-facing table commented."""

import psycopg

from ingest.warehouse import migrate
from tests import scratch


def test_upgrade_twice_is_a_no_op(dsn):
    with psycopg.connect(dsn) as conn:
        before = migrate.current(conn)
        assert migrate.upgrade(conn) == []
        assert migrate.upgrade(conn) == []
        assert migrate.current(conn) == before
        assert [v for v, _ in before] == sorted(v for v, _ in before)
        assert before[0] == (1, "001_core")


def test_fresh_database_gets_every_migration(admin_dsn, tmp_path):
    with scratch.scratch_db(admin_dsn, "ww_test_migrate_fresh", migrated=False) as url:
        with psycopg.connect(url) as conn:
            applied = migrate.upgrade(conn)
            assert applied == [m.name for m in migrate.discover()]
            assert migrate.upgrade(conn) == []


def test_every_table_is_commented(dsn):
    with psycopg.connect(dsn) as conn:
        missing = [
            r[0]
            for r in conn.execute(
                """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'schema_migrations'
                     AND obj_description(c.oid, 'pg_class') IS NULL"""
            )
        ]
    assert missing == []


def test_failed_migration_rolls_back(dsn, tmp_path):
    (tmp_path / "001_ok.sql").write_text("CREATE TABLE mig_probe_ok (id int);")
    (tmp_path / "002_bad.sql").write_text("CREATE TABLE mig_probe_bad (id int); SELECT no_such_function();")
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS migprobe")
        conn.execute("SET search_path = migprobe")
        conn.commit()
        try:
            migrate.upgrade(conn, tmp_path)
        except psycopg.Error:
            pass
        else:
            raise AssertionError("the bad migration should raise")
        conn.rollback()
        conn.autocommit = True
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'migprobe'")}
        versions = {r[0] for r in conn.execute("SELECT version FROM migprobe.schema_migrations")}
        conn.execute("DROP SCHEMA migprobe CASCADE")
    assert "mig_probe_ok" in tables and "mig_probe_bad" not in tables
    assert versions == {1}


def test_upgrade_to_stored_search_vectors_keeps_search_current(admin_dsn, tmp_path):
    """A warehouse made before 008 (posts searched through an expression index) upgrades in place: every stored
    post gets its vector, and posts loaded afterwards, by a session that began before the upgrade or after it,
    are found."""
    from datetime import UTC, datetime

    from ingest.models import Channel, Post
    from ingest.warehouse.analyst import search
    from ingest.warehouse.loader import Loader

    for mig in migrate.discover():
        if mig.version < 8:
            (tmp_path / mig.path.name).write_bytes(mig.path.read_bytes())
    ch = Channel("telegram", 1001, "alpha", "Alpha")

    def post(pid: int, text: str) -> Post:
        at = datetime(2026, 6, 26, 3, pid, tzinfo=UTC)
        return Post(
            "telegram", 1001, pid, at, text, channel=ch, source="test", raw={"id": pid}, observed_at=at
        )

    with scratch.scratch_db(admin_dsn, "ww_test_migrate_008", migrated=False) as url:
        with psycopg.connect(url) as conn:
            assert migrate.upgrade(conn, tmp_path)[-1] == "007_analyst_health"
            # Rows as a loader of that time stored them (today's loader also writes columns of later migrations),
            # and the staging table such a session made, which lives on with the connection.
            for pid, text in (
                (1, "Российская армия получила новые контракты."),
                (2, "Allies sign contracts."),
            ):
                conn.execute(
                    "INSERT INTO posts (platform, channel_id, post_id, posted_at, version_at, text, content_hash,"
                    " metrics_hash, row_hash, source) VALUES ('telegram', 1001, %s, %s, %s, %s, 0, 0, 0, 'test')",
                    (pid, post(pid, text).posted_at, post(pid, text).posted_at, text),
                )
            conn.execute(
                "CREATE TEMP TABLE stage_posts (LIKE posts INCLUDING DEFAULTS, has_metrics boolean, payload text,"
                " origin text, observed_at timestamptz) ON COMMIT DELETE ROWS"
            )
            conn.commit()
            assert migrate.upgrade(conn)[0] == "008_search_vector"  # and any later migration
            Loader(conn).load(
                [post(3, "Ещё три контракта подписаны.")]
            )  # its stage table predates the upgrade
            conn.commit()
            with psycopg.connect(url) as fresh:
                Loader(fresh).load([post(4, "No contract yet, officials say.")])
                fresh.commit()
            assert [r["post_id"] for r in search(conn, "контрактов OR contract")] == [4, 3, 2, 1]
            assert (
                conn.execute(
                    "SELECT count(*) FROM posts WHERE search_vector IS DISTINCT FROM analyst.search_document(text)"
                ).fetchone()[0]
                == 0
            )
            index = conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'posts_search_idx'"
            ).fetchone()
            assert index and "(search_vector)" in index[0]
            # The vector is a stored generated column (what keeps it equal to the text above, on every write).
            kind = conn.execute(
                "SELECT attgenerated FROM pg_attribute WHERE attrelid = 'posts'::regclass AND attname = 'search_vector'"
            ).fetchone()
            assert kind == ("s",)
