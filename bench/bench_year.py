"""A simulated year (issue 15 item 6): a watch list of Telegram channels run hour by hour through the real pass,
projected to a year: bytes per post after its rescan window, table sizes per month, load throughput as the
warehouse grows, and the analyst queries on a warehouse of one-year density.

The watch list: `--watchlist` channels (500) whose posting rates are skewed (log-normal, sigma 1) around a mean of
`--rate` posts a channel a day (150), with a daily rhythm (busiest around 11 UTC, ~4x the 23 UTC low). Posts are
Telethon `Message.to_dict()` records: the envelope and media of a real capture (../shared/data/telethon, channel
posts only) carrying the text of a real Russian news post (../shared/data/telegram_news_ru). Over its first 48 h a
post's views, forwards and reactions grow every hour; 3 % are edited once (within 6 h), 0.5 % deleted (within 40 h).

Four phases, each on its own scratch warehouse:

1. **Count-only rescans** (the issue's first target): `--cohort` posts of 8 channels loaded once, then 48 hourly
   rescans in which only their counts change. Bytes of every table after the first load and after the 48th.
2. **The simulation**: `--channels` channels of the watch list (a stratified sample: every k-th channel by rate, so
   their rates span the skew) for `--weeks` weeks on a simulated clock. Each hour, each channel: the replay
   source (`ingest/sources/replay.py`) over a capture rewritten for that hour (the channel's posts of the last
   48 h, as they are at that hour; deleted posts gone), passed through `ingest.run.channel.run_channel` with
   `since`/`until` the hour and `rescan_hours=48`, exactly as the hourly DAG calls it. Measured: seconds and
   records (new + rescanned) per hour; table sizes at every simulated midnight. Bytes per post after its rescan
   window = growth of each table (and of its indexes) between two midnights at least 2 days after the start,
   divided by the posts published between them: in the steady state the 48 h of posts still being rescanned is
   the same at both midnights, so the growth is what the finished posts cost.
3. **One-year density**: the full watch list's posts for `--history-days` days before the hour measured,
   bulk-synthesised in SQL (posts, post_versions, events of 5 posts, event_posts at the simulation's rates;
   post_metrics and raw_records at 2 and 1 rows a post: analysts' queries never read them, and their one-year
   size is projected from phase 2, not built), then the analyst queries timed on it: events of the last 24 h
   (the console's first page), one channel's month (every post of a median channel's last 30 days from
   analyst.posts), a search's first page (`analyst.search` newest first, a common word). They are timed at half
   the history and at the full history: queries bounded by an index on time cost the same at both, which is the
   ground for saying they cost that at a year. One simulated hour of the whole watch list is loaded (real pass)
   on top and its throughput compared with the same hour loaded into an empty warehouse.
4. **Dropping a month of raw payloads**: only when raw_records is partitioned (issue 15 item 3), else "n/a": on
   the one-year warehouse, after the load hours, the product's retention (`ingest.warehouse.partitions.maintain`
   with a 1-month horizon, two months after the history) is timed, and every other table's rows and bytes are
   compared before and after. Where the code has partitions, the bench also runs that maintenance (months ahead)
   on the simulated clock, as the hourly DAG does: at the start and at every simulated midnight.

Projection to a year: bytes per finished post (phase 2) x the watch list's posts a year (rate x channels x 365),
per table. Table sizes per month: with partitions, each partition's size; without, each month's share of the
rows' bytes (pg_column_size) applied to the table's size.

    python -m bench year [--quick]
    .venv/bin/python -m bench.bench_year [--channels 12] [--weeks 1] [--history-days 30] [--watchlist 500]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg

from bench.common import Report, scratch_db
from ingest.models import ChannelSpec
from ingest.run.channel import run_channel
from ingest.sources.replay import ReplaySource

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("WIREWATCH_SHARED_DATA", REPO.parent / "shared" / "data"))
START = datetime(2026, 10, 27, tzinfo=UTC)  # a week from here crosses into November: two months to report
RESCAN_HOURS = 48
MONTH_DAYS = 30
EDIT_SHARE = 0.03
DELETE_SHARE = 0.005
CHANNEL_ID_BASE = 3_000_000_000
TABLES = ("posts", "raw_records", "post_versions", "post_metrics", "event_posts", "events")
TARGETS = {"raw_after_48": 1.2, "post_year_vs_first": 3.0, "load_year_vs_empty": 0.8, "events_24h_ms": 150.0,
           "channel_month_ms": 200.0, "search_ms": 300.0}  # fmt: skip
SEARCH_WORD = "заявил"  # among the most common words of the Russian news texts


# ------------------------------------------------------------------------------------------------ the world


@dataclass
class SimPost:
    post_id: int
    posted_at: datetime
    template: int
    text: int
    views: int  # the count it tends to
    forwards: int
    edited_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass
class SimChannel:
    index: int  # rank in the watch list, busiest first
    channel_id: int
    rate: float  # posts a day
    popularity: float
    texts: list[str]
    posts: list[SimPost] = field(default_factory=list)
    next_id: int = 1000


def _rhythm() -> list[float]:
    raw = [1 + 0.6 * math.cos(2 * math.pi * (h - 11) / 24) for h in range(24)]
    mean = sum(raw) / 24
    return [r / mean for r in raw]


RHYTHM = _rhythm()


def watchlist_rates(n: int, mean: float, seed: int) -> list[float]:
    """Posts a day of each channel of the watch list, busiest first: log-normal (sigma 1), scaled to `mean`."""
    rng = random.Random(seed)
    rates = sorted((rng.lognormvariate(0, 1.0) for _ in range(n)), reverse=True)
    scale = mean * n / sum(rates)
    return [r * scale for r in rates]


def sample_indexes(n: int, k: int) -> list[int]:
    """k channels of n, evenly spread over the ranking (so the sample spans the skew)."""
    return sorted({min(n - 1, int((i + 0.5) * n / k)) for i in range(k)})


def load_templates() -> list[dict[str, Any]]:
    """Real channel posts (Telethon `to_dict()`): the envelopes and media the simulated posts wear."""
    out = []
    for path in sorted((SHARED / "telethon").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("_") == "Message" and rec.get("post") and not rec.get("grouped_id"):
                rec.update(reply_to=None, edit_date=None, entities=[], grouped_id=None)
                out.append(rec)
    if not out:
        raise SystemExit(f"no Telethon channel posts under {SHARED / 'telethon'}")
    return out


def load_texts() -> list[list[str]]:
    """The texts of each real Russian news channel (longest-running first)."""
    per_channel = []
    for path in sorted((SHARED / "telegram_news_ru").glob("*.jsonl")):
        texts = [t for t in (json.loads(x).get("message") for x in path.read_text().splitlines() if x) if t]
        if texts:
            per_channel.append(texts)
    if not per_channel:
        raise SystemExit(f"no texts under {SHARED / 'telegram_news_ru'}")
    return sorted(per_channel, key=len, reverse=True)


class World:
    """The simulated channels and their posts; `advance` publishes one hour's posts."""

    def __init__(self, rates: list[float], indexes: list[int], seed: int):
        self.rng = random.Random(seed + 1)
        self.templates = load_templates()
        texts = load_texts()
        self.channels = [
            SimChannel(
                i, CHANNEL_ID_BASE + i, rates[i], self.rng.lognormvariate(0, 0.8), texts[k % len(texts)]
            )
            for k, i in enumerate(indexes)
        ]

    def advance(self, hour_start: datetime) -> int:
        new = 0
        for ch in self.channels:
            expected = ch.rate / 24 * RHYTHM[hour_start.hour]
            # Telegram numbers a channel's posts in the order they are published: a rescan's id ranges rely on it.
            times = sorted(hour_start + timedelta(seconds=self.rng.uniform(0, 3599))
                           for _ in range(_poisson(self.rng, expected)))  # fmt: skip
            for at in times:
                views = int(self.rng.lognormvariate(math.log(6000 * ch.popularity), 0.7))
                post = SimPost(ch.next_id, at, self.rng.randrange(len(self.templates)),
                               self.rng.randrange(len(ch.texts)), views, int(views * self.rng.uniform(0.002, 0.02)))  # fmt: skip
                if self.rng.random() < EDIT_SHARE:
                    post.edited_at = at + timedelta(minutes=self.rng.uniform(5, 360))
                if self.rng.random() < DELETE_SHARE:
                    post.deleted_at = at + timedelta(hours=self.rng.uniform(1, 40))
                ch.next_id += 1
                ch.posts.append(post)
                new += 1
        return new

    def payload(self, ch: SimChannel, p: SimPost, now: datetime) -> dict[str, Any]:
        """The post as a rescan at `now` sees it: counts grown with its age, the edit if made by then."""
        rec = dict(self.templates[p.template])
        grown = 1 - math.exp(-max((now - p.posted_at).total_seconds(), 0) / 3600 / 8)
        text = ch.texts[p.text]
        edited = p.edited_at is not None and p.edited_at <= now
        if edited:
            text = text.rstrip() + "\n\nUPD: дополнено"
        rec.update(
            id=p.post_id, peer_id={"_": "PeerChannel", "channel_id": ch.channel_id}, date=_telethon_time(p.posted_at),
            message=text, views=max(1, int(p.views * grown)), forwards=int(p.forwards * grown),
            edit_date=_telethon_time(p.edited_at) if edited else None,
        )  # fmt: skip
        reactions = rec.get("reactions")
        if isinstance(reactions, dict) and reactions.get("results"):
            rec["reactions"] = {
                **reactions,
                "results": [{**r, "count": int((r.get("count") or 1) * grown * ch.popularity) + 1}
                            for r in reactions["results"]],
            }  # fmt: skip
        return rec

    def write_captures(self, folder: Path, now: datetime) -> int:
        """Each channel's capture as of `now`: its posts of the last 48 h (and the hour before, for the window's
        edge), deleted ones gone. Returns the records written."""
        since = now - timedelta(hours=RESCAN_HOURS + 1)
        written = 0
        for ch in self.channels:
            while ch.posts and ch.posts[0].posted_at < since - timedelta(hours=1):
                ch.posts.pop(0)  # finished: never fetched again
            live = [p for p in ch.posts if p.posted_at < now and (p.deleted_at is None or p.deleted_at > now)]
            with (folder / f"c{ch.index}.jsonl").open("wb") as fh:
                for p in live:
                    if p.posted_at >= since:
                        fh.write(orjson.dumps(self.payload(ch, p, now)) + b"\n")
                        written += 1
                if not live:
                    fh.write(b"")
        return written

    def specs(self, folder: Path) -> list[ChannelSpec]:
        return [
            ChannelSpec("telegram", f"sim{ch.index}", "replay", ch.channel_id, f"Simulated {ch.index}",
                        options={"replay_path": str(folder / f"c{ch.index}.jsonl"), "replay_format": "telethon-jsonl"})
            for ch in self.channels
        ]  # fmt: skip


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _telethon_time(dt: datetime | None) -> str | None:
    return dt.strftime("%Y-%m-%d %H:%M:%S.000000") if dt else None


