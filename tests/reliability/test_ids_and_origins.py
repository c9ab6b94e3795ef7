"""Ids and rejects alike on every platform (issue 16): a post, channel or reference id is a positive integer that
fits bigint, whichever normaliser read it (X id 0 was stored while Telegram id 0 was refused); and every reject
names where its record came from (`file:line`, `file#index`, the file, or the live source's URL), those made
after normalisation (times out of range, oversize text, a payload that cannot be kept) included."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from ingest.models import Post, PostRef, RawRecord, Rejected
from ingest.normalize.common import check_post
from ingest.run.imports import import_files
from ingest.run.records import normalize_records
from ingest.sources.registry import normalizer_for
from tests.conftest import truncate_all
from tests.reliability.test_bad_inputs import BAD, MANIFEST, _materialise

_GOOD_TELETHON = (BAD / "telethon" / "bool_id.jsonl").read_bytes().splitlines()[0]


def _telethon(tmp: Path, bad_id: object) -> Path:
    bad = json.loads(_GOOD_TELETHON) | {"id": bad_id, "message": "bad id"}
    path = tmp / "ids.jsonl"
    path.write_bytes(_GOOD_TELETHON + b"\n" + json.dumps(bad).encode() + b"\n")
    return path


def _x(tmp: Path, bad_id: str) -> Path:
    def tweet(tid: str) -> dict:
        return {"id": tid, "text": f"tweet {tid}", "author_id": "2244994945", "created_at": "2022-12-06T10:00:00.000Z",
                "edit_history_tweet_ids": [tid]}  # fmt: skip

    page = {"data": [tweet("1600000000000000000"), tweet(bad_id)],
            "includes": {"users": [{"id": "2244994945", "username": "badx", "name": "Bad X"}]}}  # fmt: skip
    path = tmp / "ids_x.jsonl"
    path.write_text(json.dumps(page) + "\n")
    return path


def _export(tmp: Path, bad_id: int) -> Path:
    data = json.loads((BAD / "export" / "negative_id.json").read_text())
    data["messages"][1]["id"] = bad_id
    path = tmp / "ids_export.json"
    path.write_text(json.dumps(data))
    return path


def _web(tmp: Path, bad_id: str) -> Path:
    html = (BAD / "web" / "garbage_views.html").read_text()
    path = tmp / "ids_web.html"
    path.write_text(html.replace('data-post="badweb/10"', f'data-post="badweb/{bad_id}"'))
    return path


CASES = [
    ("telethon-jsonl", lambda tmp: _telethon(tmp, 0), {100}),
    ("x-v2-jsonl", lambda tmp: _x(tmp, "0"), {1600000000000000000}),
    ("telegram-export", lambda tmp: _export(tmp, 0), {1}),
    ("telegram-web", lambda tmp: _web(tmp, "0"), set()),
    ("x-v2-jsonl", lambda tmp: _x(tmp, "-5"), {1600000000000000000}),
    ("x-v2-jsonl", lambda tmp: _x(tmp, str(2**63)), {1600000000000000000}),
]


@pytest.mark.parametrize(("fmt", "make", "stored"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_an_id_of_zero_or_out_of_range_is_refused_on_every_platform(db, tmp_path, fmt, make, stored):
    path = make(tmp_path)
    with psycopg.connect(db) as conn:
        (summary,) = import_files(conn, [path], fmt)
        posts = {r[0] for r in conn.execute("SELECT post_id FROM posts")}
        rejects = conn.execute("SELECT reason, origin, post_id FROM rejected_records").fetchall()
    assert summary.error is None and summary.stats.rejected == 1, summary.as_dict()
    assert posts == stored
    ((reason, origin, post_id),) = rejects
    assert re.search(r"is not a positive id|out of 64-bit range", reason), reason
    assert origin.startswith(str(path)) and post_id is None, (origin, post_id)


@pytest.mark.parametrize(
    "post",
    [
        Post("x", 0, 5, datetime(2026, 1, 1, tzinfo=UTC)),
        Post("telegram", 5, 0, datetime(2026, 1, 1, tzinfo=UTC)),
        Post("x", 5, 5, datetime(2026, 1, 1, tzinfo=UTC), source_post_id=-1),
        Post("telegram", 5, 5, datetime(2026, 1, 1, tzinfo=UTC), reply_to=PostRef("telegram", 5, 0)),
        Post("x", 5, 5, datetime(2026, 1, 1, tzinfo=UTC), quoted=PostRef("x", -7, 9)),
    ],
)
def test_check_post_applies_the_id_rule_whatever_the_normaliser_did(post):
    out = check_post(post, origin="somewhere:3")
    assert isinstance(out, Rejected) and "is not a positive id" in out.reason, out
    assert out.origin == "somewhere:3" and out.post_id is None


def test_rejects_made_after_normalisation_carry_the_record_origin():
    good = json.loads(_GOOD_TELETHON)
    records = [
        RawRecord("telethon_jsonl", good | {"id": 1, "date": "1990-01-01T00:00:00+00:00"}, "f.jsonl:1"),
        RawRecord("telethon_jsonl", good | {"id": 2, "date": "2999-01-01T00:00:00+00:00"}, "f.jsonl:2"),
        RawRecord("telethon_jsonl", good | {"id": 3, "message": "x" * 1_000_001}, "f.jsonl:3"),
    ]
    out = normalize_records(records, normalizer_for("telethon"))
    assert [type(o) for o in out] == [Rejected] * 3
    assert sorted((o.origin, o.post_id) for o in out) == [
        ("f.jsonl:1", 1),
        ("f.jsonl:2", 2),
        ("f.jsonl:3", 3),
    ]


def _origin_ok(origin: str | None, path: Path, fmt: str) -> bool:
    if not origin:
        return False
    if origin == str(path):  # the file itself (unreadable, truncated, not a post list)
        return True
    sep = {"telethon-jsonl": ":", "x-v2-jsonl": ":", "telegram-export": "#", "telegram-web": "#"}[fmt]
    return re.fullmatch(re.escape(str(path)) + re.escape(sep) + r"\S+", origin) is not None


def test_every_reject_of_the_bad_corpus_names_its_origin(db, tmp_path):
    """Each corpus case on its own (the oversize text and the payload too deep to keep included): every row of
    rejected_records says which file, and which line or message, it came from."""
    seen = 0
    for i, case in enumerate(MANIFEST):
        truncate_all(db)
        (tmp_path / str(i)).mkdir()
        path = _materialise(case, tmp_path / str(i))
        with psycopg.connect(db) as conn:
            import_files(conn, [path], case["format"])
            rows = conn.execute("SELECT reason, origin FROM rejected_records").fetchall()
        for reason, origin in rows:
            assert _origin_ok(origin, path, case["format"]), (case["name"], reason, origin)
        seen += len(rows)
    assert seen >= len(MANIFEST) // 2
