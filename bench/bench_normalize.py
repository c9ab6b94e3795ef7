"""Normalisation benchmark: posts per second on one core for each import format, read + normalise, against the
bare parse of the same input (orjson per line, or the HTML parse alone) measured in the same run.

Times are the process's CPU time (`time.process_time`), not wall time: on a machine shared with other work, a
core's worth of CPU is what "per core" means, and it does not count the time other processes held the core.

For Telethon JSONL and X pages two more columns follow the import's own path: records read in the import's batches
(the format's batch size, else the CLI's 5,000) through `normalize_records` (the normaliser, `check_post`, album
merging) while the batch stays alive, as it does until it is loaded; `batched_per_s` with Python's default
collector, `batched_tuned_gc_per_s` with the one bulk CLI commands set (`ingest.run.bulk.tune_gc`).

Inputs are the real captures in ../shared/data, repeated to volume (Desktop export messages come from the
synthetic fixtures in tests/data/telegram_export, as no real export is shared).
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import orjson

from bench.common import Report, median_of
from ingest.models import Post
from ingest.run.records import normalize_records
from ingest.sources.formats import get_format

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("WIREWATCH_SHARED_DATA", REPO.parent / "shared" / "data"))


def _lines(paths: list[Path]) -> list[bytes]:
    out = []
    for p in paths:
        out += [ln for ln in p.read_bytes().splitlines() if ln.strip()]
    return out


def build_telethon(dst: Path, n: int, channels: int | None = None) -> Path:
    """n records cycled from the real Telethon captures, each its own post; `channels`: spread over that many
    channel ids (a watch list's backfill) instead of the captures' own five."""
    seen, base = set(), []
    for ln in _lines(sorted((SHARED / "telethon").glob("*.jsonl"))):
        if ln not in seen:
            seen.add(ln)
            base.append(orjson.loads(ln))
    path = dst / "telethon.jsonl"
    with path.open("wb") as fh:
        for i in range(n):
            rec = dict(base[i % len(base)])
            rec["id"] = i + 1
            rec["grouped_id"] = None  # keep one record = one post so posts/s is comparable
            if channels:
                rec["peer_id"] = {"_": "PeerChannel", "channel_id": 1_600_000_000 + i % channels}
            fh.write(orjson.dumps(rec) + b"\n")
    return path


def build_x(dst: Path, n_pages: int) -> Path:
    pages = [
        ln for ln in _lines(sorted((SHARED / "x_api_v2" / "twarc_pages").glob("*.jsonl")))
        if ln.startswith(b"{") and b'"data"' in ln
    ]  # fmt: skip
    good = []
    for ln in pages:
        try:
            orjson.loads(ln)
            good.append(ln)
        except orjson.JSONDecodeError:
            pass
    path = dst / "x.jsonl"
    with path.open("wb") as fh:
        for i in range(n_pages):
            fh.write(good[i % len(good)] + b"\n")
    return path


def build_export(dst: Path, n: int) -> Path:
    fixtures = sorted((REPO / "tests" / "data" / "telegram_export").rglob("*.json"))
    messages = []
    for f in fixtures:
        try:
            doc = orjson.loads(f.read_bytes())
        except orjson.JSONDecodeError:
            continue
        if isinstance(doc, dict):
            messages += [
                m for m in doc.get("messages", []) if isinstance(m, dict) and m.get("type") == "message"
            ]
    path = dst / "result.json"
    with path.open("wb") as fh:
        fh.write(b'{"name": "Bench", "type": "public_channel", "id": 1234567890, "messages": [')
        for i in range(n):
            m = dict(messages[i % len(messages)])
            m["id"] = i + 1
            fh.write((b"," if i else b"") + orjson.dumps(m))
        fh.write(b"]}")
    return path


def build_web(dst: Path, n_pages: int) -> list[Path]:
    page = (SHARED / "telegram_web" / "channel_feed_durov.html").read_bytes()
    paths = []
    for i in range(n_pages):
        p = dst / f"page{i}.html"
        p.write_bytes(page)
        paths.append(p)
    return paths


def normalise(fmt_name: str, paths: list[Path]) -> int:
    fmt = get_format(fmt_name)
    read, norm = fmt.read, fmt.normalize
    posts = 0
    for path in paths:
        for rec in read(path):
            for item in norm(rec):
                if isinstance(item, Post):
                    posts += 1
    return posts


def batched(fmt_name: str, paths: list[Path]) -> int:
    """The import's path: batches of records normalised together, each batch alive until the next is read."""
    fmt = get_format(fmt_name)
    size = fmt.records_per_batch or 5000
    posts = 0
    for path in paths:
        batch: list = []
        for rec in fmt.read(path):
            batch.append(rec)
            if len(batch) == size:
                posts += sum(isinstance(i, Post) for i in normalize_records(batch, fmt.normalize))
                batch = []
        posts += sum(isinstance(i, Post) for i in normalize_records(batch, fmt.normalize))
    return posts


@contextmanager
def tuned_gc():
    """The collector as bulk CLI commands run it, restored afterwards."""
    thresholds = gc.get_threshold()
    # An older tree (an A/B run): the function lived in the CLI, or did not exist yet (the default collector).
    try:
        from ingest.run.bulk import tune_gc
    except ImportError:
        try:
            from ingest.cli import _tune_gc as tune_gc
        except ImportError:
            yield
            return
    tune_gc()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def parse_only(fmt_name: str, paths: list[Path]) -> None:
    if fmt_name == "telegram-web":
        from selectolax.lexbor import LexborHTMLParser as HTMLParser

        for p in paths:
            HTMLParser(p.read_text(encoding="utf-8")).css(".tgme_widget_message")
        return
    if fmt_name == "telegram-export":
        import ijson

        for p in paths:
            with p.open("rb") as fh:
                for _ in ijson.items(fh, "messages.item"):
                    pass
        return
    for p in paths:
        with p.open("rb") as fh:
            for ln in fh:
                if ln.strip():
                    orjson.loads(ln)


def run(records: int, repeats: int) -> Report:
    report = Report("normalize")
    with tempfile.TemporaryDirectory(prefix="ww-bench-norm-") as tmp:
        d = Path(tmp)
        inputs = {
            "telethon-jsonl": [build_telethon(d, records)],
            "x-v2-jsonl": [build_x(d, max(1, records // 10))],
            "telegram-export": [build_export(d, records)],
            "telegram-web": build_web(d, max(1, records // 20)),
        }
        print(f"normalisation benchmark, ~{records:,} records per format, one core, median of {repeats}")
        for name, paths in inputs.items():
            count = normalise(name, paths)
            t_base, _ = median_of(repeats, lambda: _t(lambda: parse_only(name, paths)))  # noqa: B023
            t_ours, _ = median_of(repeats, lambda: _t(lambda: normalise(name, paths)))  # noqa: B023
            row = dict(format=name, posts=count, posts_per_s=count / t_ours, parse_only_per_s=count / t_base,
                       share_of_time_in_parse=t_base / t_ours)  # fmt: skip
            if name in ("telethon-jsonl", "x-v2-jsonl"):
                t_batch, _ = median_of(repeats, lambda: _t(lambda: batched(name, paths)))  # noqa: B023
                with tuned_gc():
                    t_tuned, _ = median_of(repeats, lambda: _t(lambda: batched(name, paths)))  # noqa: B023
                row.update(batched_per_s=count / t_batch, batched_tuned_gc_per_s=count / t_tuned)
            report.add(**row)
    print(f"saved {report.save()}")
    return report


def _t(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    run(args.records, args.repeats)


if __name__ == "__main__":
    main()
