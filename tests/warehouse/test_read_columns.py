"""Migration 014: analyst.posts reads a post's version count, reactions total and media types from posts instead
of computing them for every row it returns, with the same values: checked against the view's former expressions
on posts with edits (several per post), reactions and media, and on a warehouse upgraded from 013."""

from __future__ import annotations

import psycopg
import pytest

from ingest.run.imports import import_files
from ingest.warehouse import migrate
from tests import scratch
from tests.conftest import SHARED_DATA
from tests.warehouse.rescans import capture, write_pass

CAPTURE = SHARED_DATA / "telethon" / "bloomberg_1488156064.jsonl"

# What analyst.posts computed per row before 014 (004/008), next to what it reads now.
FORMER_VS_NOW = """
SELECT a.post_id,
       greatest(v.n, 1) AS versions_then, a.versions,
       CASE WHEN v.n > 1 THEN p.version_at END AS edited_then, a.edited_at,
       analyst.reactions_total(p.reactions) AS reactions_then, a.reactions_total,
       ARRAY(SELECT DISTINCT m ->> 'type' FROM jsonb_array_elements(p.media) m WHERE m ->> 'type' IS NOT NULL)
           AS media_then, a.media_types
FROM analyst.posts a
JOIN posts p USING (platform, channel_id, post_id)
LEFT JOIN LATERAL (SELECT count(*) AS n FROM post_versions pv
                   WHERE (pv.platform, pv.channel_id, pv.post_id) = (p.platform, p.channel_id, p.post_id)) v ON true
"""


def _check_same(conn: psycopg.Connection) -> list[tuple]:
    rows = conn.execute(FORMER_VS_NOW).fetchall()
    assert rows
    for pid, vt, vn, et, en, rt, rn, mt, mn in rows:
        assert (vt, et, rt, sorted(mt)) == (vn, en, rn, sorted(mn)), pid
    return rows


@pytest.fixture
def fresh(admin_dsn):
    with scratch.scratch_db(admin_dsn, "ww_test_read_cols") as url, psycopg.connect(url) as conn:
        yield conn


def test_stored_columns_equal_what_the_view_computed(fresh, tmp_path):
    conn = fresh
    messages = capture(CAPTURE)
    # Pass 3 edits the first message; pass 5 edits it back: three versions of one post, counts growing each pass.
    for n in range(6):
        import_files(conn, [write_pass(messages, tmp_path, n, edit_at=3)])
    import_files(conn, [write_pass(messages, tmp_path, 6)])
    rows = _check_same(conn)
    versions = {r[0]: r[2] for r in rows}
    assert max(versions.values()) >= 2, versions
    assert any(r[6] is not None for r in rows) and any(r[8] for r in rows), "no reactions or media to compare"
    (mismatch,) = conn.execute(
        "SELECT count(*) FROM posts p WHERE version_count <> (SELECT count(*) FROM post_versions v"
        " WHERE (v.platform, v.channel_id, v.post_id) = (p.platform, p.channel_id, p.post_id))"
    ).fetchone()
    assert mismatch == 0


def test_a_warehouse_from_before_014_gets_its_counts(admin_dsn, tmp_path):
    upto_013 = tmp_path / "schemas_013"
    upto_013.mkdir()
    for mig in migrate.discover():
        if mig.version <= 13:
            (upto_013 / mig.path.name).write_bytes(mig.path.read_bytes())
    with scratch.scratch_db(admin_dsn, "ww_test_mig014", migrated=False) as url, psycopg.connect(url) as conn:
        migrate.upgrade(conn, upto_013)
        # A post with a history of three versions, as the loader of that time wrote it.
        conn.execute(
            "INSERT INTO posts (platform, channel_id, post_id, posted_at, version_at, text, content_hash,"
            " metrics_hash, row_hash, source, media, reactions) VALUES ('telegram', 7, 1, '2026-06-01', '2026-06-02',"
            ' \'third\', 3, 0, 0, \'test\', \'[{"type": "photo"}, {"type": "photo"}]\', \'{"👍": 4, "🔥": 2}\'),'
            " ('telegram', 7, 2, '2026-06-01', '2026-06-01', 'plain', 1, 0, 0, 'test', '[]', NULL)"
        )
        conn.execute(
            "INSERT INTO post_versions (platform, channel_id, post_id, version_at, content_hash, text) VALUES"
            " ('telegram', 7, 1, '2026-06-01', 1, 'first'), ('telegram', 7, 1, '2026-06-01 12:00', 2, 'second'),"
            " ('telegram', 7, 1, '2026-06-02', 3, 'third')"
        )
        conn.commit()
        assert migrate.upgrade(conn)[0] == "014_posts_read_columns"
        got = conn.execute(
            "SELECT post_id, version_count, reactions_total, media_types FROM posts ORDER BY post_id"
        ).fetchall()
        assert got == [(1, 3, 6, ["photo"]), (2, 0, None, [])], got
        _check_same(conn)
        # And the trigger keeps it from now on.
        conn.execute(
            "INSERT INTO post_versions (platform, channel_id, post_id, version_at, content_hash, text) VALUES"
            " ('telegram', 7, 1, '2026-06-03', 4, 'fourth'), ('telegram', 7, 2, '2026-06-01', 1, 'plain'),"
            " ('telegram', 7, 2, '2026-06-03', 5, 'edited')"
        )
        assert conn.execute("SELECT version_count FROM posts ORDER BY post_id").fetchall() == [(4,), (2,)]
