"""Score the grouping of new warehouses: the real Telegram news stream cut into parts of a few days, each imported
into a warehouse of its own and grouped from scratch, so that no post has more history than its part holds (as in
a user's first days, or a stream of a few days). Labelled pairs with both posts in one part are scored, pooled over
the parts (docs/grouping.md, "A new warehouse").

Needs a PostgreSQL server where the given role may create databases; makes `<prefix>0` ... `<prefix>N-1` and
drops them at the end unless `--keep` (then `--reuse` regroups kept ones without importing again).

Usage: python scripts/eval_new_warehouses.py [--server postgresql://postgres@127.0.0.1:5432] [--parts 12]
           [--days 5] [--end 2024-12-01] [--part dev|heldout] [--keep] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "telegram_news_ru"
LABELS = ROOT / "tests" / "data" / "grouping_ru"
WIREWATCH = Path(sys.executable).with_name("wirewatch")


def parts(end: date, n: int, days: int) -> list[tuple[date, date]]:
    return [(end - timedelta(days=days * (i + 1)), end - timedelta(days=days * i)) for i in range(n)]


def split_stream(bounds: list[tuple[date, date]], out: Path) -> list[set[tuple[int, int]]]:
    """Each part's lines as JSONL files under out/<i>/ (one a channel), and each part's post keys."""
    keys: list[set[tuple[int, int]]] = [set() for _ in bounds]
    for src in sorted(DATA.glob("*.jsonl")):
        lines: list[list[str]] = [[] for _ in bounds]
        for line in src.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            day = rec["date"][:10]
            for i, (lo, hi) in enumerate(bounds):
                if lo.isoformat() <= day < hi.isoformat():
                    lines[i].append(line)
                    keys[i].add((int(rec["peer_id"]["channel_id"]), int(rec["id"])))
        for i, part in enumerate(lines):
            if part:
                (out / str(i)).mkdir(parents=True, exist_ok=True)
                (out / str(i) / src.name).write_text("\n".join(part) + "\n", encoding="utf-8")
    return keys


def part_labels(keys: set[tuple[int, int]], which: str, out: Path) -> list[Path]:
    """The labelled pairs of `which` (dev, heldout) with both posts among `keys`, one file per labels file."""
    files = []
    out.mkdir(parents=True, exist_ok=True)
    for src in sorted(LABELS.glob(f"pairs*_{which}.tsv")):
        header, *rows = src.read_text(encoding="utf-8").splitlines()
        keep = []
        for row in rows:
            a, pa, b, pb, _ = row.split("\t")
            if (int(a), int(pa)) in keys and (int(b), int(pb)) in keys:
                keep.append(row)
        if keep:
            dst = out / src.name
            dst.write_text("\n".join([header, *keep]) + "\n", encoding="utf-8")
            files.append(dst)
    return files


def wirewatch(dsn: str, *args: str) -> str:
    env = {**os.environ, "WIREWATCH_DSN": dsn}
    return subprocess.run([str(WIREWATCH), *args], env=env, check=True, capture_output=True, text=True).stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--prefix", default="ww_new_warehouse_")
    ap.add_argument("--parts", type=int, default=12)
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--end", default="2024-12-01")
    ap.add_argument("--part", default="dev", choices=("dev", "heldout"))
    ap.add_argument("--keep", action="store_true", help="keep the databases")
    ap.add_argument("--reuse", action="store_true", help="regroup kept databases instead of importing again")
    args = ap.parse_args()

    bounds = parts(date.fromisoformat(args.end), args.parts, args.days)
    totals = dict(
        tp=0, fp=0, fn=0, same_story=0, story_kept=0.0, diff=0, diff_shared=0.0, copies=0, together=0.0
    )
    with tempfile.TemporaryDirectory() as tmp:
        keys = split_stream(bounds, Path(tmp))
        for i in range(len(bounds)):
            name = f"{args.prefix}{i}"
            dsn = f"{args.server}/{name}"
            if not args.reuse:
                with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    admin.execute(f'CREATE DATABASE "{name}"')
                wirewatch(dsn, "import", str(Path(tmp) / str(i)))
            wirewatch(dsn, "group", "--full")
            files = part_labels(keys[i], args.part, Path(tmp) / f"labels{i}")
            if files:
                labels = [a for f in files for a in ("--labels", str(f))]
                scored = json.loads(wirewatch(dsn, "eval", "grouping", "--json", *labels))["labels"]
                for v in scored.values():
                    c = v["counts"]
                    n = c.get("SAME", 0) + c.get("STORY", 0)
                    totals["tp"] += v["tp"]
                    totals["fp"] += v["fp"]
                    totals["fn"] += v["fn"]
                    totals["same_story"] += n
                    totals["story_kept"] += (v["storyline_recall"] or 0) * n
                    totals["diff"] += c.get("DIFF", 0)
                    totals["diff_shared"] += (v["diff_sharing_storyline"] or 0) * c.get("DIFF", 0)
                    totals["copies"] += v["copies"]
                    totals["together"] += (v["copies_together"] or 0) * v["copies"]
            if not args.keep:
                with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    t = totals
    print(
        f"{args.parts} new warehouses of {args.days} days, {args.part} pairs: "
        f"precision {t['tp'] / max(1, t['tp'] + t['fp']):.3f} ({t['tp']} of {t['tp'] + t['fp']}), "
        f"recall {t['tp'] / max(1, t['tp'] + t['fn']):.3f} ({t['tp']} of {t['tp'] + t['fn']}), "
        f"storyline recall {t['story_kept'] / max(1, t['same_story']):.3f}, "
        f"DIFF sharing a storyline {100 * t['diff_shared'] / max(1, t['diff']):.1f} % "
        f"({round(t['diff_shared'])} of {t['diff']}), copies {round(t['together'])} of {t['copies']}"
    )


if __name__ == "__main__":
    main()
