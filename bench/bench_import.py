"""End-to-end import benchmark: `wirewatch import` as a user runs it (a subprocess: reading, parsing,
normalising, loading) against a binary COPY of the very rows it stored, measured in the same run.

Inputs are built from real captures in ../shared/data, re-numbered to the size asked: X API v2 pages (100 posts a
line, their authors in includes.users, from a real twarc page) and Telethon `to_dict()` JSONL (from a real
Bloomberg channel record with its web-page media). Cases, each into a fresh scratch database:

- first import of the file, as `wirewatch import` runs it by default: the Telethon file (50 channels, 328 MB) is
  split by channel across two worker processes; X pages (many accounts a line) are read by one process;
- the same file again, nothing changed (what an hourly rescan mostly sees);
- the file again (the same path: a collector re-writing its capture) with 1 % of the posts edited (a file imported
  before is read by one process). In X pages every 100th tweet is edited, one a page: every record (page line)
  changed. X pages also get the case the issue's words name, 1 % of the records edited: every tweet of every
  100th page (1 % of the posts again), re-imported after a first import of its own database;
- the first import in one process (`--jobs 1`), and in one process with its read-ahead thread off
  (`WIREWATCH_IMPORT_READ_AHEAD=0`, the code before it), each into another fresh database: what splitting the
  file and reading ahead gain;
- the baseline: `COPY ... FROM STDIN (FORMAT binary)` of the `posts` and `raw_records` rows the first import
  stored, into an identical empty schema with all its indexes (and the search index);
- the same posts as a folder of four files, each holding its own channels as per-channel captures do (Telethon
  lines by channel; X pages cut by account, 25 posts a page), imported with `--jobs 1` (one process) and `--jobs 2` (two
  worker processes), against the binary COPY of the rows the folder's import stored.

Ratios: `copy / first` (the issue's target is >= 0.8), `first / unchanged` (>= 20), `first / edited` (>= 10).
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg

from bench.common import Report, scratch_db

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("WIREWATCH_SHARED_DATA", REPO.parent / "shared" / "data"))
WIREWATCH = Path(sys.executable).with_name("wirewatch")
START = datetime(2026, 3, 1, tzinfo=UTC)
TABLES = ("posts", "raw_records")


def _text(i: int, edited: bool) -> str:
    base = (
        f"Report {i}: officials in region {i % 97} say {i % 13} drones were shot down overnight; "
        f"damage is being assessed, more at https://example.org/news/{i}"
    )
    return base + " (updated)" if edited else base


def x_pages(
    path: Path, n: int, edited_every: int = 0, accounts: int = 500, *, edited_pages_every: int = 0
) -> None:
    """n X posts from `accounts` accounts, 100 a page line, shaped as the real twarc page `two_tweets.jsonl`.
    Edited: every `edited_every`-th tweet, and every tweet of every `edited_pages_every`-th page."""
    page = orjson.loads(
        (SHARED / "x_api_v2" / "twarc_pages" / "two_tweets.jsonl").read_bytes().splitlines()[0]
    )
    tweet_t = {k: v for k, v in page["data"][0].items() if k not in ("referenced_tweets", "entities")}
    user_t = page["includes"]["users"][0]
    with path.open("wb") as out:
        for lo in range(0, n, 100):
            data, users = [], {}
            for i in range(lo, min(lo + 100, n)):
                uid = str(10_000 + i % accounts)
                t = dict(tweet_t)
                t["id"] = str(1_800_000_000_000_000_000 + i)
                t["edit_history_tweet_ids"] = [t["id"]]
                t["conversation_id"] = t["id"]
                t["author_id"] = uid
                t["lang"] = "en"
                t["created_at"] = (START + timedelta(seconds=30 * i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
                edited = (bool(edited_every) and i % edited_every == 0) or (
                    bool(edited_pages_every) and (lo // 100) % edited_pages_every == 0
                )
                t["text"] = _text(i, edited)
                t["public_metrics"] = {
                    "retweet_count": i % 7,
                    "reply_count": 0,
                    "like_count": i % 11,
                    "quote_count": 0,
                }
                data.append(t)
                if uid not in users:
                    u = dict(user_t)
                    u["id"], u["username"], u["name"] = uid, f"account{uid}", f"Account {uid}"
                    users[uid] = u
            line = {
                "data": data,
                "includes": {"users": list(users.values())},
                "meta": {"result_count": len(data)},
            }
            out.write(orjson.dumps(line) + b"\n")


def telethon_jsonl(path: Path, n: int, edited_every: int = 0) -> None:
    """n Telethon messages over 50 channels, shaped as a real Bloomberg channel record (web-page media)."""
    tmpl = orjson.loads((SHARED / "telethon" / "bloomberg_1488156064.jsonl").read_bytes().splitlines()[0])
    with path.open("wb") as out:
        for i in range(n):
            m = copy.deepcopy(tmpl)
            m["id"] = 1 + i // 50
            m["peer_id"]["channel_id"] = 1_600_000_000 + i % 50
            m["date"] = (START + timedelta(seconds=30 * i)).strftime("%Y-%m-%d %H:%M:%S.000000")
            edited = bool(edited_every) and i % edited_every == 0
            m["message"] = _text(i, edited)
            if edited:
                m["edit_date"] = (START + timedelta(seconds=30 * i + 600)).strftime(
                    "%Y-%m-%d %H:%M:%S.000000"
                )
            m["views"] = 1000 + i % 1000
            out.write(orjson.dumps(m) + b"\n")


def cli_import(dsn: str, path: Path, *, read_ahead: bool = True, jobs: int = 0) -> tuple[float, list[dict]]:
    t = time.perf_counter()
    out = subprocess.run(
        [str(WIREWATCH), "--dsn", dsn, "import", str(path), "--json", "--jobs", str(jobs)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "WIREWATCH_IMPORT_READ_AHEAD": "1" if read_ahead else "0"},
    )
    seconds = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"wirewatch import failed ({out.returncode}): {out.stderr[-800:]}")
    return seconds, orjson.loads(out.stdout)


def stored_columns(cur: psycopg.Cursor, table: str) -> str:
    """The columns COPY can write: generated ones (the search vector, migration 014's read columns) the server
    computes on the way in, for the baseline as for the import."""
    cols = cur.execute(
        """SELECT column_name FROM information_schema.columns
           WHERE table_schema = 'public' AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position""",
        (table,),
    ).fetchall()
    return ", ".join(c for (c,) in cols)


def dump_rows(dsn: str) -> dict[str, bytes]:
    rows: dict[str, bytes] = {}
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for table in TABLES:
            buf = bytearray()
            # A query, not the table: COPY TO cannot read a partitioned table (raw_records, migration 013) directly.
            query = f"COPY (SELECT {stored_columns(cur, table)} FROM {table}) TO STDOUT (FORMAT binary)"  # noqa: S608
            with cur.copy(query) as cp:
                for chunk in cp:
                    buf += chunk
            rows[table] = bytes(buf)
    return rows


def binary_copy(dsn: str, rows: dict[str, bytes]) -> float:
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        conn.commit()
        columns = {table: stored_columns(cur, table) for table in TABLES}
        conn.commit()
        t = time.perf_counter()
        for table in TABLES:
            with cur.copy(f"COPY {table} ({columns[table]}) FROM STDIN (FORMAT binary)") as cp:
                for i in range(0, len(rows[table]), 1 << 20):
                    cp.write(rows[table][i : i + (1 << 20)])
        conn.commit()
        return time.perf_counter() - t


def _counts(summary: list[dict]) -> str:
    keys = ("inserted", "updated", "unchanged", "rejected")
    return " ".join(f"{k}={sum(int(f.get(k) or 0) for f in summary)}" for k in keys)


def one_format(name: str, make, n: int, repeats: int, report: Report, tmp: Path) -> None:
    plain, edited = tmp / f"{name}.original", tmp / f"{name}.edited"
    make(plain, n)
    make(edited, n, edited_every=100)
    # The file a collector keeps re-writing: imported, imported again unchanged, then again once 1 % of its
    # posts changed (same path, as a re-import is; copies are not timed).
    work = tmp / f"{name}.jsonl"
    firsts, unchanged, edits, inline, single = [], [], [], [], []
    rows: dict[str, bytes] = {}
    for _ in range(repeats):
        with scratch_db("ww_bench_import_inline") as dsn:
            shutil.copyfile(plain, work)
            inline.append(cli_import(dsn, work, read_ahead=False, jobs=1)[0])
        with scratch_db("ww_bench_import_single") as dsn:
            shutil.copyfile(plain, work)
            single.append(cli_import(dsn, work, jobs=1)[0])
        with scratch_db("ww_bench_import") as dsn:
            shutil.copyfile(plain, work)
            s, first = cli_import(dsn, work)
            firsts.append(s)
            if not rows:
                rows = dump_rows(dsn)  # the rows the first import stored: the baseline's input
            s, again = cli_import(dsn, work)
            unchanged.append(s)
            shutil.copyfile(edited, work)
            s, _ = cli_import(dsn, work)
            edits.append(s)
    with scratch_db("ww_bench_import_copy") as dsn:
        copies = [binary_copy(dsn, rows) for _ in range(repeats)]
    f, u, e, c = (statistics.median(v) for v in (firsts, unchanged, edits, copies))
    mb = sum(len(b) for b in rows.values()) / 1e6
    report.add(case=f"{name}: first import", n=n, seconds=f, posts_per_s=n / f, runs=firsts)
    fs = statistics.median(single)
    report.add(
        case=f"{name}: first import, one process (--jobs 1)", n=n, seconds=fs, speedup=fs / f, runs=single
    )
    fi = statistics.median(inline)
    report.add(
        case=f"{name}: first import, one process without read-ahead",
        n=n,
        seconds=fi,
        speedup=fi / fs,
        runs=inline,
    )
    report.add(case=f"{name}: unchanged re-import", n=n, seconds=u, speedup=f / u, runs=unchanged)
    report.add(case=f"{name}: 1% edited re-import", n=n, seconds=e, speedup=f / e, runs=edits)
    report.add(case=f"{name}: binary COPY of the stored rows (baseline)", n=n, seconds=c, mb=mb, runs=copies)
    report.add(case=f"{name}: ratio copy / first import", ratio=c / f, target=0.8)
    report.add(case=f"{name}: ratio copy / first import, one process", ratio=c / fs, target=0.8)
    report.add(case=f"{name}: first / unchanged", ratio=f / u, target=20)
    report.add(case=f"{name}: first / 1% edited", ratio=f / e, target=10)
    report.add(case=f"{name}: summaries", first=_counts(first), unchanged=_counts(again))
    if make is x_pages:
        pages_case(name, plain, n, repeats, f, report, tmp)
    folder_case(name, plain, n, repeats, report, tmp)


def pages_case(name: str, plain: Path, n: int, repeats: int, first: float, report: Report, tmp: Path) -> None:
    """1 % of the records (page lines) edited, all their tweets: re-imported at the same path after a first import
    (not timed) into a database of its own. Compared with the median first import of the run."""
    edited, work = tmp / f"{name}.edited_pages", tmp / f"{name}.pages.jsonl"
    x_pages(edited, n, edited_pages_every=100)
    runs = []
    for _ in range(repeats):
        with scratch_db("ww_bench_import_pages") as dsn:
            shutil.copyfile(plain, work)
            cli_import(dsn, work)
            shutil.copyfile(edited, work)
            s, summary = cli_import(dsn, work)
            runs.append(s)
    e = statistics.median(runs)
    report.add(case=f"{name}: 1% of records (pages) edited re-import", n=n, seconds=e, speedup=first / e,
               runs=runs, counts=_counts(summary))  # fmt: skip
    report.add(case=f"{name}: first / 1% of records edited", ratio=first / e, target=10)


FOLDER_FILES = 4


def split_into_folder(src: Path, dst: Path, name: str) -> None:
    """The posts dealt into FOLDER_FILES files by channel, each file its own channels, as per-channel captures
    are: Telethon lines by `peer_id`, X pages cut into one page a file (each with the users its tweets use)."""
    dst.mkdir()
    outs = [(dst / f"part{k}.jsonl").open("wb") for k in range(FOLDER_FILES)]
    try:
        with src.open("rb") as fh:
            for line in fh:
                rec = orjson.loads(line)
                if name == "telethon":
                    outs[rec["peer_id"]["channel_id"] % FOLDER_FILES].write(line)
                    continue
                for k, out in enumerate(outs):
                    data = [t for t in rec["data"] if int(t["author_id"]) % FOLDER_FILES == k]
                    if data:
                        users = [u for u in rec["includes"]["users"] if int(u["id"]) % FOLDER_FILES == k]
                        page = {**rec, "data": data, "includes": {**rec["includes"], "users": users}}
                        out.write(orjson.dumps(page) + b"\n")
    finally:
        for o in outs:
            o.close()


def folder_case(name: str, plain: Path, n: int, repeats: int, report: Report, tmp: Path) -> None:
    folder = tmp / f"{name}.folder"
    split_into_folder(plain, folder, name)
    times: dict[int, list[float]] = {1: [], 2: []}
    rows: dict[str, bytes] = {}
    summary: list[dict] = []
    for _ in range(repeats):
        for jobs in (1, 2):
            with scratch_db(f"ww_bench_import_folder{jobs}") as dsn:
                s, summary = cli_import(dsn, folder, jobs=jobs)
                times[jobs].append(s)
                if not rows:
                    rows = dump_rows(dsn)
    with scratch_db("ww_bench_import_copy") as dsn:
        copies = [binary_copy(dsn, rows) for _ in range(repeats)]
    c = statistics.median(copies)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    label = f"{name}: folder of {FOLDER_FILES} files"
    report.add(case=f"{label}, --jobs 1", n=n, seconds=one, posts_per_s=n / one, runs=times[1])
    report.add(
        case=f"{label}, --jobs 2", n=n, seconds=two, posts_per_s=n / two, speedup=one / two, runs=times[2]
    )
    report.add(case=f"{label}: binary COPY of the stored rows (baseline)", n=n, seconds=c, runs=copies)
    report.add(case=f"{label}: ratio copy / first import, --jobs 1", ratio=c / one, target=0.8)
    report.add(case=f"{label}: ratio copy / first import, --jobs 2", ratio=c / two, target=0.8)
    report.add(case=f"{label}: summary", first=_counts(summary))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--formats", default="x,telethon")
    a = ap.parse_args(argv)
    report = Report("import")
    with tempfile.TemporaryDirectory(prefix="ww-bench-import-") as tmp:
        for name in a.formats.split(","):
            make = {"x": x_pages, "telethon": telethon_jsonl}[name]
            one_format(name, make, a.posts, a.repeats, report, Path(tmp))
    print(f"  saved {report.save()}")


if __name__ == "__main__":
    main()
