"""Backfill benchmark: 1M posts from files end to end (read, normalise, load) in a fresh process; peak RSS and
posts per second, against the same process only streaming and parsing the file (the floor) in the same run.

The input is a Telethon JSONL file built from the real records in ../shared/data/telethon with new ids, spread
over 50 channels as a watch list's backfill is. Two imports, each into a fresh database: in one process
(`import_files`, what `wirewatch import --jobs 1` runs), and as `wirewatch import` runs it by default
(`parallel.import_paths_parallel`: the file split by channel across one worker process per core). The second's
peak RSS is that of the whole process tree (the sum of every process's resident memory, sampled every 0.1 s).
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

_IMPORT_SPLIT = """
import sys, threading, time, os
from pathlib import Path
from ingest.run.parallel import import_paths_parallel

def _tree_kb():
    me, total, kids = os.getpid(), 0, {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    kids.setdefault(int(fh.read().rsplit(")", 1)[1].split()[1]), []).append(int(d))
            except OSError:
                pass
    todo = [me]
    while todo:
        pid = todo.pop()
        todo += kids.get(pid, [])
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total

peak, done = [0], threading.Event()
def _sample():
    while not done.wait(0.1):
        peak[0] = max(peak[0], _tree_kb())
threading.Thread(target=_sample, daemon=True).start()
s = import_paths_parallel(sys.argv[1], [Path(sys.argv[2])], "telethon-jsonl", skip_unchanged=True)
done.set()
print(s[0].stats.inserted, s[0].stats.rejected, file=sys.stderr)
print("TREE_KB", peak[0], file=sys.stderr)
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


def measure(code: str, dsn: str, path: Path, *, with_err: bool = False):
    """Wall seconds and peak RSS (MB) of a fresh interpreter running `code` (and its stderr, `with_err`)."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code + _PEAK, dsn, str(path)], stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0:
        raise RuntimeError(f"benchmark child failed: {err[-2000:]}")
    peak = _PEAK_LINE.search(err)
    rest = _TREE_LINE.sub("", _PEAK_LINE.sub("", err)).strip()
    if rest:
        print(f"  child: {rest[-200:]}")
    # Where /proc is missing, the rusage figure (an upper bound, see above).
    rss = int(peak.group(1)) / 1024 if peak else usage.ru_maxrss / 1024
    return (elapsed, rss, err) if with_err else (elapsed, rss)


_TREE_LINE = re.compile(r"^TREE_KB (\d+)$", re.M)


def run(posts: int) -> Report:
    report = Report("backfill")
    with tempfile.TemporaryDirectory(prefix="ww-bench-backfill-") as tmp:
        path = build_telethon(Path(tmp), posts, channels=50)
        size_mb = path.stat().st_size / 2**20
        print(f"backfill benchmark: {posts:,} posts over 50 channels, {size_mb:,.0f} MB of Telethon JSONL")
        with scratch_db() as dsn:
            t_parse, rss_parse = measure(_PARSE, dsn, path)
            t_ours, rss_ours = measure(_IMPORT, dsn, path)
        with scratch_db() as dsn:
            t_split, _, err = measure(_IMPORT_SPLIT, dsn, path, with_err=True)
            tree = _TREE_LINE.search(err)
        report.add(case="stream + parse only (floor)", posts=posts, seconds=t_parse, posts_per_s=posts / t_parse,
                   peak_rss_mb=rss_parse)  # fmt: skip
        report.add(case="wirewatch import, one process (read, normalise, load)", posts=posts, seconds=t_ours,
                   posts_per_s=posts / t_ours, peak_rss_mb=rss_ours, file_mb=size_mb)  # fmt: skip
        report.add(case="wirewatch import, split by channel over the cores", posts=posts, seconds=t_split,
                   posts_per_s=posts / t_split, tree_peak_rss_mb=int(tree.group(1)) / 1024 if tree else None,
                   speedup=t_ours / t_split)  # fmt: skip
    print(f"saved {report.save()}")
    return report


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--posts", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    run(args.posts)


if __name__ == "__main__":
    main()
