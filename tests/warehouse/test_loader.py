"""The loader against a real PostgreSQL: idempotent upserts, versions by content hash, metrics on change."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta, timezone

from ingest.models import Channel, Metrics, Post, PostRef, Rejected
from ingest.warehouse.loader import Loader
from ingest.warehouse.post_sql import CHANGED_KEYS, RANGE_RAW, UNCHANGED_RAW
from ingest.warehouse.queries import table_checksums, table_counts

T0 = datetime(2026, 6, 26, 5, 0, tzinfo=timezone.utc)


def post(pid: int, text: str = "hello", **kw) -> Post:
    base = dict(
        platform="telegram", channel_id=100, post_id=pid, posted_at=T0 + timedelta(minutes=pid), text=text,
        channel=Channel("telegram", 100, "intelslava", "Intel Slava"), source="test",
        metrics=Metrics(views=10), raw={"id": pid, "text": text},
    )  # fmt: skip
    base.update(kw)
    return Post(**base)


def load(conn, posts):
    stats = Loader(conn).load(posts)
    conn.commit()
    return stats


def test_first_load_then_rerun_changes_nothing(conn):
    posts = [post(i) for i in range(1, 51)]
    s1 = load(conn, posts)
    assert (s1.inserted, s1.updated, s1.unchanged) == (50, 0, 0)
    # History starts at the first change: a first sighting writes no version or metrics rows.
    assert s1.versions == 0 and s1.metrics == 0
    before = (table_counts(conn), table_checksums(conn))
    s2 = load(conn, posts)
    assert (s2.inserted, s2.updated, s2.unchanged, s2.versions, s2.metrics) == (0, 0, 50, 0, 0)
    assert (table_counts(conn), table_checksums(conn)) == before


def test_edit_appends_a_version_but_edit_date_move_does_not(conn):
    load(conn, [post(1, "first")])
    # Telegram moves edit_date when reactions change: same text, later edit_date -> no new version.
    s = load(conn, [post(1, "first", edited_at=T0 + timedelta(hours=1), version_at=T0 + timedelta(hours=1))])
    assert s.versions == 0 and s.updated == 1
    assert conn.execute("SELECT count(*) FROM post_versions").fetchone()[0] == 0
    s = load(conn, [post(1, "second", edited_at=T0 + timedelta(hours=2), version_at=T0 + timedelta(hours=2))])
    assert s.versions == 2  # the first change records the original and the edit
    s = load(conn, [post(1, "third", edited_at=T0 + timedelta(hours=3), version_at=T0 + timedelta(hours=3))])
    assert s.versions == 1
    texts = [
        r[0] for r in conn.execute("SELECT text FROM post_versions WHERE post_id = 1 ORDER BY version_at")
    ]
    assert texts == ["first", "second", "third"]
    assert conn.execute("SELECT text FROM posts WHERE post_id = 1").fetchone()[0] == "third"


def test_older_version_arriving_late_does_not_overwrite_current(conn):
    new = post(1, "edited", version_at=T0 + timedelta(hours=1), edited_at=T0 + timedelta(hours=1))
    old = post(1, "original")
    load(conn, [new])
    s = load(conn, [old])
    assert s.versions == 2
    assert conn.execute("SELECT text FROM posts WHERE post_id = 1").fetchone()[0] == "edited"
    assert conn.execute("SELECT count(*) FROM post_versions").fetchone()[0] == 2


def test_versions_within_one_batch(conn):
    a = post(1, "v1")
    b = post(1, "v2", version_at=T0 + timedelta(hours=1))
    c = post(1, "v2", version_at=T0 + timedelta(hours=2))  # same content again: not a version
    s = load(conn, [c, a, b])
    assert s.inserted == 1 and s.versions == 2
    assert conn.execute("SELECT text FROM posts").fetchone()[0] == "v2"


def test_metrics_append_only_on_change(conn):
    load(conn, [post(1, observed_at=T0)])
    load(conn, [post(1, observed_at=T0 + timedelta(hours=1))])  # same counts
    load(conn, [post(1, metrics=Metrics(views=25), observed_at=T0 + timedelta(hours=2))])
    views = [r[0] for r in conn.execute("SELECT views FROM post_metrics ORDER BY observed_at")]
    assert views == [10, 25]
    assert conn.execute("SELECT views FROM posts").fetchone()[0] == 25


def test_duplicate_keys_in_a_batch_load_once(conn):
    s = load(conn, [post(1), post(1), post(2), post(1)])
    assert s.inserted == 2
    assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 2


def test_rejects_are_kept_once_with_reason(conn):
    bad = Rejected(source="test", reason="truncated JSON at byte 12", raw_text='{"id": 1, "te', origin="f:3")
    loader = Loader(conn)
    assert loader.load([bad, post(1)]).rejected == 1
    conn.commit()
    Loader(conn).load([bad])
    conn.commit()
    rows = list(conn.execute("SELECT reason, payload, origin FROM rejected_records"))
    assert rows == [("truncated JSON at byte 12", '{"id": 1, "te', "f:3")]
    assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 1


def test_reject_payload_with_nul_and_surrogate_is_stored(conn):
    bad = Rejected(source="test", reason="NUL", raw_text='{"text": "a\x00b \ud800"}')
    Loader(conn).load([bad])
    conn.commit()
    assert conn.execute("SELECT count(*) FROM rejected_records").fetchone()[0] == 1


def test_handle_change_keeps_one_channel_with_alias_history(conn):
    load(conn, [post(1)])
    renamed = Channel("telegram", 100, "intelslava_new", "Intel Slava")
    load(conn, [post(2, channel=renamed)])
    assert conn.execute("SELECT count(*), max(handle) FROM channels").fetchone() == (1, "intelslava_new")
    aliases = list(conn.execute("SELECT handle, valid_to IS NULL FROM channel_aliases ORDER BY valid_from"))
    assert aliases == [("intelslava", False), ("intelslava_new", True)]


def test_forward_reference_and_arrays_round_trip(conn):
    fwd = PostRef("telegram", 200, 77, T0 - timedelta(hours=1))
    load(
        conn,
        [
            post(
                1,
                forwarded_from=fwd,
                links=("https://a.example",),
                hashtags=("nato",),
                media=({"type": "photo", "id": 5},),
            )
        ],
    )
    row = conn.execute(
        "SELECT fwd_channel_id, fwd_post_id, fwd_posted_at, links, hashtags, media FROM posts"
    ).fetchone()
    assert row == (
        200,
        77,
        T0 - timedelta(hours=1),
        ["https://a.example"],
        ["nato"],
        [{"type": "photo", "id": 5}],
    )


def test_only_existing_skips_unknown_posts(conn):
    load(conn, [post(1)])
    s = Loader(conn).load([post(1, metrics=Metrics(views=99)), post(2)], only_existing=True)
    conn.commit()
    assert s.inserted == 0 and s.updated == 1
    assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 1


def test_deleted_post_seen_again_is_restored(conn):
    load(conn, [post(1)])
    loader = Loader(conn)
    assert loader.confirm_listing("telegram", 100, set(), T0 + timedelta(hours=3), listed=[(1, 5)]) == 1
    conn.commit()
    assert conn.execute("SELECT deleted_at FROM posts").fetchone()[0] is not None
    load(conn, [dataclasses.replace(post(1), observed_at=T0 + timedelta(hours=4))])
    assert conn.execute("SELECT deleted_at FROM posts").fetchone()[0] is None


def test_a_listing_of_several_ranges_deletes_only_inside_them(conn):
    load(conn, [post(i) for i in range(1, 11)])
    loader = Loader(conn)
    # Held rescan batches are confirmed together: ids between two listed ranges were listed by neither.
    gone = loader.confirm_listing(
        "telegram", 100, {1, 2, 8}, T0 + timedelta(hours=3), listed=[(1, 3), (7, 9)]
    )
    conn.commit()
    assert gone == 3
    deleted = conn.execute("SELECT post_id FROM posts WHERE deleted_at IS NOT NULL ORDER BY 1").fetchall()
    assert [r[0] for r in deleted] == [3, 7, 9]


def test_fast_path_falls_back_when_a_concurrent_writer_inserted_a_key(conn, db):
    import psycopg

    from ingest.warehouse import loader as loader_mod
    from ingest.warehouse import post_rows

    # Another session inserts post 2 after this batch decided all its keys were new.
    with psycopg.connect(db) as other:
        Loader(other).load([post(2, "from the other writer")])
        other.commit()
    ldr = Loader(conn)
    [prepared] = post_rows.prepare([post(1), post(2, "mine")])
    stats = loader_mod.LoadStats()
    now = datetime.now(timezone.utc)  # observed after the other writer's row: mine is the newer observation
    assert ldr._copy_new(prepared, now, stats) is False
    assert stats.inserted == 0
    ldr._stage_and_upsert(prepared, now, stats)  # the transaction is still usable after the savepoint
    conn.commit()
    assert (stats.inserted, stats.updated) == (1, 1)
    assert conn.execute("SELECT text FROM posts WHERE post_id = 2").fetchone()[0] == "mine"


def test_older_counts_arriving_late_do_not_overwrite_newer(conn):
    load(conn, [post(1, metrics=Metrics(views=50), observed_at=T0 + timedelta(hours=5))])
    load(conn, [post(1, metrics=Metrics(views=20), observed_at=T0 + timedelta(hours=1))])
    assert conn.execute("SELECT views FROM posts").fetchone()[0] == 50
    series = list(conn.execute("SELECT views FROM post_metrics ORDER BY observed_at"))
    assert series == [(20,), (50,)]


def test_every_count_observation_in_one_batch_is_kept(conn):
    # Two fetches of one post in one batch (a collector's re-run): both observations belong in the series.
    early = post(1, metrics=Metrics(views=100), observed_at=T0 + timedelta(hours=1))
    late = post(1, metrics=Metrics(views=160), observed_at=T0 + timedelta(hours=20))
    load(conn, [late, early])
    series = list(conn.execute("SELECT observed_at, views FROM post_metrics ORDER BY observed_at"))
    assert series == [(T0 + timedelta(hours=1), 100), (T0 + timedelta(hours=20), 160)]
    assert conn.execute("SELECT views FROM posts").fetchone()[0] == 160


def test_raw_payload_is_the_record_as_read_on_both_write_paths(conn):
    """New posts' payloads go by binary COPY (as orjson's bytes), an edit's through the staging table (text
    COPY): both store the very JSON of the record, with what the text format escapes (backslash, tab, newline,
    carriage return), escaped NUL, Cyrillic, emoji and a character outside the BMP."""
    import orjson

    tricky = 'a\\b\tc\nd\re \\N \\. Рютте 🇺🇦 𝔸 "q" \x00 end'
    first = post(1, "first", raw={"id": 1, "text": tricky, "nested": {"k": ["\\", "\t", None, 1.5]}})
    s = load(conn, [first])
    assert s.inserted == 1
    edited = post(
        1, "second", edited_at=T0 + timedelta(hours=1), version_at=T0 + timedelta(hours=1),
        raw={"id": 1, "text": tricky + " (edited)", "nested": {"k": ["\\", "\t"]}},
    )  # fmt: skip
    s = load(conn, [edited])
    assert s.updated == 1
    rows = list(
        conn.execute("SELECT payload FROM raw_records WHERE post_id = 1 ORDER BY fetched_at, payload")
    )
    assert sorted(orjson.loads(r[0])["text"] for r in rows) == sorted([tricky, tricky + " (edited)"])
    stored = {orjson.loads(r[0])["text"]: r[0] for r in rows}
    # Byte for byte what orjson writes, whichever path stored it.
    assert stored[tricky] == orjson.dumps(first.raw).decode()
    assert stored[tricky + " (edited)"] == orjson.dumps(edited.raw).decode()


def test_keys_known_new_skip_the_key_lookup_and_a_wrong_guess_still_loads_right(conn, db, monkeypatch):
    """`new_keys` (a probe said these keys are not stored) sends those posts straight to the insert; a key that
    was stored after all (another writer, a batch in flight) is upserted as usual: the same warehouse either way."""
    from tests.conftest import truncate_all

    looked_up: list[int] = []
    changed = Loader._changed

    def counting(self, prepared, newer):
        looked_up.extend(pr.post.post_id for pr in prepared)
        return changed(self, prepared, newer)

    monkeypatch.setattr(Loader, "_changed", counting)
    edit = dict(edited_at=T0 + timedelta(hours=1), version_at=T0 + timedelta(hours=1))

    def run(new_keys: bool):
        conn.rollback()  # nothing held while another session truncates
        truncate_all(db)
        looked_up.clear()
        first = Loader(conn).load([post(1), post(2)], new_keys={post(1).key} if new_keys else frozenset())
        conn.commit()
        # Post 2 edited, wrongly said to be new: the insert meets the stored key and the round is upserted.
        second = Loader(conn).load(
            [post(2, "edited", **edit), post(3)],
            new_keys={post(2).key, post(3).key} if new_keys else frozenset(),
        )
        conn.commit()
        counts = [(s.inserted, s.updated, s.versions) for s in (first, second)]
        return counts, list(looked_up), table_counts(conn), table_checksums(conn)

    counts, looked, *state = run(new_keys=True)
    assert counts == [(2, 0, 0), (1, 1, 2)]
    assert looked == [2]  # only the key not said to be new was looked up
    assert conn.execute("SELECT text FROM posts WHERE post_id = 2").fetchone()[0] == "edited"
    plain_counts, plain_looked, *plain_state = run(new_keys=False)
    assert plain_counts == counts
    assert sorted(plain_looked) == [1, 2, 2, 3]
    assert plain_state == state


def test_the_binary_copy_types_are_the_tables_column_types(conn):
    """New posts and their payloads go by binary COPY, which needs each column's exact type."""
    from ingest.warehouse.post_sql import POST_COLS, POST_TYPES, RAW_COLS, RAW_TYPES

    short = {"bigint": "int8", "timestamp with time zone": "timestamptz", "text[]": "text[]", "jsonb": "jsonb",
             "text": "text"}  # fmt: skip
    for table, cols, types in (("posts", POST_COLS, POST_TYPES), ("raw_records", RAW_COLS, RAW_TYPES)):
        got = dict(
            conn.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (table,),
            ).fetchall()
        )
        assert len(cols) == len(types)
        assert [short.get(got[c], got[c]) for c in cols] == list(types), table


