"""Raw payloads per content state (migration 011): count-only rescans store counts, not payload copies; an edit
stores one payload; an existing warehouse built by the code before 011 is deduplicated in place."""

from __future__ import annotations

import gzip
import json
import subprocess
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from ingest.run.imports import import_files
from ingest.warehouse import migrate
from ingest.warehouse.queries import table_checksums
from tests import scratch
from tests.conftest import SHARED_DATA
from tests.warehouse.rescans import FIRST_FETCH, capture, write_pass

CAPTURE = SHARED_DATA / "telethon" / "bloomberg_1488156064.jsonl"
FIXTURE_010 = Path(__file__).resolve().parents[1] / "data" / "warehouse_010" / "bloomberg_4passes.sql.gz"


def _one(conn: psycopg.Connection, q: str, *args):
    return conn.execute(q, args).fetchone()[0]


def _raw_bytes(conn: psycopg.Connection) -> int:
    conn.commit()
    return _one(conn, "SELECT pg_total_relation_size('raw_records')") + _one(
        conn,
        # Once partitioned (013), the parent holds nothing: its partitions do.
        "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0)::bigint FROM pg_inherits "
        "WHERE inhparent = 'raw_records'::regclass",
    )


@pytest.fixture
def fresh(admin_dsn):
    with scratch.scratch_db(admin_dsn, "ww_test_raw_states") as url, psycopg.connect(url) as conn:
        yield conn


def test_48_count_only_rescans_keep_raw_bytes_within_1_2x_of_the_first_load(fresh, tmp_path):
    """The issue's target: after 48 hourly rescans in which only counts change, raw_records holds <= 1.2x the
    bytes of the first load (it held ~48x: a payload copy per count change)."""
    conn = fresh
    messages = capture(CAPTURE)
    import_files(conn, [write_pass(messages, tmp_path, 0)])
    first = _raw_bytes(conn)
    first_rows = _one(conn, "SELECT count(*) FROM raw_records")
    assert first_rows == len(messages)
    for n in range(1, 49):
        import_files(conn, [write_pass(messages, tmp_path, n)])
    after = _raw_bytes(conn)
    assert _one(conn, "SELECT count(*) FROM raw_records") == first_rows
    assert after <= 1.2 * first, (first, after)
    # The counts are all there: posts holds the last pass, post_metrics a row per change the policy keeps
    # (the capture's posts are days old at these observations, so not every hourly change is kept).
    last_views = [(m.get("views") or 0) + 48 * (10 + i) for i, m in enumerate(messages)]
    assert sorted(r[0] for r in conn.execute("SELECT views FROM posts")) == sorted(last_views)
    kept = _one(conn, "SELECT count(*) FROM post_metrics")
    assert len(messages) * 2 <= kept <= len(messages) * 49
    # Each stored observation names its source and run; the runs are the imports that stored them.
    assert _one(conn, "SELECT count(*) FROM post_metrics WHERE source IS NULL") == 0
    assert (
        _one(
            conn,
            "SELECT count(*) FROM post_metrics m LEFT JOIN ingest_runs r USING (run_id) "
            "WHERE r.kind IS DISTINCT FROM 'import'",
        )
        == 0
    )
    assert _one(conn, "SELECT count(DISTINCT run_id) FROM raw_records") == 1


def test_a_payload_keeps_where_it_was_read(fresh, tmp_path):
    """Provenance: each stored payload says where it was read (file:line for a JSONL import)."""
    conn = fresh
    path = write_pass(capture(CAPTURE), tmp_path, 0)
    import_files(conn, [path])
    origins = [r[0] for r in conn.execute("SELECT origin FROM raw_records")]
    assert origins and all(o and o.startswith(f"{path}:") for o in origins), origins[:3]
    lines = {int(o.rsplit(":", 1)[1]) for o in origins}
    assert min(lines) >= 1 and len(lines) == len(origins), sorted(lines)[:5]


