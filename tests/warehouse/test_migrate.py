"""Migrations: applied in order, recorded, safe to run twice, every analyst-facing table commented."""

import psycopg

from ingest.warehouse import migrate


def test_upgrade_twice_is_a_no_op(dsn):
    with psycopg.connect(dsn) as conn:
        before = migrate.current(conn)
        assert migrate.upgrade(conn) == []
        assert migrate.upgrade(conn) == []
        assert migrate.current(conn) == before
        assert [v for v, _ in before] == sorted(v for v, _ in before)
        assert before[0] == (1, "001_core")


def test_fresh_database_gets_every_migration(admin_dsn, tmp_path):
    name = "ww_test_migrate_fresh"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        url = psycopg.conninfo.make_conninfo(admin_dsn, dbname=name)
        with psycopg.connect(url) as conn:
            applied = migrate.upgrade(conn)
            assert applied == [m.name for m in migrate.discover()]
            assert migrate.upgrade(conn) == []
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")


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
