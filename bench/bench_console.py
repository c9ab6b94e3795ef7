"""The analysts' console at warehouse scale (issue 14 item 5): server time of the events page, an event page and a
search for a common word, against a warehouse of 1M posts in 100k events (`--quick`: 100k / 10k).

The warehouse is generated set-based in SQL (INSERT ... SELECT FROM generate_series), not through the loader:
1,000 channels (800 Telegram, 200 X), posts spread evenly over `events / 1000` days ending a few minutes ago
(so the default 24 h window holds ~1,000 events), each text three phrases of 8-13 words drawn (skewed towards the
top of the list) 30 % from ~110 Russian or ~110 English news words, 70 % from 27,000 invented words a
language; every post in an event of 10 consecutive posts
(one origin, two forwards of it, seven reports), 10 % of the posts with three engagement observations, 2 % with
an edit; 20 events per storyline; no briefs (the event page then shows the timeline, as it does before
`wirewatch briefs` ran). Secondary indexes are dropped for the load and rebuilt from their own definitions, then
VACUUM ANALYZE.

Each page is requested through Starlette's TestClient against `create_app()` (the whole server side: routing,
validation, the pool, SQL, templates), 2 warm-ups then `--requests` timed requests; the median is compared with the
target. The baseline, in the same run: the SQL behind the page, i.e. the `ingest.warehouse.console` functions the
page calls, run directly on a psycopg connection set up like the console's (read-only, UTC).

Search is timed for a common word (first page, the target; a 5th page; with a channel filter; in a 24 h window;
ranked) and a rare one. `--keep` leaves the generated warehouse in place (its DSN is printed); `--dsn DSN`
measures such a warehouse without building it, after applying any migration it lacks (timed): the same warehouse
measured before and after a migration.

    python -m bench console [--quick]
    .venv/bin/python -m bench.bench_console [--events 100000] [--requests 20] [--keep | --dsn DSN] [--pages a,b]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg

from bench.common import Report, scratch_db
from ingest.warehouse import console as wc
from ingest.warehouse import migrate

POSTS_PER_EVENT = 10
EVENTS_PER_STORYLINE = 20
CHANNELS = 1000
TELEGRAM_CHANNELS = 800
EVENTS_PER_DAY = 1000
PHRASES = 10_000  # per language
TARGETS_MS = {"events": 150.0, "api_events": 150.0, "event": 100.0, "api_event": 100.0, "search": 300.0}

# Most frequent first: a phrase draws word k with probability falling with k (index = n * random()^2).
RU_WORDS = """удар армия дрон ракета город область заявил президент министр войска граница переговоры санкции
    нефть завод порт мост энергетика пожар склад атака обстрел сегодня ночью утром вечером после против более
    около данным сообщает источник власти правительство глава района жители погибли ранены пострадали
    эвакуация сирена тревога беспилотник ПВО сбиты уничтожены позиции наступление оборона фронт направление
    штаб командование бригада техника танк артиллерия снаряд взрыв разрушения инфраструктура электричество
    подстанция отключения восстановлены переговорах делегация саммит встреча соглашение поставки помощь
    оружие миллиардов долларов евро бюджет экономика рынок цены газ транзит экспорт импорт пошлины выборы
    парламент закон решение суд расследование задержан""".split()
EN_WORDS = """strike army drone missile city region said president minister troops border talks sanctions oil
    plant port bridge energy fire depot attack shelling today overnight morning evening after against more
    about according reports source officials government head district residents killed wounded injured
    evacuation siren alert UAV defence downed destroyed positions offensive defense front direction
    headquarters command brigade equipment tank artillery shell explosion damage infrastructure power
    substation outages restored negotiations delegation summit meeting agreement deliveries aid weapons
    billion dollars euros budget economy market prices gas transit export import tariffs election parliament
    law decision court investigation detained""".split()
# 70 % of the words are invented from three of 30 syllables (27,000 words a language, the long tail).
RU_SYL = "ка ри то ме са ло не пу ви да сте гра мон тел бор зу фа ши чу яр дол кин пе ру ма но ли го ба сел".split()
EN_SYL = "ka ri to me sa lo ne pu vi da ste gra mon tel bor zu fa shi chu yar dol kin pe ru ma no li go ba sel".split()
SEARCH_WORD = "удар"  # the most frequent Russian news word here
RARE_WORD = "задержан"  # the least frequent
SLOW_MS = 2000.0  # a page slower than this is timed 3 times, not --requests times

VEC = "{" + ",".join(str(17 * k + 3) for k in range(24)) + "}"  # grouping state of realistic width
VAL = "{" + ",".join(str(k % 9 + 1) for k in range(24)) + "}"


# --------------------------------------------------------------------------------------------- the warehouse


def _words_sql(words: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + w.replace("'", "''") + "'" for w in words) + "]::text[]"


def build(conn: psycopg.Connection, events: int) -> dict[str, float]:
    """Fill the scratch warehouse; seconds per phase."""
    n = events * POSTS_PER_EVENT
    days = max(events / EVENTS_PER_DAY, 1.0)
    end = datetime.now(UTC) - timedelta(minutes=5)
    start = end - timedelta(days=days)
    step = (end - start).total_seconds() / n
    phases: dict[str, float] = {}

    def phase(name: str, *statements: str, params: dict | None = None) -> None:
        t = time.perf_counter()
        for s in statements:
            conn.execute(s, params)
        conn.commit()
        phases[name] = round(time.perf_counter() - t, 1)

    conn.execute("SET maintenance_work_mem = '256MB'")
    conn.execute("SET work_mem = '64MB'")
    conn.execute("SET synchronous_commit = off")
    tables = ("posts", "event_posts", "events", "storylines", "post_metrics", "post_versions", "channels",
              "channel_aliases")  # fmt: skip
    indexes = conn.execute(
        """SELECT ic.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x
           JOIN pg_class ic ON ic.oid = x.indexrelid
           JOIN pg_class tc ON tc.oid = x.indrelid AND tc.relnamespace = 'public'::regnamespace
           WHERE tc.relname = ANY(%s) AND NOT x.indisprimary AND NOT x.indisunique""",
        (list(tables),),
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    conn.commit()

    p = {"n": n, "k": POSTS_PER_EVENT, "c": CHANNELS, "tg": TELEGRAM_CHANNELS, "start": start,
         "step": step, "ph": PHRASES, "s": EVENTS_PER_STORYLINE}  # fmt: skip
    ch = "(1 + (hashint8(%s) & 2147483647) %%%% %%(c)s)"  # the channel of post i, the same wherever it is computed
    phase(
        "channels",
        """INSERT INTO channels (platform, channel_id, handle, title, watched, source, first_seen_at)
           SELECT CASE WHEN c <= %(tg)s THEN 'telegram' ELSE 'x' END, c, 'newsdesk_' || c,
                  CASE WHEN c %% 2 = 0 THEN 'Новости региона ' || c ELSE 'Regional Desk ' || c END, true,
                  CASE WHEN c <= %(tg)s THEN 'telethon' ELSE 'x_api' END, %(start)s
           FROM generate_series(1, %(c)s) c""",
        """INSERT INTO channel_aliases (platform, channel_id, handle, valid_from)
           SELECT platform, channel_id, handle, first_seen_at FROM channels""",
        params=p,
    )
    phase(
        "phrases",
        "CREATE TEMP TABLE phr (lang text, id int, txt text, PRIMARY KEY (lang, id))",
        f"""INSERT INTO phr
            SELECT l.lang, g, (SELECT string_agg(CASE WHEN random() < 0.3
                                   THEN l.w[1 + floor(array_length(l.w, 1) * random() ^ 2)::int + 0 * j]
                                   ELSE l.s[1 + (random() * 29)::int] || l.s[1 + (random() * 29)::int]
                                        || l.s[1 + (random() * 29)::int] END, ' ')
                               FROM generate_series(1, 8 + (g + length(l.lang)) %% 6) j)
            FROM (VALUES ('ru', {_words_sql(RU_WORDS)}, {_words_sql(RU_SYL)}),
                         ('en', {_words_sql(EN_WORDS)}, {_words_sql(EN_SYL)})) l(lang, w, s),
                 generate_series(0, %(ph)s - 1) g""",
        "ANALYZE phr",
        params=p,
    )
    phase(
        "posts",
        f"""INSERT INTO posts (platform, channel_id, post_id, posted_at, version_at, text, lang, url,
                               fwd_platform, fwd_channel_id, fwd_post_id, fwd_posted_at, views, forwards, reactions,
                               metrics_observed_at, content_hash, metrics_hash, row_hash, source, first_seen_at,
                               last_seen_at)
            SELECT g.platform, g.ch, g.i, g.t, g.t,
                   initcap(left(a.txt, 1)) || substr(a.txt, 2) || '. ' || b.txt || ', ' || (g.i %% 97 + 3)
                       || ' ' || c.txt || '.',
                   g.lang,
                   CASE WHEN g.platform = 'telegram' THEN 'https://t.me/newsdesk_' || g.ch || '/' || g.i
                        ELSE 'https://x.com/newsdesk_' || g.ch || '/status/' || g.i END,
                   CASE WHEN g.fwd THEN g.platform END, CASE WHEN g.fwd THEN g.origin_ch END,
                   CASE WHEN g.fwd THEN g.origin END, CASE WHEN g.fwd THEN g.t - interval '10 minutes' END,
                   (g.r1 * 37) %% 50000, g.r2 %% 300,
                   CASE WHEN g.platform = 'telegram' THEN jsonb_build_object('👍', g.r3 %% 200, '🔥', g.r1 %% 40) END,
                   g.t + interval '1 hour', g.i, g.i, g.i,
                   CASE WHEN g.platform = 'telegram' THEN 'telethon' ELSE 'x_api' END, g.t, g.t
            FROM (SELECT i, {ch % "i"} AS ch,
                         CASE WHEN {ch % "i"} <= %(tg)s THEN 'telegram' ELSE 'x' END AS platform,
                         %(start)s::timestamptz + make_interval(secs => (i - 1) * %(step)s + random() * %(step)s * 3)
                             AS t,
                         CASE WHEN (hashint8(i + 7) & 2147483647) %% 100 < 65 THEN 'ru' ELSE 'en' END AS lang,
                         (i - 1) %% %(k)s IN (3, 7) AS fwd,
                         ((i - 1) / %(k)s) * %(k)s + 1 AS origin, {ch % "(((i - 1) / %(k)s) * %(k)s + 1)"} AS origin_ch,
                         (random() * (%(ph)s - 1))::int AS r1, (random() * (%(ph)s - 1))::int AS r2,
                         (random() * (%(ph)s - 1))::int AS r3
                  FROM generate_series(1, %(n)s) i) g
            JOIN phr a ON a.lang = g.lang AND a.id = g.r1
            JOIN phr b ON b.lang = g.lang AND b.id = g.r2
            JOIN phr c ON c.lang = g.lang AND c.id = g.r3""",
        params=p,
    )
    phase(
        "versions_metrics",
        """INSERT INTO post_versions (platform, channel_id, post_id, version_at, content_hash, source_post_id, text,
                                      observed_at)
           SELECT platform, channel_id, post_id, posted_at, -post_id, post_id, 'Срочно: ' || text, posted_at
           FROM posts WHERE post_id %% 50 = 7
           UNION ALL
           SELECT platform, channel_id, post_id, posted_at + interval '20 minutes', content_hash, post_id, text,
                  posted_at + interval '25 minutes'
           FROM posts WHERE post_id %% 50 = 7""",
        """INSERT INTO post_metrics (platform, channel_id, post_id, observed_at, metrics_hash, views, forwards,
                                     reactions)
           SELECT p.platform, p.channel_id, p.post_id, p.posted_at + make_interval(hours => h * 2), p.post_id * 4 + h,
                  p.views * h / 3, p.forwards * h / 3, p.reactions
           FROM posts p, generate_series(1, 3) h WHERE p.post_id %% 10 = 1""",
        params=p,
    )
    phase(
        "event_posts",
        f"""INSERT INTO event_posts (platform, channel_id, post_id, event_id, assigned_event_id, posted_at, role,
                                     joined_by, similarity, content_hash, dup_key, vec_idx, vec_val, grouped_at)
            SELECT platform, channel_id, post_id, (post_id - 1) / %(k)s + 1, (post_id - 1) / %(k)s + 1, posted_at,
                   CASE WHEN (post_id - 1) %% %(k)s = 0 THEN 'origin' WHEN fwd_post_id IS NOT NULL THEN 'forward'
                        ELSE 'report' END,
                   CASE WHEN (post_id - 1) %% %(k)s = 0 THEN 'new' WHEN fwd_post_id IS NOT NULL THEN 'forward'
                        ELSE 'similar' END,
                   CASE WHEN (post_id - 1) %% %(k)s <> 0 THEN 0.3 + (post_id %% 60) / 100.0 END,
                   content_hash, hashint8(post_id), '{VEC}', '{VAL}', posted_at + interval '1 hour'
            FROM posts""",
        params=p,
    )
    phase(
        "events",
        f"""INSERT INTO events (event_id, storyline_id, assigned_storyline_id, first_post_at, last_post_at,
                                post_count, source_count, title, origin_platform, origin_channel_id, origin_post_id,
                                centroid_idx, centroid_val, created_at, updated_at)
            SELECT s.event_id, (s.event_id - 1) / %(s)s + 1, (s.event_id - 1) / %(s)s + 1, s.first_at, s.last_at,
                   s.posts, s.sources, left(split_part(o.text, '.', 1), 200), o.platform, o.channel_id, o.post_id,
                   '{VEC}', '{VAL}', s.first_at, s.last_at
            FROM (SELECT event_id, min(posted_at) AS first_at, max(posted_at) AS last_at, count(*) AS posts,
                         count(DISTINCT (platform, channel_id)) FILTER (WHERE role <> 'forward') AS sources
                  FROM event_posts GROUP BY event_id) s
            JOIN posts o ON o.post_id = (s.event_id - 1) * %(k)s + 1""",
        """INSERT INTO storylines (storyline_id, first_post_at, last_post_at, post_count, event_count, title,
                                   first_platform, first_channel_id, first_post_id)
           SELECT storyline_id, min(first_post_at), max(last_post_at), sum(post_count), count(*),
                  min(title), min(origin_platform), min(origin_channel_id), min(origin_post_id)
           FROM events GROUP BY storyline_id""",
        params=p,
    )
    t = time.perf_counter()
    for _, definition in indexes:
        conn.execute(definition)
    conn.commit()
    phases["indexes"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    conn.autocommit = True
    for table in tables:
        conn.execute(f"VACUUM ANALYZE {table}")
    conn.autocommit = False
    phases["vacuum_analyze"] = round(time.perf_counter() - t, 1)
    return phases


# ---------------------------------------------------------------------------------------------- measuring


def median_ms(fn: Callable[[], object], runs: int, warmups: int = 2) -> tuple[float, list[float]]:
    values = []
    for _ in range(warmups):
        t = time.perf_counter()
        fn()
        if (time.perf_counter() - t) * 1000 > SLOW_MS:
            runs = min(runs, 3)  # a missed target by far: three runs say so well enough
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        values.append((time.perf_counter() - t) * 1000)
    return statistics.median(values), values


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000, help=f"events ({POSTS_PER_EVENT} posts each)")
    ap.add_argument("--requests", type=int, default=20, help="timed requests per page (after 2 warm-ups)")
    ap.add_argument("--quick", action="store_true", help="10k events / 100k posts")
    ap.add_argument(
        "--keep", action="store_true", help="leave the generated warehouse in place (prints its DSN)"
    )
    ap.add_argument(
        "--dsn", help="measure a warehouse a previous --keep run left: upgrade it (timed), no build"
    )
    ap.add_argument("--pages", help="comma-separated subset of the pages to time (default all)")
    a = ap.parse_args(argv)
    if a.quick:
        a.events = 10_000
    print(f"console benchmark: {a.requests} requests per page after 2 warm-ups; load average at start "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    report = Report("console")
    if a.dsn:
        with psycopg.connect(a.dsn) as conn:
            t = time.perf_counter()
            applied = migrate.upgrade(conn)
            upgrade_s = time.perf_counter() - t
        print(f"  upgraded in {upgrade_s:.1f} s: {applied or 'nothing to apply'}")
        report.add(phase="upgrade", applied=",".join(applied), seconds=round(upgrade_s, 1))
        measure(a.dsn, a, report)
    else:
        with scratch_db("ww_bench_console", keep=a.keep) as dsn:
            with psycopg.connect(dsn) as conn:
                t = time.perf_counter()
                phases = build(conn, a.events)
                build_s = time.perf_counter() - t
            print(f"  built in {build_s:.0f} s: {phases}")
            report.add(phase="build", seconds=round(build_s, 1), **{f"{k}_s": v for k, v in phases.items()})
            measure(dsn, a, report)
    print(f"  saved {report.save()}")


def measure(dsn: str, a: argparse.Namespace, report: Report) -> None:
    from fastapi.testclient import TestClient

    from ingest.console import ConsoleSettings, create_app
    from ingest.console.app import LOOPBACK_HOSTS
    from ingest.console.routes import event_data, events_data, search_data

    logging.getLogger("ingest.console.access").setLevel(logging.WARNING)
    with psycopg.connect(dsn) as conn:
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
        posts, events, active, last_event = conn.execute(
            """SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM events),
                      (SELECT count(*) FROM events WHERE last_post_at >= now() - interval '24 hours'),
                      (SELECT max(event_id) FROM events)"""
        ).fetchone()
        matches = {w: _matches(conn, w) for w in (SEARCH_WORD, RARE_WORD)}
        # The channel of the newest post: a channel filter on a channel of ~1/1000 of the posts.
        channel = conn.execute(
            "SELECT c.handle FROM posts p JOIN channels c USING (platform, channel_id) ORDER BY p.posted_at DESC LIMIT 1"
        ).fetchone()[0]
    # An event of the last day whose 10 posts include an edited one (post_id % 50 = 7).
    eid = ((last_event - 10) // 5) * 5 + 1
    print(f"  {posts:,} posts, {events:,} events ({active:,} active in the last 24 h), {size}; "
          f"'{SEARCH_WORD}' in {matches[SEARCH_WORD]:,} posts, '{RARE_WORD}' in {matches[RARE_WORD]:,}")  # fmt: skip
    report.add(phase="warehouse", posts=posts, events=events, active_24h=active, size=size,
               common_matches=matches[SEARCH_WORD], rare_matches=matches[RARE_WORD])  # fmt: skip

    settings = ConsoleSettings(dsn=dsn, role=None, allowed_hosts=[*LOOPBACK_HOSTS, "testserver"])
    day_ago = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%MZ")

    def search_page(name: str, q: str, **filters: str) -> tuple[str, tuple[str, Callable]]:
        query = "&".join(f"{k}={v}" for k, v in {"q": q, **filters}.items())
        return name, (f"/search?{query}", lambda c: _search(c, search_data, q, **filters))

    pages = dict(
        [
            ("events", ("/events", lambda c: (events_data(c, **_EVENT_ARGS), wc.event_filter_choices(c)))),
            ("api_events", ("/api/events", lambda c: events_data(c, **_EVENT_ARGS))),
            ("event", (f"/events/{eid}", lambda c: event_data(c, wc.resolve_event(c, eid)))),
            ("api_event", (f"/api/events/{eid}", lambda c: event_data(c, wc.resolve_event(c, eid)))),
            search_page("search", SEARCH_WORD),
            search_page("search_rare", RARE_WORD),
            search_page("search_channel", SEARCH_WORD, channel=channel),
            search_page("search_rare_channel", RARE_WORD, channel=channel),
            search_page("search_since_24h", SEARCH_WORD, since=day_ago),
            search_page("search_page_5", SEARCH_WORD, offset="80"),
            search_page("search_rank", SEARCH_WORD, sort="rank"),
            search_page("search_rank_since_24h", SEARCH_WORD, sort="rank", since=day_ago),
            search_page("search_rank_rare", RARE_WORD, sort="rank"),
        ]
    )
    chosen = a.pages.split(",") if a.pages else list(pages)
    with TestClient(create_app(settings)) as client, psycopg.connect(dsn, autocommit=True) as direct:
        wc.configure_session(direct, None)
        for name in chosen:
            path, behind = pages[name]
            status = client.get(path).status_code  # 503 when the statement timeout (15 s) cut it short
            page_ms, page_runs = median_ms(lambda p=path: client.get(p), a.requests)
            try:
                sql_ms = median_ms(lambda b=behind: b(direct), a.requests)[0]
            except psycopg.errors.QueryCanceled:
                sql_ms = float("nan")
            target = TARGETS_MS.get(name)
            report.add(
                page=name, path=path, status=status, median_ms=round(page_ms, 1), min_ms=round(min(page_runs), 1),
                max_ms=round(max(page_runs), 1), sql_ms=round(sql_ms, 1), overhead_ms=round(page_ms - sql_ms, 1),
                target_ms=target, ratio_to_target=round(page_ms / target, 2) if target else None,
                met=(status == 200 and page_ms <= target) if target else None,
            )  # fmt: skip


def _matches(conn: psycopg.Connection, word: str) -> int:
    return conn.execute(
        "SELECT count(*) FROM posts WHERE search_vector @@ analyst.search_query(%s)", (word,)
    ).fetchone()[0]


_EVENT_ARGS = {"window": None, "until": None, "min_sources": 1, "platform": None, "lang": None, "channel": None,
               "storyline": None, "sort": "newest", "limit": 50, "offset": 0}  # fmt: skip


def _search(conn: psycopg.Connection, search_data, q: str, **filters: str):
    args = {"since": None, "until": None, "platform": None, "channel": None, "offset": 0, **filters}
    args["offset"] = int(args["offset"])
    return search_data(conn, q=q, limit=20, **args)


if __name__ == "__main__":
    main()