# ---------------------------------------------------------------------------------------- the real pass


@dataclass
class HourResult:
    at: datetime
    records: int
    seconds: float
    inserted: int
    metrics: int

    @property
    def per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


def run_hour(conn: psycopg.Connection, world: World, folder: Path, now: datetime) -> HourResult:
    """Publish the hour ending at `now`, rewrite the captures, and run every channel's hourly pass."""
    world.advance(now - timedelta(hours=1))
    records = world.write_captures(folder, now)
    source = ReplaySource("telegram", now=now)  # a new source: the replay source caches a capture per path
    inserted = metrics = 0
    t = time.perf_counter()
    for spec in world.specs(folder):
        s = run_channel(conn, spec, source, since=now - timedelta(hours=1), until=now, rescan_hours=RESCAN_HOURS,
                        now=now, kind="ingest")  # fmt: skip
        if s.status != "succeeded":
            raise RuntimeError(f"{spec.handle} at {now}: {s.status} {s.error}")
        inserted += s.stats.inserted
        metrics += s.stats.metrics
    seconds = time.perf_counter() - t
    _vacuum_posts(conn)
    return HourResult(now, records, seconds, inserted, metrics)


def _vacuum_posts(conn: psycopg.Connection) -> None:
    """What autovacuum does between two real hours (and this server, which runs with autovacuum off, never does):
    every rescan updates the counts of 48 h of posts, and without a vacuum the dead rows bloat `posts` ~25x;
    without an analyze the planner keeps the plans of an empty warehouse as it grows. Not timed."""
    conn.commit()
    conn.autocommit = True
    try:
        conn.execute("VACUUM (ANALYZE)")
    finally:
        conn.autocommit = False