def test_an_edit_stores_one_payload_and_its_count_changes_none(fresh, tmp_path):
    conn = fresh
    messages = capture(CAPTURE)
    for n in range(6):
        import_files(conn, [write_pass(messages, tmp_path, n, edit_at=3)])
    edited = messages[0]["id"]
    payloads = [
        r[0]
        for r in conn.execute(
            "SELECT payload FROM raw_records WHERE post_id = %s ORDER BY fetched_at", (edited,)
        )
    ]
    assert len(payloads) == 2
    assert "(updated)" not in payloads[0] and "(updated)" in payloads[1]
    assert _one(conn, "SELECT count(*) FROM raw_records") == len(messages) + 1
    # The payload kept for the edited state is its first observation (pass 3), not a later count change.
    assert (
        _one(
            conn, "SELECT max(fetched_at) - min(fetched_at) FROM raw_records WHERE post_id = %s", edited
        ).total_seconds()
        == 3 * 3600
    )
    assert _one(conn, "SELECT count(*) FROM post_versions WHERE post_id = %s", edited) == 2


def test_the_same_state_from_a_reverted_edit_is_not_stored_twice(fresh, tmp_path):
    """Text A, then B, then A again: A's payload is on file, so the revert stores none."""
    conn = fresh
    messages = capture(CAPTURE)
    import_files(conn, [write_pass(messages, tmp_path, 0)])
    import_files(conn, [write_pass(messages, tmp_path, 1, edit_at=1)])
    reverted = [dict(m) for m in messages]
    reverted[0]["edit_date"] = "2025-08-21 08:30:00.000000"
    import_files(conn, [write_pass(reverted, tmp_path, 2)])
    # The revert moved edit_date: a field of the content state, so that state is new (a third payload), but
    # loading that capture again, with new counts only, stores nothing.
    rows = _one(conn, "SELECT count(*) FROM raw_records")
    import_files(conn, [write_pass(reverted, tmp_path, 3)])
    assert _one(conn, "SELECT count(*) FROM raw_records") == rows
    # Back to the very first state (edit_date as captured): its payload from pass 0 is found, none stored.
    import_files(conn, [write_pass(messages, tmp_path, 4)])
    assert _one(conn, "SELECT count(*) FROM raw_records") == rows


def _warehouse_010(admin_dsn: str, tmp_path: Path, prefix: str):
    """A scratch database at migration 010 holding the fixture the pre-011 loader built."""
    old = tmp_path / "schemas_010"
    old.mkdir()
    for mig in migrate.discover():
        if mig.version <= 10:
            (old / mig.path.name).write_bytes(mig.path.read_bytes())
    ctx = scratch.scratch_db(admin_dsn, prefix, migrated=False)
    url = ctx.__enter__()
    with psycopg.connect(url) as conn:
        migrate.upgrade(conn, old)
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", url], input=gzip.decompress(FIXTURE_010.read_bytes()),
        check=True, capture_output=True,
    )  # fmt: skip
    return ctx, url


