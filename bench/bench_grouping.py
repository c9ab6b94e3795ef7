"""Grouping speed: N posts from scratch, then an hourly increment of M posts against the 72 h window.

Synthetic volume (speed only, not quality): posts from 500 channels over 72 h in EN/RU/UK, about 30 % of them
reports of one of ~N/20 stories (shared names, numbers, places), the rest unique noise, 5 % forwards.
Each run uses a fresh scratch database on the test server; prints the median of --runs runs (>= 3).

    .venv/bin/python bench/bench_grouping.py [--posts 100000] [--increment 5000] [--runs 3] [--dsn ADMIN_DSN]
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import time
from datetime import datetime, timedelta, timezone

import psycopg
from psycopg import sql

from ingest.events import group_window
from ingest.models import Post, PostRef
from ingest.warehouse import migrate
from ingest.warehouse.loader import Loader

WORDS_EN = "army drone strike missile port bridge plant energy grid talks summit sanctions minister president oil depot fire troops border city region".split()
WORDS_RU = "армия дрон удар ракета порт мост завод энергетика переговоры саммит санкции министр президент нефть склад пожар войска граница город область".split()
WORDS_UK = "армія дрон удар ракета порт міст завод енергетика переговори саміт санкції міністр президент нафта склад пожежа війська кордон місто область".split()
PLACES = "Kyiv Odesa Kharkiv Dnipro Lviv Moscow Belgorod Kursk Ankara Warsaw Berlin Paris Tikhoretsk Kherson Sumy".split()


def _vocab(rng: random.Random, syllables: list[str], k: int) -> list[str]:
    return ["".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(k)]


def synth(n: int, start: datetime, hours: float, seed: int, first_id: int = 1) -> list[Post]:
    rng = random.Random(seed)
    vocab = random.Random(99)
    # Zipf-like vocabularies of invented words, as varied as a real feed's.
    langs = [
        WORDS_EN + _vocab(vocab, "ka ri to me sa lo ne pu vi da ste gra mon tel".split(), 6000),
        WORDS_RU + _vocab(vocab, "ка ри то ме са ло не пу ви да сте гра мон тел".split(), 6000),
        WORDS_UK + _vocab(vocab, "ка рі то ме са ло не пу ві да сте гра мон тел".split(), 6000),
    ]
    stories = [
        (rng.sample(PLACES, 2), rng.sample(WORDS_EN, 4), rng.randint(2, 999), rng.uniform(0, hours))
        for _ in range(max(1, n // 20))
    ]
    out: list[Post] = []
    for i in range(n):
        ch = rng.randrange(500)
        if rng.random() < 0.3:
            places, words, num, t = rng.choice(stories)
            words = [rng.choice(langs[0][20:]) for _ in range(0)] + words
            at = start + timedelta(hours=min(hours - 1e-3, max(0.0, t + rng.uniform(-2, 2))))
            lang = rng.choice(langs)
            text = f"{places[0]}: {' '.join(rng.sample(lang, 5))} {num} {' '.join(words)} {places[1]}"
        else:
            at = start + timedelta(hours=rng.uniform(0, hours))
            lang = rng.choice(langs)
            text = (
                " ".join(rng.choices(lang[20:], k=rng.randint(8, 30)))
                + f" {rng.choice(PLACES)} {rng.randint(1, 10**6)}"
            )
        fwd = None
        if out and rng.random() < 0.05:
            src = rng.choice(out[-200:])
            if src.posted_at < at:
                fwd = PostRef("telegram", src.channel_id, src.post_id, posted_at=src.posted_at)
                text = src.text
        out.append(Post(platform="telegram", channel_id=10_000 + ch, post_id=first_id + i, posted_at=at, text=text,
                        forwarded_from=fwd, source="bench"))  # fmt: skip
    return out


def scratch(admin: str) -> tuple[str, str]:
    name = f"ww_bench_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    parts = conninfo_to_dict(admin)
    parts["dbname"] = name
    return name, make_conninfo(**parts)


def drop(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def one_run(admin: str, n: int, m: int, seed: int) -> dict[str, float]:
    name, dsn = scratch(admin)
    try:
        with psycopg.connect(dsn) as conn:
            migrate.upgrade(conn)
            conn.autocommit = False
            start = datetime(2026, 6, 23, tzinfo=timezone.utc)
            base = synth(n, start, 72.0, seed)
            Loader(conn).load(base)
            conn.commit()
            t = time.perf_counter()
            s1 = group_window(conn)
            full_s = time.perf_counter() - t
            inc = synth(m, start + timedelta(hours=72), 1.0, seed + 1, first_id=n + 1)
            Loader(conn).load(inc)
            conn.commit()
            t = time.perf_counter()
            s2 = group_window(conn, since=start + timedelta(hours=72) - timedelta(hours=72))
            inc_s = time.perf_counter() - t
            assert s1.posts == n and s2.posts == m and s2.mode == "incremental", (s1, s2)
            return {"full_s": full_s, "increment_s": inc_s, "events": s1.events_created}
    finally:
        drop(admin, name)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--increment", type=int, default=5_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dsn", default="host=127.0.0.1 port=5432 dbname=test")
    a = ap.parse_args()
    runs = [one_run(a.dsn, a.posts, a.increment, seed) for seed in range(a.runs)]
    full = statistics.median(r["full_s"] for r in runs)
    inc = statistics.median(r["increment_s"] for r in runs)
    print(f"{a.posts} posts from scratch: median {full:.1f} s ({a.posts / full:.0f} posts/s) over {a.runs} runs; "
          f"runs {[round(r['full_s'], 1) for r in runs]}")  # fmt: skip
    print(f"{a.increment}-post increment against the 72 h window: median {inc:.2f} s over {a.runs} runs; "
          f"runs {[round(r['increment_s'], 2) for r in runs]}")  # fmt: skip


if __name__ == "__main__":
    main()
