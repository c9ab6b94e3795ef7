"""`post_hashes` computes a post's four stored hashes at once; the warehouse compares them with the hashes it
stored earlier, so one that drifted from their definitions (a `stable_hash` each) would make every post look edited
(a version each) or hide real edits. Held equal on every post of the real captures, in every file format, and
the rows prepared ahead (hashed at once) equal to those hashed lazily."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.models import Post, stable_hash
from ingest.run.records import normalize_records
from ingest.sources.formats import get_format
from ingest.warehouse.post_rows import (
    Prepared,
    _metrics_tuple,
    _row_identity,
    post_hashes,
    prepare,
    prepare_ahead,
    row_hash,
)

REPO = Path(__file__).resolve().parents[2]


def _posts(fmt_name: str, paths: list[Path]) -> list[Post]:
    fmt = get_format(fmt_name)
    out: list[Post] = []
    for path in paths:
        out += [i for i in normalize_records(list(fmt.read(path)), fmt.normalize) if isinstance(i, Post)]
    return out


def _inputs(shared: Path) -> dict[str, list[Path]]:
    return {
        "telethon-jsonl": sorted((shared / "telethon").glob("*.jsonl")),
        "x-v2-jsonl": sorted((shared / "x_api_v2" / "twarc_pages").glob("*.jsonl")),
        "telegram-web": sorted((shared / "telegram_web").glob("*.html"))
        + sorted((REPO / "tests" / "data" / "telegram_web").glob("*.html")),
        "telegram-export": [
            p
            for p in sorted((REPO / "tests" / "data" / "telegram_export").rglob("*.json"))
            if p.name != "truncated.json"
        ],
    }


@pytest.mark.parametrize("fmt_name", ["telethon-jsonl", "x-v2-jsonl", "telegram-web", "telegram-export"])
def test_post_hashes_equal_the_separate_hashes(shared_data: Path, fmt_name: str) -> None:
    posts = _posts(fmt_name, _inputs(shared_data)[fmt_name])
    assert len(posts) >= 10
    with_media = 0
    for p in posts:
        # The definitions the stored hashes were made by, one `stable_hash` each.
        state = stable_hash(p.text, p.media, _row_identity(p))
        separate = (p.content_hash(), stable_hash(_metrics_tuple(p)), row_hash(p), state)
        assert post_hashes(p) == separate, p.key
        with_media += bool(p.media)
    if fmt_name in ("telethon-jsonl", "x-v2-jsonl"):
        assert with_media, "the captures' media posts take the content hash's other branch"


def test_prepared_rows_carry_the_same_hashes_either_way(shared_data: Path) -> None:
    posts = _posts("x-v2-jsonl", _inputs(shared_data)["x-v2-jsonl"])
    # The captures hold an edited tweet's versions under one key: rounds then split them.
    ahead, lazy = prepare_ahead(posts), prepare(posts)
    assert len(ahead) == len(lazy) > 1

    def hashes(pr: Prepared) -> tuple:
        return pr.post.key, pr.row_hash, pr.content_hash, pr.metrics_hash, pr.state_hash

    assert [[hashes(pr) for pr in r] for r in ahead] == [[hashes(pr) for pr in r] for r in lazy]