def test_a_new_post_with_every_kind_of_column_loads_by_binary_copy_as_it_reads_back(conn):
    """Arrays, media, reactions, references and times survive the binary COPY of new posts; empty ones too."""
    from ingest.models import Metrics, PostRef

    full = post(
        7, "текст #тег", media=({"type": "photo", "url": "https://e/1.jpg"},), links=("https://e/a", "https://e/b"),
        hashtags=("тег",), mentions=("someone",), metrics=Metrics(views=5, reactions={"👍": 2}),
        reply_to=PostRef("telegram", 100, 3), forwarded_from=PostRef("telegram", 200, 9, T0, "Name", "handle"),
        edited_at=T0 + timedelta(minutes=5), grouped_id=42,
    )  # fmt: skip
    load(conn, [full, post(8)])
    rows = conn.execute(
        "SELECT post_id, text, media, links, hashtags, mentions, views, reactions, reply_to_post_id, fwd_channel_id,"
        " fwd_posted_at, fwd_name, fwd_handle, edited_at, grouped_id FROM posts ORDER BY post_id"
    ).fetchall()
    conn.commit()
    assert rows[0] == (
        7, "текст #тег", [{"type": "photo", "url": "https://e/1.jpg"}], ["https://e/a", "https://e/b"], ["тег"],
        ["someone"], 5, {"👍": 2}, 3, 200, T0, "Name", "handle", T0 + timedelta(minutes=5), 42,
    )  # fmt: skip
    assert rows[1][2:6] == ([], [], [], [])