def test_migration_011_deduplicates_a_warehouse_built_before_it(admin_dsn, tmp_path):
    ctx, url = _warehouse_010(admin_dsn, tmp_path, "ww_test_mig011")
    try:
        with psycopg.connect(url) as conn:
            assert _one(conn, "SELECT count(*) FROM raw_records") == 160  # 40 posts x 4 imports
            before = table_checksums(conn, ("posts", "post_versions", "channels"))
            metrics_before = list(conn.execute("SELECT * FROM post_metrics ORDER BY 1, 2, 3, 4"))
            # 011 alone first: later migrations add columns of their own to posts (012's raw_hash).
            upto_011 = tmp_path / "schemas_011"
            upto_011.mkdir()
            for mig in migrate.discover():
                if mig.version <= 11:
                    (upto_011 / mig.path.name).write_bytes(mig.path.read_bytes())
            applied = migrate.upgrade(conn, upto_011)
            assert applied == ["011_raw_states"]
            posts_after_011 = table_checksums(conn, ("posts", "post_versions", "channels"))
            applied = migrate.upgrade(conn)
            assert "013_partitions" in applied, applied
            # One payload per post, plus the edited post's second state; each the first observation of it.
            assert _one(conn, "SELECT count(*) FROM raw_records") == 41
            kept = list(conn.execute("SELECT post_id, fetched_at - %s FROM raw_records", (FIRST_FETCH,)))
            assert sorted(delta.total_seconds() for _, delta in kept) == [0] * 40 + [2 * 3600]
            assert _one(conn, "SELECT count(*) FROM raw_records WHERE payload LIKE '%%(updated)%%'") == 1
            assert _one(conn, "SELECT count(DISTINCT post_id) FROM raw_records") == 40
            # 013 then made both tables partitioned by month, the rows in their month's partition.
            assert (
                _one(
                    conn,
                    "SELECT count(*) FROM pg_class WHERE relkind = 'p' AND relname IN "
                    "('raw_records', 'post_metrics') AND relnamespace = 'public'::regnamespace",
                )
                == 2
            )
            assert _one(conn, "SELECT count(*) FROM partitions.raw_records_p2025_08") == 41
            assert _one(conn, "SELECT count(*) FROM analyst.post_metrics") >= _one(
                conn, "SELECT count(*) FROM post_metrics"
            )
            # Nothing else moved; the count history gained its sources.
            assert posts_after_011 == before
            assert table_checksums(conn, ("post_versions", "channels")) == {
                k: v for k, v in before.items() if k != "posts"
            }
            assert _one(conn, "SELECT count(*) FROM posts WHERE raw_hash IS NOT NULL") == 0
            metrics_after = list(
                conn.execute(
                    "SELECT platform, channel_id, post_id, observed_at, metrics_hash, views, forwards, replies, "
                    "reposts, quotes, likes, reactions FROM post_metrics ORDER BY 1, 2, 3, 4"
                )
            )
            assert metrics_after == metrics_before
            assert (
                _one(conn, "SELECT count(*) FROM post_metrics WHERE source IS DISTINCT FROM 'telethon_jsonl'")
                == 0
            )

            # Safe to re-run: the migration's SQL applied again changes nothing.
            snap = table_checksums(conn, ("raw_records", "post_metrics", "posts"))
            sql_011 = next(m for m in migrate.discover() if m.version == 11).sql
            with conn.transaction():
                conn.execute(sql_011)
            assert table_checksums(conn, ("raw_records", "post_metrics", "posts")) == snap

            # A further count-only rescan of the migrated warehouse stores counts only.
            conn.commit()
            messages = capture(CAPTURE)
            import_files(conn, [write_pass(messages, tmp_path, 4, edit_at=2)])
            assert _one(conn, "SELECT count(*) FROM raw_records") == 41
    finally:
        ctx.__exit__(None, None, None)


@pytest.mark.parametrize(
    "order", [(0, 1, 2, 3, 4), (4, 3, 2, 1, 0), (2, 4, 0, 3, 1)], ids=lambda o: "".join(map(str, o))
)
def test_captures_loaded_in_any_order_keep_each_states_first_observation(fresh, tmp_path, order):
    """Five hourly captures (new counts each hour, an edit from the third) imported in any order, as a folder's
    files finishing in another order load them: the payloads kept are those of each state's first observation,
    passes 0 and 2, with their origins, as loading the captures in time order keeps them."""
    conn = fresh
    messages = capture(CAPTURE)
    paths = [write_pass(messages, tmp_path, n, edit_at=2) for n in range(5)]
    for n in order:
        import_files(conn, [paths[n]])
    rows = list(
        conn.execute(
            "SELECT post_id, fetched_at, origin, payload FROM raw_records ORDER BY post_id, fetched_at"
        )
    )
    # No albums in this capture: each line is one post's payload.
    by_pass = {n: {m["id"]: m for m in capture(paths[n])} for n in (0, 2)}
    edited = messages[0]["id"]
    assert len(rows) == len(messages) + 1
    for post_id, fetched_at, origin, payload in rows:
        n = 2 if post_id == edited and "(updated)" in payload else 0
        assert (fetched_at, origin.rsplit(":", 1)[0]) == (FIRST_FETCH + n * timedelta(hours=1), str(paths[n]))
        assert json.loads(payload) == by_pass[n][post_id]