# ------------------------------------------------------------------------------------------------ sizes


def sizes(conn: psycopg.Connection) -> dict[str, tuple[int, int]]:
    """(table bytes with TOAST, index bytes) of every table of the warehouse (a partitioned one sums its
    partitions), the six of `TABLES` first."""
    rows = conn.execute(
        """SELECT p.relname,
                  coalesce(sum(pg_table_size(c.oid)), 0), coalesce(sum(pg_indexes_size(c.oid)), 0)
           FROM pg_class p
           JOIN LATERAL (SELECT p.oid AS relid WHERE p.relkind = 'r'
                         UNION ALL SELECT relid FROM pg_partition_tree(p.oid) WHERE p.relkind = 'p') t ON true
           JOIN pg_class c ON c.oid = t.relid AND c.relkind = 'r'
           WHERE p.relnamespace = 'public'::regnamespace AND p.relkind IN ('r', 'p') AND NOT p.relispartition
           GROUP BY p.relname"""
    ).fetchall()
    found = {name: (int(t), int(i)) for name, t, i in rows}
    return {**{t: found.get(t, (0, 0)) for t in TABLES}, **dict(sorted(found.items()))}


def is_partitioned(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = %s::regclass", (table,)).fetchone()[0]


_MONTH_OF = {"posts": "posted_at", "raw_records": "fetched_at", "post_versions": "version_at",
             "post_metrics": "observed_at", "event_posts": "posted_at", "events": "first_post_at"}  # fmt: skip


def sizes_by_month(conn: psycopg.Connection) -> dict[str, dict[str, int]]:
    """Bytes (table + indexes) per month per table: partitions' own sizes when partitioned, else each month's
    share of the rows' bytes applied to the table's whole size."""
    whole = sizes(conn)
    out: dict[str, dict[str, int]] = {}
    for table, col in _MONTH_OF.items():
        total = sum(whole[table])
        if is_partitioned(conn, table):
            rows = conn.execute(
                """SELECT pg_get_expr(c.relpartbound, c.oid), pg_table_size(c.oid) + pg_indexes_size(c.oid),
                          c.reltuples > 0
                   FROM pg_partition_tree(%s::regclass) t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf""",
                (table,),
            ).fetchall()
            out[table] = {bound: int(b) for bound, b, filled in sorted(rows) if filled}
            continue
        rows = conn.execute(
            f"SELECT to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM'), sum(pg_column_size(t.*)) FROM {table} t GROUP BY 1"
        ).fetchall()
        share = sum(int(b) for _, b in rows) or 1
        out[table] = {m: int(total * int(b) / share) for m, b in sorted(rows)}
    return out


def _mb(b: float) -> float:
    return round(b / 1e6, 2)


# ------------------------------------------------------------------------------------- phase 1: count-only


def count_only(report: Report, n_posts: int, rescans: int = RESCAN_HOURS) -> dict[str, float]:
    """Load `n_posts` once, then `rescans` hourly rescans (48) where only counts change: bytes per table, before
    and after. The posts are published in the hour before the first load, so the last hour's rescan window
    (the 48 h before it) no longer holds them: each post is rescanned 47 times after its first load."""
    # Every post of the cohort is published in the hour before the first load (whatever that hour's rhythm).
    rates = [n_posts / 8 * 24 / RHYTHM[(START - timedelta(hours=1)).hour]] * 8
    with scratch_db("ww_bench_year1") as dsn, tempfile.TemporaryDirectory(prefix="ww-year1-") as tmp:
        folder = Path(tmp)
        world = World(rates, list(range(8)), seed=15)
        t0 = START
        with psycopg.connect(dsn) as conn:
            maintain_partitions(conn, t0)
            world.advance(t0 - timedelta(hours=1))
            for ch in world.channels:
                for p in ch.posts:
                    p.edited_at = p.deleted_at = None  # counts only
            posts = sum(len(ch.posts) for ch in world.channels)
            empty = sizes(conn)
            _pass(conn, world, folder, t0)
            first = _minus(sizes(conn), empty)
            for h in range(1, rescans + 1):
                _pass(conn, world, folder, t0 + timedelta(hours=h))
            after = _minus(sizes(conn), empty)
            metrics_rows = conn.execute("SELECT count(*) FROM post_metrics").fetchone()[0] / max(posts, 1)
            raw_copies = conn.execute("SELECT count(*) FROM raw_records").fetchone()[0] / max(posts, 1)
    first_total = sum(sum(v) for v in first.values())
    after_total = sum(sum(v) for v in after.values())
    ratio_raw = sum(after["raw_records"]) / max(sum(first["raw_records"]), 1)
    print(f"  count-only: {posts} posts, first load then {rescans} hourly rescans that change counts only")
    for table in TABLES[:4]:
        report.add(phase="count_only", table=table, first_load_mb=_mb(sum(first[table])),
                   after_48_mb=_mb(sum(after[table])),
                   ratio=round(sum(after[table]) / sum(first[table]), 2) if sum(first[table]) > 0 else None)  # fmt: skip
    report.add(phase="count_only", table="raw_records (target)", raw_rows_per_post=round(raw_copies, 1),
               metrics_rows_per_post=round(metrics_rows, 1),
               ratio=round(ratio_raw, 2), target=f"<= {TARGETS['raw_after_48']}",
               met=0 < ratio_raw <= TARGETS["raw_after_48"])  # fmt: skip
    report.add(phase="count_only", table="all tables", first_load_bytes_per_post=round(first_total / posts),
               after_48_bytes_per_post=round(after_total / posts), ratio=round(after_total / first_total, 2))  # fmt: skip
    return {"first_bytes_per_post": first_total / posts, "after_bytes_per_post": after_total / posts}


def _minus(a: dict[str, tuple[int, int]], b: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    return {k: (v[0] - b.get(k, (0, 0))[0], v[1] - b.get(k, (0, 0))[1]) for k, v in a.items()}


def _pass(conn: psycopg.Connection, world: World, folder: Path, now: datetime) -> None:
    world.write_captures(folder, now)
    source = ReplaySource("telegram", now=now)
    for spec in world.specs(folder):
        s = run_channel(conn, spec, source, since=now - timedelta(hours=1), until=now, rescan_hours=RESCAN_HOURS,
                        now=now, kind="ingest")  # fmt: skip
        if s.status != "succeeded":
            raise RuntimeError(f"{spec.handle}: {s.status} {s.error}")
    _vacuum_posts(conn)


# ------------------------------------------------------------------------------------ phase 2: simulation


def simulate(report: Report, a: argparse.Namespace, rates: list[float], first_bpp: float) -> dict[str, Any]:
    indexes = sample_indexes(len(rates), a.channels)
    sample_rate = sum(rates[i] for i in indexes)
    hours = int(a.weeks * 7 * 24)
    print(f"  simulation: {len(indexes)} of {len(rates)} channels ({sample_rate:.0f} posts a day; the watch list "
          f"{sum(rates):.0f}), {hours} hours from {START:%Y-%m-%d}")  # fmt: skip
    results: list[HourResult] = []
    midnights: list[tuple[datetime, dict[str, tuple[int, int]], int]] = []
    with (
        scratch_db("ww_bench_year2", keep=a.keep) as dsn,
        tempfile.TemporaryDirectory(prefix="ww-year2-") as tmp,
    ):
        folder = Path(tmp)
        world = World(rates, indexes, seed=a.seed)
        with psycopg.connect(dsn) as conn:
            maintain_partitions(conn, START)
            for h in range(1, hours + 1):
                now = START + timedelta(hours=h)
                results.append(run_hour(conn, world, folder, now))
                if now.hour == 0:
                    maintain_partitions(conn, now)  # as the hourly DAG's maintenance task, untimed
                    posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
                    midnights.append((now, sizes(conn), posts))
                    day = results[-24:]
                    print(f"    {now:%Y-%m-%d}: {posts:,} posts, {sum(r.records for r in day):,} records this day "
                          f"in {sum(r.seconds for r in day):.0f} s", flush=True)  # fmt: skip
            by_month = sizes_by_month(conn)
            monthly_posts = dict(conn.execute(
                "SELECT to_char(posted_at AT TIME ZONE 'UTC', 'YYYY-MM'), count(*) FROM posts GROUP BY 1").fetchall())  # fmt: skip
            final = sizes(conn)
            counts = conn.execute(
                """SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM raw_records),
                          (SELECT count(*) FROM post_metrics), (SELECT count(*) FROM post_versions),
                          (SELECT count(*) FROM posts WHERE deleted_at IS NOT NULL)"""
            ).fetchone()
    if a.keep:
        print(f"    kept: {dsn}")
    n_posts, n_raw, n_metrics, n_versions, n_deleted = counts
    report.add(phase="simulation", channels=len(indexes), hours=hours, posts=n_posts, raw_rows=n_raw,
               metrics_rows=n_metrics, version_rows=n_versions, deleted=n_deleted,
               raw_rows_per_post=round(n_raw / max(n_posts, 1), 1),
               metrics_rows_per_post=round(n_metrics / max(n_posts, 1), 1))  # fmt: skip

    # Bytes per finished post: growth between the first midnight at least 2 days in and the last one.
    steady = [m for m in midnights if m[0] >= START + timedelta(days=2, hours=1)]
    per_post: dict[str, tuple[float, float]] = {}
    if len(steady) >= 2:
        (t1, s1, p1), (t2, s2, p2) = steady[0], steady[-1]
        grown = max(p2 - p1, 1)
        for table, (t, i) in s2.items():
            before = s1.get(table, (0, 0))
            per_post[table] = ((t - before[0]) / grown, (i - before[1]) / grown)
        method = f"growth {t1:%m-%d} -> {t2:%m-%d} / {grown:,} posts"
    else:  # too short a run for a steady state: whole sizes over posts (in-window posts counted as finished)
        for table, (t, i) in final.items():
            per_post[table] = (t / max(n_posts, 1), i / max(n_posts, 1))
        method = "whole size / posts (run too short for a steady state)"
    total_pp = sum(t + i for t, i in per_post.values())
    others = [k for k in per_post if k not in TABLES]
    per_post["others"] = (sum(per_post[k][0] for k in others), sum(per_post[k][1] for k in others))
    for table in (*TABLES, "others"):
        t, i = per_post[table]
        report.add(phase="bytes_per_post", table=table, table_bytes=round(t), index_bytes=round(i),
                   total=round(t + i), method=method if table == "posts" else "")  # fmt: skip
    print(f"    others: {', '.join(others)}")
    ratio_year = total_pp / first_bpp if first_bpp else float("nan")
    report.add(phase="bytes_per_post", table="all", total=round(total_pp), first_load_bytes_per_post=round(first_bpp),
               ratio=round(ratio_year, 2), target=f"<= {TARGETS['post_year_vs_first']}",
               met=ratio_year <= TARGETS["post_year_vs_first"])  # fmt: skip

    posts_year = sum(rates) * 365
    for table in (*TABLES, "others"):
        report.add(phase="projected_year", table=table, posts_a_year=round(posts_year),
                   gb=round(sum(per_post[table]) * posts_year / 1e9, 1))  # fmt: skip
    report.add(phase="projected_year", table="all", posts_a_year=round(posts_year),
               gb=round(total_pp * posts_year / 1e9, 1),
               method="bytes per finished post x watch-list posts a year")  # fmt: skip
    for month in sorted(monthly_posts):
        row = {
            t: _mb(by_month.get(t, {}).get(month, 0)) for t in TABLES if not is_partitioned_name(by_month, t)
        }
        report.add(phase="month_mb", month=month, posts_published=monthly_posts[month], **row)
    for t, parts in by_month.items():
        if is_partitioned_name(by_month, t):
            for bound, b in parts.items():
                report.add(phase="month_mb", table=t, partition=bound, mb=_mb(b))

    # Throughput: the first steady day against the last day (same hours of the day, same rhythm).
    first_day = [r for r in results if START + timedelta(days=2) < r.at <= START + timedelta(days=3)]
    last_day = results[-24:]
    if not first_day or len(results) < 24 * 4:
        first_day = results[: max(1, len(results) // 4)]
        last_day = results[-max(1, len(results) // 4) :]
    f_rate = sum(r.records for r in first_day) / sum(r.seconds for r in first_day)
    l_rate = sum(r.records for r in last_day) / sum(r.seconds for r in last_day)
    report.add(phase="throughput", window=f"{first_day[0].at:%m-%d %H}h..{first_day[-1].at:%m-%d %H}h",
               records_per_s=round(f_rate), median_hour_s=round(statistics.median(r.seconds for r in first_day), 2))  # fmt: skip
    report.add(phase="throughput", window=f"{last_day[0].at:%m-%d %H}h..{last_day[-1].at:%m-%d %H}h",
               records_per_s=round(l_rate), median_hour_s=round(statistics.median(r.seconds for r in last_day), 2),
               ratio_to_first=round(l_rate / f_rate, 2))  # fmt: skip
    return {"per_post": per_post, "sample_indexes": indexes}


def is_partitioned_name(by_month: dict[str, dict[str, int]], table: str) -> bool:
    return any(k.startswith("FOR VALUES") or k == "DEFAULT" for k in by_month.get(table, {}))


# ------------------------------------------------------------------------- phase 3: one-year density


def synthesise_history(conn: psycopg.Connection, rates: list[float], start: datetime, end: datetime,
                       first_id: int, only: list[int] | None = None) -> int:  # fmt: skip
    """The full watch list's posts in [start, end), set-based: posts copied (text, media, shape) from the posts
    the real pass stored in the template channels, with their channel's rate and the daily rhythm; 3 % with an
    edit (two versions), two metrics rows and one raw payload a post, events of 5 posts. `only`: just those
    channels (by rank). Returns posts made."""
    days = (end - start).total_seconds() / 86400
    n_per_channel = [max(1, round(r * days)) if only is None or i in only else 0 for i, r in enumerate(rates)]
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET work_mem = '64MB'")
    conn.execute("""CREATE TEMP TABLE wl (idx int, channel_id bigint, n int, offs bigint) ON COMMIT DROP""")
    offs = 0
    rows = []
    for i, n in enumerate(n_per_channel):
        if n:
            rows.append((i, CHANNEL_ID_BASE + i, n, offs))
        offs += n
    with conn.cursor().copy("COPY wl FROM STDIN") as cp:
        for r in rows:
            cp.write_row(r)
    conn.execute(
        """INSERT INTO channels (platform, channel_id, handle, title, watched, source)
           SELECT 'telegram', channel_id, 'sim' || idx, 'Simulated ' || idx, true, 'replay' FROM wl
           ON CONFLICT DO NOTHING"""
    )
    conn.execute(
        "CREATE TEMP TABLE tpl ON COMMIT DROP AS SELECT row_number() OVER (ORDER BY channel_id, post_id) - 1 AS k, * FROM posts"
    )
    n_tpl = conn.execute("SELECT count(*) FROM tpl").fetchone()[0]
    # The daily rhythm as a time warp: post j of n lands where the cumulative rhythm reaches j/n of the day.
    span = (end - start).total_seconds()
    conn.execute(
        """CREATE TEMP TABLE newp ON COMMIT DROP AS
           SELECT w.channel_id, %(first)s + w.offs + g AS post_id,
                  %(start)s::timestamptz + make_interval(secs => %(span)s * (g + random()) / w.n) AS posted_at,
                  (hashint8(w.offs + g) & 2147483647) %% %(ntpl)s AS k
           FROM wl w, generate_series(0, w.n - 1) g""",
        {"first": first_id, "start": start, "span": span, "ntpl": n_tpl},
    )
    cols = [r[0] for r in conn.execute(
        """SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'posts'
           AND is_generated = 'NEVER' ORDER BY ordinal_position""").fetchall()]  # fmt: skip
    override = {"channel_id": "n.channel_id", "post_id": "n.post_id", "posted_at": "n.posted_at",
                "version_at": "n.posted_at", "edited_at": "NULL", "metrics_observed_at": "n.posted_at + interval '48 hours'",
                "first_seen_at": "n.posted_at", "last_seen_at": "n.posted_at + interval '48 hours'", "deleted_at": "NULL",
                "url": "'https://t.me/sim' || n.channel_id || '/' || n.post_id", "source_post_id": "n.post_id",
                "row_hash": "hashint8(n.post_id)", "content_hash": "t.content_hash # n.post_id"}  # fmt: skip
    select = ", ".join(override.get(c, f"t.{c}") for c in cols)
    conn.execute(f"INSERT INTO posts ({', '.join(cols)}) SELECT {select} FROM newp n JOIN tpl t USING (k)")
    conn.execute(
        """INSERT INTO post_versions (platform, channel_id, post_id, version_at, content_hash, source_post_id, text,
                                      media, observed_at)
           SELECT 'telegram', n.channel_id, n.post_id, n.posted_at + v * interval '40 minutes', t.content_hash # n.post_id # v,
                  n.post_id, t.text, t.media, n.posted_at + v * interval '45 minutes'
           FROM newp n JOIN tpl t USING (k), generate_series(0, 1) v WHERE n.post_id % 33 = 0"""
    )
    conn.execute(
        """INSERT INTO post_metrics (platform, channel_id, post_id, observed_at, metrics_hash, views, forwards,
                                     reactions)
           SELECT 'telegram', n.channel_id, n.post_id, n.posted_at + h * interval '24 hours', hashint8(n.post_id + h),
                  t.views * h / 2, t.forwards * h / 2, t.reactions
           FROM newp n JOIN tpl t USING (k), generate_series(1, 2) h"""
    )
    has_raw = conn.execute("SELECT count(*) FROM raw_records").fetchone()[0] > 0
    if has_raw:
        raw_cols = [r[0] for r in conn.execute(
            """SELECT column_name FROM information_schema.columns WHERE table_schema = 'public'
               AND table_name = 'raw_records' AND is_generated = 'NEVER' ORDER BY ordinal_position""").fetchall()]  # fmt: skip
        raw_override = {"channel_id": "n.channel_id", "post_id": "n.post_id", "row_hash": "hashint8(n.post_id)",
                        "fetched_at": "n.posted_at", "first_seen_at": "n.posted_at", "last_seen_at": "n.posted_at"}  # fmt: skip
        raw_select = ", ".join(raw_override.get(c, f"r.{c}") for c in raw_cols)
        conn.execute(
            f"""INSERT INTO raw_records ({", ".join(raw_cols)})
                SELECT DISTINCT ON (n.post_id) {raw_select}
                FROM newp n JOIN tpl t USING (k) JOIN raw_records r
                  ON r.platform = t.platform AND r.channel_id = t.channel_id AND r.post_id = t.post_id
                ORDER BY n.post_id"""
        )
    made = conn.execute("SELECT count(*) FROM newp").fetchone()[0]
    ev0 = conn.execute("SELECT coalesce(max(event_id), 0) FROM events").fetchone()[0]
    conn.execute(
        """CREATE TEMP TABLE ev ON COMMIT DROP AS
           SELECT n.channel_id, n.post_id, n.posted_at, t.content_hash,
                  %(ev0)s + 1 + (row_number() OVER (ORDER BY n.posted_at) - 1) / 5 AS event_id,
                  (row_number() OVER (ORDER BY n.posted_at) - 1) %% 5 AS pos
           FROM newp n JOIN tpl t USING (k)""",
        {"ev0": ev0},
    )
    conn.execute(
        """INSERT INTO event_posts (platform, channel_id, post_id, event_id, assigned_event_id, posted_at, role,
                                    joined_by, similarity, content_hash, dup_key, grouped_at)
           SELECT 'telegram', channel_id, post_id, event_id, event_id, posted_at,
                  CASE WHEN pos = 0 THEN 'origin' ELSE 'report' END, CASE WHEN pos = 0 THEN 'new' ELSE 'similar' END,
                  CASE WHEN pos > 0 THEN 0.4 END, content_hash, hashint8(post_id), posted_at + interval '1 hour'
           FROM ev"""
    )
    conn.execute(
        """INSERT INTO events (event_id, storyline_id, assigned_storyline_id, first_post_at, last_post_at, post_count,
                               source_count, title, origin_platform, origin_channel_id, origin_post_id,
                               created_at, updated_at)
           SELECT e.event_id, e.event_id / 20 + 1, e.event_id / 20 + 1, min(e.posted_at), max(e.posted_at), count(*),
                  count(DISTINCT e.channel_id), 'Event ' || e.event_id, 'telegram',
                  (array_agg(e.channel_id ORDER BY e.pos))[1], (array_agg(e.post_id ORDER BY e.pos))[1],
                  min(e.posted_at), max(e.posted_at)
           FROM ev e GROUP BY e.event_id"""
    )
    conn.execute(
        """INSERT INTO storylines (storyline_id, first_post_at, last_post_at, post_count, event_count, title,
                                   first_platform, first_channel_id, first_post_id)
           SELECT storyline_id, min(first_post_at), max(last_post_at), sum(post_count), count(*), min(title),
                  'telegram', min(origin_channel_id), min(origin_post_id)
           FROM events WHERE event_id > %s GROUP BY storyline_id
           ON CONFLICT (storyline_id) DO NOTHING""",
        (ev0,),
    )
    conn.commit()
    return made


def vacuum_analyze(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in (*TABLES, "storylines", "channels"):
            conn.execute(f"VACUUM ANALYZE {table}")


def time_queries(dsn: str, now: datetime, month_channels: dict[str, int], runs: int) -> dict[str, float]:
    """Medians (ms) of the analyst reads, on a read-only connection set up like the console's:
    `month_channels` names the channels whose last 30 days are read (name -> channel id)."""
    from ingest.warehouse import console as wc

    with psycopg.connect(dsn, autocommit=True) as conn:
        wc.configure_session(conn, None)

        def events_24h() -> list:
            return wc.list_events(conn, since=now - timedelta(hours=24), until=None, limit=50)

        def channel_month(channel_id: int) -> list:
            return conn.execute(
                """SELECT post_id, url, posted_at, edited_at, versions, lang, text, is_forward, views, forwards,
                          reactions_total, deleted_at
                   FROM analyst.posts WHERE platform = 'telegram' AND channel_id = %s
                     AND posted_at >= %s AND posted_at < %s ORDER BY posted_at""",
                (channel_id, now - timedelta(days=30), now),
            ).fetchall()

        def search() -> list:
            return wc.search(conn, SEARCH_WORD, limit=21)

        reads = {"events_24h_ms": events_24h, "search_ms": search}
        for name, cid in month_channels.items():
            reads[f"{name}_ms"] = lambda c=cid: channel_month(c)
        out: dict[str, float] = {}
        for name, fn in reads.items():
            fn()
            fn()
            values = []
            for _ in range(runs):
                t = time.perf_counter()
                rows = fn()
                values.append((time.perf_counter() - t) * 1000)
            out[name] = statistics.median(values)
            out[name.replace("_ms", "_rows")] = len(rows)
    return out


def one_year(report: Report, a: argparse.Namespace, rates: list[float]) -> None:
    """A warehouse of one-year density: the full watch list for the last `--history-days` of a month, and a whole
    month of the two channels whose month is read (the median one and the busiest); the queries timed at half
    and at the whole dense history. Then hours of the sampled channels loaded on top of it, alternately with the
    same hours loaded into an empty warehouse."""
    hist_end = START + timedelta(days=MONTH_DAYS)
    dense_start = hist_end - timedelta(days=min(a.history_days, MONTH_DAYS))
    median, busiest = len(rates) // 2, 0
    month_channels = {
        "channel_month": CHANNEL_ID_BASE + median,
        "busiest_channel_month": CHANNEL_ID_BASE + busiest,
    }
    with (
        scratch_db("ww_bench_year3", keep=a.keep) as dsn,
        tempfile.TemporaryDirectory(prefix="ww-year3-") as tmp,
    ):
        folder = Path(tmp)
        with psycopg.connect(dsn) as conn:
            # Templates: a few hours of the real pass over 20 channels (rows exactly as the loader writes them).
            tpl_world = World(rates, sample_indexes(len(rates), 20), seed=a.seed + 7)
            maintain_partitions(conn, START - timedelta(days=400))
            maintain_partitions(conn, START)
            for h in range(1, 4):
                run_hour(conn, tpl_world, folder, START - timedelta(days=400) + timedelta(hours=h))
            next_id = 10_000_000
            made = 0
            if dense_start > START:
                t = time.perf_counter()
                made = synthesise_history(conn, rates, START, dense_start, next_id, only=[median, busiest])
                next_id += made + 1
                print(f"    the month's first {(dense_start - START).days} days of 2 channels: {made:,} posts in "
                      f"{time.perf_counter() - t:.0f} s", flush=True)  # fmt: skip
            mid = dense_start + (hist_end - dense_start) / 2
            for s, e in ((dense_start, mid), (mid, hist_end)):
                t = time.perf_counter()
                n = synthesise_history(conn, rates, s, e, next_id)
                next_id += n + 1
                made += n
                build_s = time.perf_counter() - t
                vacuum_analyze(dsn)
                db_size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
                q = time_queries(dsn, e, month_channels, a.requests)
                report.add(phase="queries", dense_days=round((e - dense_start).total_seconds() / 86400, 1),
                           posts=made, db_gb=round(db_size / 1e9, 2), build_s=round(build_s),
                           **{k2: round(v, 1) for k2, v in q.items()})  # fmt: skip
            for name in ("events_24h_ms", "channel_month_ms", "busiest_channel_month_ms", "search_ms"):
                target = TARGETS[name.replace("busiest_", "")]
                report.add(phase="queries_target", query=name, rows=q[name.replace("_ms", "_rows")],
                           median_ms=round(q[name], 1), target_ms=target, met=q[name] <= target)  # fmt: skip
        # Hours of the sampled channels through the real pass, on top of the history and into an empty
        # warehouse, alternately (the same posts in both: same seed), so that the box's load drifts over both.
        sample = sample_indexes(len(rates), a.channels)
        with (
            scratch_db("ww_bench_year4") as empty_dsn,
            tempfile.TemporaryDirectory(prefix="ww-year4-") as tmp2,
        ):
            at = hist_end + timedelta(hours=11)  # the busiest hour of the day
            sides = {"empty": (empty_dsn, Path(tmp2)), "history": (dsn, folder)}
            worlds = {k: World(rates, sample, seed=a.seed + 99) for k in sides}
            conns = {k: psycopg.connect(d) for k, (d, _) in sides.items()}
            try:
                for c in conns.values():
                    maintain_partitions(c, at)
                for k, w in worlds.items():
                    for ch in w.channels:
                        ch.next_id = 50_000_000  # above the synthesised history's ids
                    for h in range(-a.warmup_hours, 0):  # posts for the timed hours to rescan
                        run_hour(conns[k], w, sides[k][1], at + timedelta(hours=h))
                rates_by: dict[str, list[float]] = {k: [] for k in sides}
                for h in range(a.load_hours):
                    for k in sides:
                        r = run_hour(conns[k], worlds[k], sides[k][1], at + timedelta(hours=h))
                        rates_by[k].append(r.per_s)
                        print(
                            f"    {k}: hour at {r.at:%m-%d %H}h, {r.records:,} records in {r.seconds:.1f} s",
                            flush=True,
                        )
            finally:
                for c in conns.values():
                    c.close()
        if a.drop:
            # Two months after the history: a 1-month retention drops every month up to the history's last.
            with psycopg.connect(dsn) as conn:
                drop_month(conn, report, hist_end + timedelta(days=62))
    empty = statistics.median(rates_by["empty"])
    loaded = statistics.median(rates_by["history"])
    ratio = loaded / empty
    report.add(phase="load_at_size", channels=len(sample), hours=a.load_hours, empty_records_per_s=round(empty),
               at_history_records_per_s=round(loaded), ratio=round(ratio, 2),
               target=f">= {TARGETS['load_year_vs_empty']}", met=ratio >= TARGETS["load_year_vs_empty"])  # fmt: skip


# ------------------------------------------------------------------------------------------ phase 4: drop


def maintain_partitions(conn: psycopg.Connection, now: datetime, retention_months: int | None = None) -> Any:
    """What the hourly DAG's maintenance task does where the warehouse has monthly partitions (issue 15): months
    created ahead of the simulated clock, and with `retention_months` old raw payload months dropped. None where
    the code has no partitions."""
    try:
        from ingest.warehouse.partitions import maintain
    except ImportError:
        return None
    return maintain(conn, now=now, retention_months=retention_months)


def drop_month(conn: psycopg.Connection, report: Report, now: datetime) -> None:
    """Retention with a 1-month horizon at `now` (the product's own `maintain`, else a plain DETACH and DROP of the
    oldest partition holding rows), timed; every other table's rows and bytes compared before and after. Only when
    raw_records is partitioned."""
    if not is_partitioned(conn, "raw_records"):
        report.add(phase="drop_month", result="n/a (not partitioned)")
        return
    maintain_partitions(conn, now)  # the months ahead of `now` first, so that only the drop is compared
    others = [t for t in sizes(conn) if t != "raw_records"]

    def state() -> dict[str, tuple[int, tuple[int, int]]]:
        now_sizes = sizes(conn)
        return {t: (conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0], now_sizes[t]) for t in others}

    before = state()
    raw_before = conn.execute("SELECT count(*) FROM raw_records").fetchone()[0]
    conn.commit()
    t = time.perf_counter()
    done = maintain_partitions(conn, now, retention_months=1)
    if done is not None:
        dropped, dropped_bytes = done.dropped, done.dropped_bytes
    else:
        dropped, dropped_bytes = _drop_oldest(conn)
    seconds = time.perf_counter() - t
    after = state()
    raw_after = conn.execute("SELECT count(*) FROM raw_records").fetchone()[0]
    changed = [k for k in others if before[k] != after[k]]
    report.add(phase="drop_month", dropped=",".join(dropped) or None, mb=_mb(dropped_bytes),
               raw_rows_before=raw_before, raw_rows_after=raw_after, seconds=round(seconds, 2),
               others_untouched=not changed, changed=",".join(changed) or None)  # fmt: skip


def _drop_oldest(conn: psycopg.Connection) -> tuple[list[str], int]:
    leaves = conn.execute(
        """SELECT c.oid::regclass::text FROM pg_partition_tree('raw_records'::regclass) t
           JOIN pg_class c ON c.oid = t.relid
           WHERE t.isleaf AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
           ORDER BY pg_get_expr(c.relpartbound, c.oid)"""
    ).fetchall()
    for (leaf,) in leaves:
        if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {leaf})").fetchone()[0]:
            size = conn.execute("SELECT pg_total_relation_size(%s::regclass)", (leaf,)).fetchone()[0]
            conn.execute(f"ALTER TABLE raw_records DETACH PARTITION {leaf}")
            conn.execute(f"DROP TABLE {leaf}")
            conn.commit()
            return [leaf], size
    return [], 0


# ------------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--watchlist", type=int, default=500, help="channels in the watch list projected to")
    ap.add_argument("--rate", type=float, default=150.0, help="mean posts a channel a day")
    ap.add_argument("--channels", type=int, default=6, help="channels simulated hour by hour (a sample)")
    ap.add_argument("--weeks", type=float, default=1.0, help="weeks simulated hour by hour")
    ap.add_argument("--cohort", type=int, default=1000, help="posts in the count-only phase")
    ap.add_argument(
        "--rescans", type=int, default=RESCAN_HOURS, help="hourly rescans in the count-only phase"
    )
    ap.add_argument(
        "--history-days",
        type=float,
        default=7.0,
        help=f"days of full watch-list density built (of a {MONTH_DAYS}-day month)",
    )
    ap.add_argument("--requests", type=int, default=10, help="timed runs of each query (after 2 warm-ups)")
    ap.add_argument("--load-hours", type=int, default=3, help="hours timed on top of the history (and empty)")
    ap.add_argument(
        "--warmup-hours", type=int, default=12, help="hours loaded before those (for them to rescan)"
    )
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--keep", action="store_true", help="keep the simulation's warehouse (prints its DSN)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: small everything")
    ap.add_argument("--phases", default="count,sim,year", help="comma-separated subset")
    ap.add_argument(
        "--no-drop",
        dest="drop",
        action="store_false",
        help="keep the oldest raw month (by default dropped, timed, at the end of the year phase)",
    )
    a = ap.parse_args(argv)
    if a.quick:  # a smoke run: every phase, tiny
        a.watchlist, a.rate, a.channels, a.weeks, a.cohort = 40, 30.0, 2, 1 / 7, 80
        a.rescans, a.history_days, a.requests, a.load_hours, a.warmup_hours = 6, 1.0, 3, 1, 1
    phases = set(a.phases.split(","))
    rates = watchlist_rates(a.watchlist, a.rate, a.seed)
    print(f"year benchmark: watch list {a.watchlist} channels, mean {a.rate:g} posts a day "
          f"(busiest {rates[0]:.0f}, median {rates[len(rates) // 2]:.0f}, quietest {rates[-1]:.1f}); "
          f"load average at start {os.getloadavg()[0]:.1f}")  # fmt: skip
    report = Report("year")
    first_bpp = 0.0
    t = time.perf_counter()
    if "count" in phases:
        first_bpp = count_only(report, a.cohort, a.rescans)["first_bytes_per_post"]
        print(f"  ({time.perf_counter() - t:.0f} s)", flush=True)
    if "sim" in phases:
        simulate(report, a, rates, first_bpp)
        print(f"  ({time.perf_counter() - t:.0f} s)", flush=True)
    if "year" in phases:
        one_year(report, a, rates)
        print(f"  ({time.perf_counter() - t:.0f} s)", flush=True)
    report.add(phase="end", load_average=round(os.getloadavg()[0], 1), seconds=round(time.perf_counter() - t))
    print(f"  saved {report.save()}")


if __name__ == "__main__":
    main()
