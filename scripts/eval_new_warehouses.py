"""Score the grouping of new warehouses: the real Telegram news stream cut into parts of a few days, each imported
into a scratch warehouse of its own and grouped from scratch, so that no post has more history than its part holds
(as in a user's first days, or a stream of a few days). Labelled pairs with both posts in one part are scored,
pooled over the parts (docs/grouping.md, "A new warehouse").

The server is the tests' ($WIREWATCH_TEST_ADMIN_DSN, else the local one, else the embedded one: `tests.scratch`).

Usage: python scripts/eval_new_warehouses.py [--parts 12] [--days 5] [--end 2024-12-01] [--part dev|heldout]
           [--keep]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' helpers, when run as a script

from ingest.events import group_window  # noqa: E402
from ingest.events.labels import LabelScores, pool, read_labels, score  # noqa: E402
from ingest.run.imports import import_files  # noqa: E402
from tests import scratch  # noqa: E402
from tests.events.news_window import window_files  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
LABELS = ROOT / "tests" / "data" / "grouping_ru"


def pooled(t: LabelScores) -> str:
    return (
        f"precision {t.event_precision:.3f} ({t.tp} of {t.tp + t.fp}), "
        f"recall {t.event_recall:.3f} ({t.tp} of {t.tp + t.fn}), "
        f"storyline recall {t.storyline_recall:.3f}, "
        f"DIFF sharing a storyline {100 * t.diff_sharing_storyline:.1f} % "
        f"({t.diff_shared} of {t.diff_pairs}), copies {t.copies_joined} of {t.copies}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", type=int, default=12)
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--end", default="2024-12-01")
    ap.add_argument("--part", default="dev", choices=("dev", "heldout"))
    ap.add_argument("--keep", action="store_true", help="keep the databases")
    ap.add_argument("--batches", default="*", help="label batches to score, a glob over the number: '*', '6'")
    args = ap.parse_args()

    pairs = [p for f in sorted(LABELS.glob(f"pairs{args.batches}_{args.part}.tsv")) for p in read_labels(f)]
    end = datetime.fromisoformat(args.end).replace(tzinfo=UTC)
    admin = scratch.admin_dsn()
    parts: list[dict] = []  # the scores of the parts that hold a pair
    largest: dict[str, tuple[float, str]] = {}  # level -> (share, where) of the largest group of any part
    for i in range(args.parts):
        hi = end - timedelta(days=args.days * i)
        with (
            tempfile.TemporaryDirectory() as tmp,
            scratch.scratch_db(admin, f"ww_new_warehouse_{i}", keep=args.keep) as dsn,
            psycopg.connect(dsn) as conn,
        ):
            lo = hi - timedelta(days=args.days)
            import_files(conn, window_files(SHARED, Path(tmp), lo, hi))
            conn.commit()
            group_window(conn)
            # Pairs with a post outside the part count as missing, and in none of the counts.
            s = score(conn, pairs)
        if s.missing == len(pairs):
            continue
        for level in ("event", "storyline"):
            top = s.shares[f"largest_{level}_share_all"]
            part = f"{lo.date()}..{hi.date()}: {top['posts']} of {top['total']} posts"
            largest[level] = max(largest.get(level, (0.0, "")), (top["share"], part))
        parts.append(s.as_dict())
    print(f"{args.parts} new warehouses of {args.days} days, {args.part} pairs: {pooled(pool(parts))}")
    for level, (share, where) in largest.items():
        print(f"largest {level} of a part: {100 * share:.1f} % ({where})")


if __name__ == "__main__":
    main()