def _covered(conn) -> int:
    return conn.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = 'posts'::regclass").fetchone()[0]


def test_statistics_are_refreshed_when_the_rows_they_cover_have_doubled(conn):
    """A bulk load into an empty table refreshes the planner's statistics at 5,000 rows; a later loader (a folder's
    next file) refreshes them only once it has added as many rows as they already cover, not at its own 5,000."""
    Loader(conn).load([post(i) for i in range(1, 6001)])
    conn.commit()
    assert _covered(conn) == 6000  # refreshed by the first loader: one round of 6,000, past its 5,000

    second = Loader(conn)
    second.load([post(i) for i in range(10_001, 15_001)])
    conn.commit()
    assert _covered(conn) == 6000, "refreshed at the second loader's own 5,000 rows"
    second.load([post(i) for i in range(15_001, 16_001)])
    conn.commit()
    assert _covered(conn) == 12_000  # 6,000 more than the statistics covered


def test_only_batches_that_may_be_out_of_order_run_the_out_of_order_statements(conn, monkeypatch):
    """New counts observed after the stored ones (an hourly rescan) cannot reorder what is stored, so their batch
    skips the statements that repair out-of-order observations; an older capture's batch runs them."""
    seen: list[bool] = []
    stage = Loader._stage_and_upsert

    def spy(self, changed, now, stats, *, late=True):
        seen.append(late)
        return stage(self, changed, now, stats, late=late)

    monkeypatch.setattr(Loader, "_stage_and_upsert", spy)
    load(
        conn, [post(i, metrics=Metrics(views=10), observed_at=T0 + timedelta(hours=2)) for i in range(1, 21)]
    )
    load(
        conn, [post(i, metrics=Metrics(views=20), observed_at=T0 + timedelta(hours=3)) for i in range(1, 21)]
    )
    load(
        conn, [post(i, metrics=Metrics(views=15), observed_at=T0 + timedelta(hours=1)) for i in range(1, 21)]
    )
    assert seen == [False, True]
    views = [
        r[0] for r in conn.execute("SELECT views FROM post_metrics WHERE post_id = 1 ORDER BY observed_at")
    ]
    assert views == [15, 10, 20]


