"""Backfill benchmark: 1M posts from files end to end (read, normalise, load) in a fresh process; peak RSS and
posts per second, against the same process only streaming and parsing the file (the floor) in the same run.

The input is a Telethon JSONL file built from the real records in ../shared/data/telethon with new ids.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_normalize import build_telethon
from bench.common import Report, scratch_db

_IMPORT = """
import sys, psycopg
from pathlib import Path
from ingest.run.imports import import_files
with psycopg.connect(sys.argv[1]) as conn:
    s = import_files(conn, [Path(sys.argv[2])], "telethon-jsonl")
    print(s[0].stats.inserted, s[0].stats.rejected, file=sys.stderr)
"""

_PARSE = """
import sys, orjson
n = 0
with open(sys.argv[2], "rb") as fh:
    for line in fh:
        orjson.loads(line)
        n += 1
"""


# The child reports its own peak (VmHWM of its address space). The rusage of a child counts the parent's resident
# memory at the fork as the child's peak: run after the other benchmarks in one `python -m bench`, whose process
# had grown to ~1.1 GB, both children read 1,125 MB.
_PEAK = """
import re as _re
with open("/proc/self/status") as _fh:
    _m = _re.search(r"VmHWM:\\s+(\\d+) kB", _fh.read())
if _m:
    print("PEAK_KB", _m.group(1), file=sys.stderr)
"""
_PEAK_LINE = re.compile(r"^PEAK_KB (\d+)$", re.M)


def measure(code: str, dsn: str, path: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a fresh interpreter running `code`."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code + _PEAK, dsn, str(path)], stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0:
        raise RuntimeError(f"benchmark child failed: {err[-2000:]}")
    peak = _PEAK_LINE.search(err)
    rest = _PEAK_LINE.sub("", err).strip()
    if rest:
        print(f"  child: {rest[-200:]}")
    # Where /proc is missing, the rusage figure (an upper bound, see above).
    return elapsed, int(peak.group(1)) / 1024 if peak else usage.ru_maxrss / 1024


def run(posts: int) -> Report:
    report = Report("backfill")
    with tempfile.TemporaryDirectory(prefix="ww-bench-backfill-") as tmp, scratch_db() as dsn:
        path = build_telethon(Path(tmp), posts)
        size_mb = path.stat().st_size / 2**20
        print(f"backfill benchmark: {posts:,} posts, {size_mb:,.0f} MB of Telethon JSONL")
        t_parse, rss_parse = measure(_PARSE, dsn, path)
        t_ours, rss_ours = measure(_IMPORT, dsn, path)
        report.add(case="stream + parse only (floor)", posts=posts, seconds=t_parse, posts_per_s=posts / t_parse,
                   peak_rss_mb=rss_parse)  # fmt: skip
        report.add(case="wirewatch import (read, normalise, load)", posts=posts, seconds=t_ours,
                   posts_per_s=posts / t_ours, peak_rss_mb=rss_ours, file_mb=size_mb)  # fmt: skip
    print(f"saved {report.save()}")
    return report


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--posts", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    run(args.posts)


if __name__ == "__main__":
    main()
