"""A compact digest of what normalisation makes of every shared capture, so a faster normaliser can be held to
the exact output of the one it replaced.

Every capture runs through the path an import takes (the format's reader, then `normalize_records`: the
normaliser, `check_post`, album merging) and every item it yields (posts, rejects, deletions) is written out with
`repr`, which names every dataclass field (text, times with their zone, raw payload with its key order, origin).
The digest of a capture is the BLAKE2b of those lines (less `Post.raw_hash`, added later by the skipping layer), with the shared folder's path replaced so that it does not
depend on where the data lives. Telethon captures also run as live payloads (aware datetimes instead of strings,
source "telethon"), the other shape the same normaliser takes.

`python -m tests.normalize.capture_digest --write` rewrites `capture_digests.json` (only when the output is
meant to change, and say why in the commit).
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ingest.models import RawRecord
from ingest.run.records import normalize_records
from ingest.sources.formats import get_format

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("WIREWATCH_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()
DIGESTS = Path(__file__).with_name("capture_digests.json")
_RAW_HASH = re.compile(r", raw_hash=(?:None|-?\d+)\)$")


def _canonical_lines(items: Iterable[Any], shared: Path) -> Iterator[bytes]:
    for item in items:
        try:
            text = repr(item)
        except RecursionError:  # a payload nested deeper than repr goes: its fields without the payload
            text = repr(dataclasses.replace(item, payload="<too deep>")) if hasattr(item, "payload") else "?"
        # `raw_hash` (the input's fingerprint for skipping unchanged records, Post's last field) came after the
        # digests and is not the normaliser's output: left out.
        text = _RAW_HASH.sub(")", text) if type(item).__name__ == "Post" else text
        text = text.replace(str(shared), "$SHARED").replace(str(REPO), "$REPO")
        yield text.encode("utf-8", "surrogatepass") + b"\n"


def digest(items: list[Any], shared: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    for line in _canonical_lines(items, shared):
        h.update(line)
    kinds: dict[str, int] = {}
    for item in items:
        kinds[type(item).__name__] = kinds.get(type(item).__name__, 0) + 1
    counts = ",".join(f"{k}={v}" for k, v in sorted(kinds.items()))
    return f"{counts} {h.hexdigest()}"


def _file_items(fmt_name: str, path: Path) -> list[Any]:
    fmt = get_format(fmt_name)
    return normalize_records(list(fmt.read(path)), fmt.normalize)


def _live_telethon(records: list[RawRecord]) -> list[RawRecord]:
    """The same messages as the live source hands them over: aware datetimes, source "telethon"."""

    def to_live(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: to_live(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [to_live(v) for v in value]
        if key in ("date", "edit_date") and isinstance(value, str):
            try:
                return datetime.fromisoformat(value).replace(tzinfo=UTC)
            except ValueError:
                return value
        return value

    fetched = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        RawRecord("telethon", to_live(r.payload), r.origin, fetched, r.context, r.raw_text) for r in records
    ]


def _cassette_pages(path: Path) -> list[RawRecord]:
    cassette = yaml.safe_load(path.read_text())
    out = []
    for i, interaction in enumerate(cassette.get("interactions") or []):
        body = interaction["response"]["body"]["string"]
        if isinstance(body, str):
            body = body.encode("utf-8")
        try:
            body = gzip.decompress(body)
        except OSError:
            pass
        try:
            page = json.loads(body)
        except ValueError:
            continue
        out.append(
            RawRecord("x_api", page, f"{path.name}#{i}", context={"author_id": "783214", "handle": "twitter"})
        )
    return out


def captures(shared: Path = SHARED) -> dict[str, Callable[[], list[Any]]]:
    """Every capture by a stable name, each a thunk that normalises it."""
    out: dict[str, Callable[[], list[Any]]] = {}
    telethon = get_format("telethon-jsonl")
    for p in sorted((shared / "telethon").glob("*.jsonl")) + sorted(
        (shared / "telegram_news_ru").glob("*.jsonl")
    ):
        name = f"{p.parent.name}/{p.name}"
        out[name] = lambda p=p: _file_items("telethon-jsonl", p)
        out[name + "#live"] = lambda p=p: normalize_records(
            _live_telethon(list(telethon.read(p))), telethon.normalize
        )
    for p in sorted((shared / "x_api_v2" / "twarc_pages").glob("*.jsonl")):
        out[f"x_api_v2/twarc_pages/{p.name}"] = lambda p=p: _file_items("x-v2-jsonl", p)
    x = get_format("x-v2-jsonl")
    for p in sorted((shared / "x_api_v2" / "tweepy_cassettes").glob("*.yaml")):
        out[f"x_api_v2/tweepy_cassettes/{p.name}"] = lambda p=p: normalize_records(
            _cassette_pages(p), x.normalize
        )
    for p in sorted((shared / "telegram_web").glob("*.html")):
        out[f"telegram_web/{p.name}"] = lambda p=p: _file_items("telegram-web", p)
    export_dir = REPO / "tests" / "data" / "telegram_export"
    for p in sorted(export_dir.rglob("*.json")):
        out[f"tests/data/telegram_export/{p.relative_to(export_dir)}"] = lambda p=p: _export_items(p)
    bad = REPO / "tests" / "data" / "bad"
    for folder, fmt_name in (("telethon", "telethon-jsonl"), ("x", "x-v2-jsonl"), ("web", "telegram-web"),
                             ("export", "telegram-export")):  # fmt: skip
        for p in sorted((bad / folder).iterdir()):
            out[f"tests/data/bad/{folder}/{p.name}"] = lambda p=p, f=fmt_name: _guarded(f, p)
    return out


def _guarded(fmt_name: str, path: Path) -> list[Any]:
    try:
        return _file_items(fmt_name, path)
    except Exception as exc:  # noqa: BLE001 - a refused file is an outcome to hold too
        return [f"{type(exc).__name__}: {exc}".replace(str(REPO), "$REPO")]


def _export_items(path: Path) -> list[Any]:
    return _guarded("telegram-export", path)


def compute(shared: Path = SHARED) -> dict[str, str]:
    return {name: digest(thunk(), shared) for name, thunk in captures(shared).items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    got = compute()
    if args.write:
        DIGESTS.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {len(got)} digests to {DIGESTS}")
        return
    want = json.loads(DIGESTS.read_text())
    bad = [k for k in sorted(set(got) | set(want)) if got.get(k) != want.get(k)]
    for k in bad:
        print(f"{k}: want {want.get(k)} got {got.get(k)}")
    print(f"{len(got) - len(bad)}/{len(got)} match")


if __name__ == "__main__":
    main()