def _index_scans(plan: dict) -> list[str]:
    found = [plan["Index Name"]] if "Index Name" in plan else []
    for child in plan.get("Plans", []):
        found += _index_scans(child)
    return found


def test_the_key_probes_take_the_primary_key_on_a_table_without_statistics(conn):
    """A new warehouse's first import probes its keys before any ANALYZE: the probes must still go by the primary
    key, not by the channel's timeline index, which would read every post of the channel for each key (8.8 s for
    16,384 keys against 6,800 posts, and a killed import's backend ran on that long)."""
    # A table of its own, never analysed (temporary tables are not autovacuumed), that the probes' unqualified
    # `posts` resolves to.
    conn.execute("CREATE TEMP TABLE posts (LIKE public.posts INCLUDING ALL)")
    conn.execute(
        "INSERT INTO posts (platform, channel_id, post_id, posted_at, version_at, content_hash, metrics_hash,"
        " row_hash, source) SELECT 'telegram', 7, i, now(), now(), i, i, i, 'test' FROM generate_series(1, 4000) i"
    )
    temp = "pg_temp.posts"
    assert (
        conn.execute(
            "SELECT count(*) FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename"
            " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname WHERE c.oid = %s::regclass",
            (temp,),
        ).fetchone()[0]
        == 0
    )
    pkey = conn.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = %s::regclass AND i.indisprimary",
        (temp,),
    ).fetchone()[0]
    keys = list(range(1, 101))
    now = datetime.now(timezone.utc)
    probes = {
        "UNCHANGED_RAW": (UNCHANGED_RAW.replace("%b", "%s"), ([7] * 100, keys, keys, [0] * 100, "telegram")),
        "CHANGED_KEYS": (CHANGED_KEYS, ([7] * 100, keys, keys, [now] * 100, keys, "telegram")),
        "RANGE_RAW": (RANGE_RAW.replace("%b", "%s"), ([7], [1], [100], [264], "telegram")),
    }
    for name, (sql, params) in probes.items():
        plan = conn.execute("EXPLAIN (FORMAT JSON) " + sql, params).fetchone()[0]
        assert _index_scans(plan[0]["Plan"]) == [pkey], name
    sql, params = probes["UNCHANGED_RAW"]
    assert len(conn.execute(sql, params).fetchall()) == 100  # every key is stored, and comes back


