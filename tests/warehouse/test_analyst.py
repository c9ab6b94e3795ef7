"""The analysts' schema (schemas/004_analyst.sql, 005_analyst_events.sql) and ingest/warehouse/analyst.py:
views over versions and metrics, full-text search across languages, and the read-only role, against a real
PostgreSQL. Roles are cluster-wide: every role made here has a name unique to the test session and is dropped
at the end."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from ingest.models import Channel, Metrics, Post
from ingest.warehouse import analyst as wa
from ingest.warehouse.loader import Loader
from tests import scratch

T0 = datetime(2026, 6, 26, 3, 0, tzinfo=UTC)
CH = Channel("telegram", 1001, "alpha", "Alpha")
CH_X = Channel("x", 2002, "bravo", "Bravo")


def _post(pid: int, text: str, *, ch: Channel = CH, minutes: float = 0, views: int | None = None,
          observed: datetime | None = None, version_at: datetime | None = None, lang: str | None = None) -> Post:  # fmt: skip
    at = T0 + timedelta(minutes=minutes)
    return Post(
        ch.platform, ch.channel_id, pid, at, text, channel=ch, version_at=version_at or at,
        edited_at=version_at, lang=lang, url=f"https://t.me/{ch.handle}/{pid}",
        metrics=Metrics(views=views) if views is not None else None, observed_at=observed or at + timedelta(hours=1),
        source="test", raw={"id": pid},
    )  # fmt: skip


def load(conn: psycopg.Connection, *posts: Post) -> None:
    Loader(conn).load(list(posts))
    conn.commit()


def rows(conn: psycopg.Connection, query: str, params=()) -> list[tuple]:
    out = conn.execute(query, params).fetchall()
    conn.commit()
    return out


# ------------------------------------------------------------------------------------------------ views


def test_every_analyst_view_and_column_is_commented(conn):
    views = rows(conn, "SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = 'analyst' AND c.relkind = 'v' ORDER BY 2")  # fmt: skip
    names = {v[1] for v in views}
    assert {"posts", "post_versions", "post_metrics", "channel_activity", "channels", "events", "event_timeline",
            "briefs", "storylines", "event_redirects"} <= names  # fmt: skip
    missing = rows(
        conn,
        """SELECT c.relname || coalesce('.' || a.attname, '') FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND col_description(c.oid, a.attnum) IS NULL
           WHERE n.nspname = 'analyst' AND c.relkind = 'v'
             AND (obj_description(c.oid, 'pg_class') IS NULL OR a.attname IS NOT NULL)""",
    )
    assert missing == []


def test_analyst_posts_has_no_raw_payloads_or_hashes(conn):
    cols = {r[0] for r in rows(conn, "SELECT attname FROM pg_attribute WHERE attrelid = 'analyst.posts'::regclass "
                                      "AND attnum > 0")}  # fmt: skip
    assert {"channel", "channel_title", "url", "posted_at", "versions", "views", "reactions_total"} <= cols
    assert not cols & {"payload", "raw", "content_hash", "metrics_hash", "row_hash"}


def test_post_versions_shows_never_edited_posts_and_every_edit(conn):
    load(conn, _post(1, "never edited"), _post(2, "first text"))
    load(conn, _post(2, "second text", version_at=T0 + timedelta(minutes=5)))
    load(conn, _post(2, "third text", version_at=T0 + timedelta(minutes=9)))
    got = rows(conn, "SELECT post_id, version, versions, text, previous_text, is_current, channel "
                     "FROM analyst.post_versions ORDER BY post_id, version")  # fmt: skip
    assert got == [
        (1, 1, 1, "never edited", None, True, "alpha"),
        (2, 1, 3, "first text", None, False, "alpha"),
        (2, 2, 3, "second text", "first text", False, "alpha"),
        (2, 3, 3, "third text", "second text", True, "alpha"),
    ]
    assert rows(conn, "SELECT post_id, versions, edited_at FROM analyst.posts ORDER BY post_id") == [
        (1, 1, None),
        (2, 3, T0 + timedelta(minutes=9)),
    ]


def test_post_metrics_series_includes_posts_whose_counts_never_changed(conn):
    obs = T0 + timedelta(hours=1)
    load(conn, _post(1, "steady", views=10, observed=obs), _post(2, "growing", views=10, observed=obs))
    load(conn, _post(2, "growing", views=25, observed=obs + timedelta(hours=1)))
    load(conn, _post(2, "growing", views=40, observed=obs + timedelta(hours=3)))
    got = rows(conn, "SELECT post_id, observed_at, views, views_delta, hours_since_previous, is_latest "
                     "FROM analyst.post_metrics ORDER BY post_id, observed_at")  # fmt: skip
    assert [(r[0], r[2], r[3], r[5]) for r in got] == [
        (1, 10, None, True),
        (2, 10, None, False),
        (2, 25, 15, False),
        (2, 40, 15, True),
    ]
    assert float(got[3][4]) == 2.0
    # channel_activity: posts per UTC hour, and engagement gained per hour of observation.
    act = rows(conn, "SELECT hour, posts, views_gained FROM analyst.channel_activity WHERE channel = 'alpha' "
                     "ORDER BY hour")  # fmt: skip
    assert act == [(T0, 2, None), (T0 + timedelta(hours=2), 0, 15), (T0 + timedelta(hours=4), 0, 15)]


def test_channel_activity_hours_are_utc_whatever_the_session_time_zone(conn):
    load(conn, _post(1, "a", minutes=10), _post(2, "b", minutes=50), _post(3, "c", minutes=70))
    conn.execute("SET TIME ZONE 'Asia/Kolkata'")  # +05:30: local hours would split differently
    got = rows(conn, "SELECT hour, posts FROM analyst.channel_activity ORDER BY hour")
    assert got == [(T0, 2), (T0 + timedelta(hours=1), 1)]


# ------------------------------------------------------------------------------------------------ search


SEARCH_POSTS = [
    (1, "Российская армия получила новые контракты на поставку беспилотников.", None),
    (2, "Allies will sign new defense contracts worth tens of billions of dollars.", "en"),
    (3, "Повітряна тривога в Києві. Прямуйте в укриття!", None),
    (4, "The US and the WHO said the outbreak is contained.", "en"),
    (5, "Погода: завтра в Москве до +30, без осадков.", None),
]


@pytest.fixture
def searchable(conn):
    load(conn, *[_post(pid, text, minutes=pid, lang=lang) for pid, text, lang in SEARCH_POSTS])
    return conn


def _found(conn, query: str, since=None) -> list[int]:
    return sorted(r["post_id"] for r in wa.search(conn, query, since=since))


@pytest.mark.parametrize(
    "query,expected",
    [
        ("контрактов", [1]),  # another case of "контракты"
        ("контракт", [1]),
        ("беспилотник", [1]),  # "беспилотников"
        ("contract", [2]),  # "contracts"
        ("contracts", [2]),
        ('"tens of billions"', [2]),
        ("тривога", [3]),  # Ukrainian: word for word
        ("US", [4]),  # not dropped as a stop word
        ("who", [4]),
        ("контракты OR contracts", [1, 2]),
        ("армия -контракты", []),
        ("нефтебаза", []),
    ],
)
def test_search_across_languages(searchable, query, expected):
    assert _found(searchable, query) == expected


def test_search_since_and_snippet(searchable):
    assert _found(searchable, "контракты OR contracts", since=T0 + timedelta(minutes=2)) == [2]
    hit = wa.search(searchable, "контрактов")[0]
    assert "**контракты**" in hit["snippet"]
    assert hit["url"] == "https://t.me/alpha/1" and hit["channel"] == "alpha"


# Shaped like telegram_news_ru's texts (Telethon's Markdown kept in the text): bold inside a link whose label ends
# in a line break, bold around and next to the word searched for, a strike, a spoiler, code.
MARKDOWN_POST = (
    "⚡️**Трамп пригрозил БРИКС** 100% пошлинами за попытку отказаться от [**доллара**](https://t.me/+fzMFUxu8yc5hMGYy), "
    "заявив, что «США больше не будут __стоять в стороне__».\n\n«Попытки уйти от **доллара****» — ~~не~~ "
    "||конец||, `код`. [Подписаться на канал \n](https://t.me/+HWFlcuXhzKdhYWY6)"
)


def test_snippet_marks_only_hits_in_markdown_texts(searchable):
    """A text's own Markdown stays out of its snippet: every ** in a snippet marks a hit, so that the console
    and `wirewatch search`, which split on **, mark the hits and nothing between them."""
    load(searchable, _post(7, MARKDOWN_POST, minutes=7))
    snippet = wa.search(searchable, "доллар")[0]["snippet"]
    assert "](" not in snippet and "t.me/+" not in snippet and "__" not in snippet and "~~" not in snippet
    pieces = snippet.split("**")
    assert len(pieces) % 2 == 1 and len(pieces) >= 5, snippet  # two hits at least, every marker paired
    assert {p for i, p in enumerate(pieces) if i % 2} == {"доллара"}, snippet
    assert "отказаться от **доллара**, заявив" in snippet, snippet  # the link's label stays, its URL goes
    plain = searchable.execute("SELECT analyst.snippet_text(%s)", (MARKDOWN_POST,)).fetchone()[0]
    assert plain.startswith("⚡️Трамп пригрозил БРИКС 100%") and "Подписаться на канал" in plain
    # A label's space before "]" stays (real posts close links after it: "[объявили ](url)на").
    glued = searchable.execute(
        "SELECT analyst.snippet_text('Яндекс [объявили ](https://t.me/x/1)на YaC')"
    ).fetchone()
    assert glued[0] == "Яндекс объявили на YaC"
    assert not any(m in plain for m in ("**", "__", "~~", "||", "`", "](", "https://"))


def test_search_is_newest_first_unless_ranked(searchable):
    load(
        searchable,
        _post(6, "Contracts, contracts, contracts: the contract of the year.", minutes=0.5, lang="en"),
    )
    newest = wa.search(searchable, "contracts OR контракты")
    assert [r["post_id"] for r in newest] == [2, 1, 6]  # posted at minute 2, 1 and 0.5
    ranked = wa.search(searchable, "contracts OR контракты", ranked=True)
    assert ranked[0]["post_id"] == 6 and ranked[0]["rank"] > max(r["rank"] for r in ranked[1:])
    assert sorted(r["post_id"] for r in ranked) == [1, 2, 6]
    assert all(r["channel_id"] == CH.channel_id for r in newest)


def test_search_stays_current_through_edits_and_deletes(searchable):
    assert _found(searchable, "нефтебаза") == []
    edit = T0 + timedelta(minutes=30)
    load(searchable, _post(5, "Пожар на нефтебазе в Тихорецке.", minutes=5, version_at=edit, observed=edit))
    assert _found(searchable, "нефтебаза") == [5] and _found(searchable, "погода") == []
    stored = rows(searchable, "SELECT search_vector = analyst.search_document(text) FROM posts")
    assert stored and all(same for (same,) in stored)
    searchable.execute("UPDATE posts SET deleted_at = now() WHERE post_id = 5")
    searchable.commit()
    assert _found(searchable, "нефтебаза") == []


def _sort_keys(conn: psycopg.Connection, query: str) -> list[str]:
    conn.execute("SET enable_seqscan = off")
    plan = [r[0] for r in conn.execute(f"EXPLAIN {query}")]
    conn.rollback()
    return [line for line in plan if "Sort Key" in line]


def test_search_first_page_ranks_nothing_unless_asked(searchable):
    # Newest first, the CASE over ts_rank folds away when the function inlines: no ranking of every match.
    assert not any(
        "ts_rank" in k for k in _sort_keys(searchable, "SELECT * FROM analyst.search('contracts') LIMIT 20")
    )
    ranked = _sort_keys(searchable, "SELECT * FROM analyst.search('contracts', ranked => true) LIMIT 20")
    assert any("ts_rank" in k for k in ranked)


def test_search_uses_the_index(searchable):
    searchable.execute("SET enable_seqscan = off")
    plan = "\n".join(r[0] for r in searchable.execute("EXPLAIN SELECT * FROM analyst.search('контрактов')"))
    searchable.rollback()
    assert "posts_search_idx" in plan


# ------------------------------------------------------------------------------------------------ roles


@pytest.fixture(scope="module")
def roles(dsn) -> Iterator[tuple[str, str]]:
    """A group role and a login role unique to this session; dropped afterwards."""
    with scratch.analyst_roles(dsn, "ww_test") as names:
        yield names


@pytest.fixture
def analyst_conn(conn, db, roles) -> Iterator[psycopg.Connection]:
    """Demo-ish rows in the warehouse, and a connection as a login role granted the analyst group role."""
    group, user = roles
    load(
        conn,
        _post(1, "Российская армия получила новые контракты.", views=5),
        _post(2, "Allies sign contracts."),
    )
    conn.execute(
        "INSERT INTO rejected_records (source, reason, payload, payload_hash) VALUES ('test', 'bad', '{}', 1)"
    )
    conn.commit()
    wa.grant_user(conn, user, role=group)
    with psycopg.connect(scratch.login_dsn(db, user)) as c:
        yield c


def test_create_role_is_idempotent_and_read_only(conn, roles):
    group, _ = roles
    first = wa.create_analyst_role(conn, group)
    second = wa.create_analyst_role(conn, group)
    assert second.created is False and second.problems == []
    assert first.created or not first.problems  # another test of this module may have created it first
    attrs = rows(conn, "SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = %s", (group,))
    assert attrs == [(False, False)]


def test_analyst_reads_views_and_search(analyst_conn):
    c = analyst_conn
    assert c.execute("SELECT count(*) FROM analyst.posts").fetchone()[0] == 2
    assert c.execute("SELECT count(*) FROM analyst.post_metrics").fetchone()[0] == 1
    assert c.execute("SELECT count(*) FROM analyst.events").fetchone()[0] == 0
    assert [r[0] for r in c.execute("SELECT post_id FROM analyst.search('контрактов')")] == [1]
    # The login's defaults: views without the schema prefix, UTC, read-only transactions.
    assert c.execute("SELECT count(*) FROM posts").fetchone()[0] == 2  # analyst.posts via search_path
    assert c.execute("SHOW TimeZone").fetchone()[0] == "UTC"
    assert c.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO public.posts (platform, channel_id, post_id, posted_at, version_at, content_hash, metrics_hash, "
        "row_hash, source) VALUES ('x', 1, 1, now(), now(), 0, 0, 0, 'evil')",
        "UPDATE public.posts SET text = 'changed'",
        "DELETE FROM public.posts",
        "TRUNCATE public.posts",
        "UPDATE analyst.posts SET text = 'changed'",
        "DELETE FROM analyst.post_versions",
        # Simple views are automatically updatable: only the missing privilege stops these.
        "UPDATE analyst.storylines SET title = 'changed'",
        "DELETE FROM analyst.event_redirects",
        "CREATE TABLE analyst.mine (x int)",
    ],
)
def test_analyst_cannot_write_even_in_a_read_write_transaction(analyst_conn, statement):
    c = analyst_conn
    with pytest.raises(
        (psycopg.errors.ReadOnlySqlTransaction, psycopg.errors.InsufficientPrivilege,
         psycopg.errors.ObjectNotInPrerequisiteState)
    ):  # fmt: skip
        c.execute(statement)
    c.rollback()
    # Read-only is only the login's default: the privileges themselves forbid every write.
    c.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
    c.commit()  # applies from the next transaction on
    assert c.execute("SHOW transaction_read_only").fetchone()[0] == "off"
    with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectNotInPrerequisiteState)):
        c.execute(statement)
    c.rollback()


@pytest.mark.parametrize(
    "table",
    [
        "raw_records",
        "rejected_records",
        "cursors",
        "ingest_runs",
        "posts",
        "channels",
        "event_posts",
        "warehouse_keys",
    ],
)
def test_analyst_cannot_read_tables_outside_schema_analyst(analyst_conn, table):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        analyst_conn.execute(sql.SQL("SELECT * FROM public.{} LIMIT 1").format(sql.Identifier(table)))
    analyst_conn.rollback()


def test_grant_is_idempotent_hashes_the_password_and_audits_clean(conn, roles):
    group, user = roles
    wa.grant_user(conn, user, role=group)
    again = wa.grant_user(conn, user, role=group, password="correct horse battery staple")
    assert again.created is False
    assert again.problems == []
    stored = rows(conn, "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (user,))[0][0]
    assert stored.startswith("SCRAM-SHA-256$") and "horse" not in stored
    assert wa.audit_role(conn, group, group=group) == []


def test_grant_refuses_a_superuser(conn, roles):
    group, _ = roles
    su = f"ww_test_su_{secrets.token_hex(4)}"
    conn.execute(sql.SQL("CREATE ROLE {} SUPERUSER NOLOGIN").format(sql.Identifier(su)))
    conn.commit()
    try:
        with pytest.raises(PermissionError):
            wa.grant_user(conn, su, role=group)
    finally:
        conn.rollback()
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(su)))
        conn.commit()


def test_audit_reports_write_privileges(conn, roles):
    group, _ = roles
    wa.create_analyst_role(conn, group)
    conn.execute(sql.SQL("GRANT INSERT ON public.posts TO {}").format(sql.Identifier(group)))
    conn.commit()
    try:
        assert any("INSERT on public.posts" in p for p in wa.audit_role(conn, group, group=group))
    finally:
        conn.execute(sql.SQL("REVOKE INSERT ON public.posts FROM {}").format(sql.Identifier(group)))
        conn.commit()


def test_views_added_later_are_readable_without_a_new_grant(conn, db, roles):
    group, user = roles
    wa.grant_user(conn, user, role=group)
    conn.execute("CREATE VIEW analyst.test_later AS SELECT 1 AS one")
    conn.commit()
    try:
        with psycopg.connect(scratch.login_dsn(db, user)) as c:
            assert c.execute("SELECT one FROM analyst.test_later").fetchone() == (1,)
    finally:
        conn.execute("DROP VIEW analyst.test_later")
        conn.commit()


def test_role_names_are_checked():
    for bad in ("Robert'); DROP TABLE posts;--", "", "UPPER", "a" * 64):
        with pytest.raises(ValueError):
            wa.check_role_name(bad)
    assert wa.check_role_name("ann_1") == "ann_1"
