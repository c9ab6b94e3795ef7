"""Load benchmark: wirewatch's loader against raw COPY of the same rows, dlt merge and pandas to_sql.

Rows are synthetic Telegram-like posts of ~1.9 KB (300-character text, ~1.3 KB raw JSON), as in
MEASURED_NOTES. The baseline COPYs exactly the rows wirewatch stores (the posts rows and their raw payload
rows) into identical tables, from tuples built before the clock starts; wirewatch's time includes hashing,
the unchanged-row check, building rows and committing every 5,000 rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
from datetime import datetime, timedelta, timezone

import orjson
import psycopg
from psycopg.copy import QueuedLibpqWriter

from bench.common import Report, dsn_url, median_of, scratch_db, timed
from ingest.models import Channel, Metrics, Post
from ingest.warehouse.loader import SOURCE_VERSION, Loader
from ingest.warehouse.post_rows import prepare, stage_row
from ingest.warehouse.post_sql import POST_COLS, RAW_COLS

BATCH = 5000
T0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
WORDS_EN = "nato summit ankara defense contracts billions russia ukraine drone strike oil depot kyiv minister".split()
WORDS_RU = "нато саммит анкара оборона контракты миллиарды россия украина дрон удар нефтебаза киев".split()


def make_posts(n: int, seed: int = 7) -> list[Post]:
    rng = random.Random(seed)
    channels = [Channel("telegram", 1_000_000 + c, f"chan{c}", f"Channel {c}") for c in range(50)]
    posts = []
    for i in range(n):
        ch = channels[i % len(channels)]
        words = WORDS_RU if i % 3 == 0 else WORDS_EN
        text = " ".join(rng.choice(words) for _ in range(45))[:300]
        posted = T0 + timedelta(seconds=i * 7)
        raw = {
            "_": "Message", "id": i, "peer_id": {"_": "PeerChannel", "channel_id": ch.channel_id},
            "date": posted.isoformat(), "message": text, "out": False, "mentioned": False, "post": True,
            "views": rng.randint(100, 100_000), "forwards": rng.randint(0, 500), "edit_date": None,
            "entities": [{"_": "MessageEntityUrl", "offset": 10, "length": 20}], "post_author": None,
            "media": {"_": "MessageMediaPhoto", "photo": {"_": "Photo", "id": rng.getrandbits(62), "dc_id": 2,
                      "sizes": [{"_": "PhotoSize", "type": t, "w": 800, "h": 600, "size": 50_000} for t in "msxy"]}},
            "reactions": {"_": "MessageReactions", "results": [{"emoticon": "👍", "count": rng.randint(0, 900)}]},
            "padding": "x" * 420,
        }  # fmt: skip
        posts.append(
            Post(
                platform="telegram",
                channel_id=ch.channel_id,
                post_id=i + 1,
                posted_at=posted,
                text=text,
                channel=ch,
                source="bench",
                metrics=Metrics(views=raw["views"], forwards=raw["forwards"]),
                # The payload arrives as JSON bytes (a file line, an HTTP body): kept as a pre-serialised fragment.
                observed_at=T0 + timedelta(days=30),
                raw=orjson.Fragment(orjson.dumps(raw)),
                url=f"https://t.me/{ch.handle}/{i + 1}",
            )  # fmt: skip
        )
    return posts


def edited(posts: list[Post], fraction: float, tag: int) -> list[Post]:
    step = int(1 / fraction)
    out = list(posts)
    for i in range(tag % step, len(out), step):
        p = out[i]
        later = p.posted_at + timedelta(hours=1 + tag)
        out[i] = dataclasses.replace(p, text=p.text + f" [upd {tag}]", edited_at=later, version_at=later)
    return out


def recounted(posts: list[Post], tag: int) -> list[Post]:
    """Every post observed again later with higher counts and the same text (an hourly re-fetch)."""
    later = timedelta(days=30, hours=tag)
    return [
        dataclasses.replace(p, metrics=Metrics(views=(p.metrics.views or 0) + tag, forwards=p.metrics.forwards),
                            observed_at=T0 + later)
        for p in posts
    ]  # fmt: skip


def wipe(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE posts, post_versions, post_metrics, raw_records, channels, channel_aliases CASCADE"
        )
        conn.execute("TRUNCATE copy_posts, copy_raw")
        conn.execute("CHECKPOINT")


def wirewatch_load(dsn: str, posts: list[Post]) -> None:
    with psycopg.connect(dsn) as conn:
        loader = Loader(conn)
        for i in range(0, len(posts), BATCH):
            loader.load_posts(posts[i : i + BATCH])
            conn.commit()


def copy_rows(posts: list[Post]) -> tuple[list[tuple], list[tuple]]:
    now = datetime.now(timezone.utc)
    n = len(POST_COLS)
    post_rows, raw_rows = [], []
    for pr in prepare(posts)[0]:
        r = stage_row(pr, now)
        post_rows.append(r[:n])
        raw_rows.append(
            (
                r[0],
                r[1],
                r[2],
                pr.state_hash,
                pr.row_hash,
                "bench",
                SOURCE_VERSION,
                None,
                r[POST_COLS.index("metrics_observed_at")],
                r[n + 1],
                None,
            )
        )
    return post_rows, raw_rows


def raw_copy(dsn: str, post_rows: list[tuple], raw_rows: list[tuple], queued: bool = False) -> None:
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        writer = (lambda: QueuedLibpqWriter(cur)) if queued else (lambda: None)
        with cur.copy(f"COPY copy_posts ({', '.join(POST_COLS)}) FROM STDIN", writer=writer()) as copy:
            for r in post_rows:
                copy.write_row(r)
        with cur.copy(f"COPY copy_raw ({', '.join(RAW_COLS)}) FROM STDIN", writer=writer()) as copy:
            for r in raw_rows:
                copy.write_row(r)
        conn.commit()


def _tool_url(dsn: str) -> str:
    # dlt insists on a password; a trust-auth server ignores it.
    return dsn_url(dsn, password_placeholder="unused")


def dlt_merge(dsn: str, posts: list[Post]) -> float:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt

    rows = [
        {"platform": p.platform, "channel_id": p.channel_id, "post_id": p.post_id, "posted_at": p.posted_at,
         "text": p.text, "url": p.url, "views": p.metrics.views, "forwards": p.metrics.forwards,
         "raw": orjson.loads(orjson.dumps(p.raw))}
        for p in posts
    ]  # fmt: skip
    pipe = dlt.pipeline(
        pipeline_name=f"ww_bench_{os.getpid()}", destination=dlt.destinations.postgres(credentials=_tool_url(dsn)),
        dataset_name="dlt_bench", pipelines_dir=f"/tmp/ww-dlt-{os.getpid()}",
    )  # fmt: skip

    @dlt.resource(name="posts", primary_key=("platform", "channel_id", "post_id"), write_disposition="merge")
    def resource():
        yield rows

    return timed(lambda: pipe.run(resource()))


def pandas_to_sql(dsn: str, posts: list[Post]) -> float:
    import orjson
    import pandas as pd
    import sqlalchemy

    df = pd.DataFrame(
        {"platform": p.platform, "channel_id": p.channel_id, "post_id": p.post_id, "posted_at": p.posted_at,
         "text": p.text, "url": p.url, "views": p.metrics.views, "forwards": p.metrics.forwards,
         "raw": orjson.dumps(p.raw).decode()}
        for p in posts
    )  # fmt: skip
    engine = sqlalchemy.create_engine(_tool_url(dsn).replace("postgresql://", "postgresql+psycopg://"))
    t = timed(
        lambda: df.to_sql(
            "pandas_posts", engine, if_exists="append", index=False, method="multi", chunksize=2000
        )
    )
    engine.dispose()
    return t


def run(sizes: list[int], repeats: int, peers_max: int) -> Report:
    report = Report("load")
    with scratch_db() as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE copy_posts (LIKE posts INCLUDING ALL)")
            conn.execute("CREATE TABLE copy_raw (LIKE raw_records INCLUDING ALL)")
        for n in sizes:
            bench_size(dsn, n, repeats, n <= peers_max, report)
    print(f"saved {report.save()}")
    return report


def bench_size(dsn: str, n: int, repeats: int, peers: bool, report: Report) -> None:
    posts = make_posts(n)
    post_rows, raw_rows = copy_rows(posts)
    print(f"load benchmark, {n:,} posts, median of {repeats}", flush=True)

    def baseline(queued: bool) -> float:
        wipe(dsn)
        return timed(lambda: raw_copy(dsn, post_rows, raw_rows, queued))

    def first() -> float:
        wipe(dsn)
        return timed(lambda: wirewatch_load(dsn, posts))

    # Two ways to COPY from Python: the default writer and psycopg's threaded one. The faster is the baseline.
    base_plain, _ = median_of(repeats, lambda: baseline(False))
    base_queued, _ = median_of(repeats, lambda: baseline(True))
    base = min(base_plain, base_queued)
    ours, _ = median_of(repeats, first)
    # The table now holds one clean load: re-runs below start from it.
    rerun, _ = median_of(repeats, lambda: timed(lambda: wirewatch_load(dsn, posts)))
    tags = iter(range(1, 100))
    one_pct, _ = median_of(
        repeats, lambda: timed(lambda: wirewatch_load(dsn, edited(posts, 0.01, next(tags))))
    )
    recount_tags = iter(range(1, 100))
    recount, _ = median_of(
        repeats, lambda: timed(lambda: wirewatch_load(dsn, recounted(posts, next(recount_tags))))
    )
    report.add(case="raw COPY, default writer", n=n, seconds=base_plain, rows_per_s=n / base_plain)
    report.add(case="raw COPY, threaded writer", n=n, seconds=base_queued, rows_per_s=n / base_queued)
    report.add(case="wirewatch first load", n=n, seconds=ours, rows_per_s=n / ours, vs_copy=base / ours)
    report.add(case="wirewatch re-run, unchanged", n=n, seconds=rerun, rows_per_s=n / rerun,
               faster_than_first=ours / rerun)  # fmt: skip
    report.add(case="wirewatch re-run, 1% edited", n=n, seconds=one_pct, rows_per_s=n / one_pct,
               faster_than_first=ours / one_pct)  # fmt: skip
    report.add(case="wirewatch re-run, new counts for every post", n=n, seconds=recount, rows_per_s=n / recount,
               faster_than_first=ours / recount)  # fmt: skip
    if not peers:
        return
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS dlt_bench CASCADE")
    dlt_t, _ = median_of(repeats, lambda: dlt_merge(dsn, posts))
    report.add(case="dlt merge (re-runs merge into the same table)", n=n, seconds=dlt_t,
               rows_per_s=n / dlt_t, wirewatch_speedup=dlt_t / ours)  # fmt: skip

    def pandas_once() -> float:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS pandas_posts")
        return pandas_to_sql(dsn, posts)

    pd_t, _ = median_of(repeats, pandas_once)
    report.add(case="pandas to_sql (append; not idempotent)", n=n, seconds=pd_t, rows_per_s=n / pd_t,
               wirewatch_speedup=pd_t / ours)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peers-max", type=int, default=100_000, help="largest size to run dlt and pandas on")
    args = ap.parse_args(argv)
    run([int(s) for s in args.sizes.split(",")], args.repeats, args.peers_max)


if __name__ == "__main__":
    main()