def test_the_range_probe_answers_as_the_key_by_key_probe(conn):
    """`stored_raw` reads each channel's stored posts as one range of ids and probes key by key past where a read
    hit its limit (a channel whose keys are sparse in a long stretch, as an X account's are). Dense, sparse and mixed
    batches, with deleted posts, other raw hashes, counts observed later and keys never stored, get the key-by-key
    probe's answer."""
    conn.execute(
        "INSERT INTO posts (platform, channel_id, post_id, posted_at, version_at, content_hash, metrics_hash,"
        " row_hash, source, raw_hash, deleted_at, metrics_observed_at)"
        " SELECT 'telegram', ch, i, now(), now(), i, i, i, 'test', i * 7,"
        "        CASE WHEN i % 37 = 0 THEN now() END,"
        "        CASE WHEN i % 5 = 0 THEN timestamptz '2026-01-01' + i * interval '1 second' END"
        " FROM (VALUES (7, 1, 3000, 1), (8, 1, 200000, 97)) AS c(ch, lo, hi, step),"
        "      generate_series(c.lo, c.hi, c.step) AS i"
    )
    loader = Loader(conn)
    base_us = int(datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp() * 1_000_000)
    rng = random.Random(11)
    batches = [
        [(7, i) for i in range(100, 1100)],  # dense: one range read answers all
        [(8, i) for i in sorted(rng.sample(range(1, 200_000), 300))],  # sparse: past the limit, key by key
        [(7, i) for i in range(2900, 3100)] + [(8, 97 * k + 1) for k in range(0, 2000, 9)] + [(9, 5)],
        [(7, 4000)],  # nothing stored
    ]
    for batch in batches:
        keys = [(ch, pid, pid * 7 if rng.random() < 0.8 else pid * 7 + 1, None) for ch, pid in batch]
        observed = [base_us + pid * 1_000_000 + rng.choice((-1, 0, 1)) for _, pid in batch]
        got = loader._stored_raw("telegram", keys, observed)
        rows = conn.execute(
            UNCHANGED_RAW.replace("%b", "%s"),
            ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], observed, "telegram"),
        ).fetchall()
        want = (sorted(i - 1 for i, same in rows if same), sorted(i - 1 for i, _ in rows))
        assert got == want, batch[:3]
        assert 0 < len(want[0]) < len(want[1]) or batch == [(7, 4000)]
