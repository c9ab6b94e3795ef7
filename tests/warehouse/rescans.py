"""Rescans of one real Telethon capture in which only the counts change (what every hourly rescan sees), and
optionally one real edit: the input of the storage tests and of tests/data/warehouse_010 (a warehouse the code
before migration 011 built from it)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

FIRST_FETCH = datetime(2025, 8, 21, 6, 0, tzinfo=UTC)


def capture(source: Path) -> list[dict]:
    return [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_pass(messages: list[dict], out: Path, n: int, *, edit_at: int | None = None) -> Path:
    """Pass `n` (0 = the capture as it is): views and forwards grown, reactions unchanged; from pass `edit_at` on
    the first message has a new text (a real edit). The file's mtime is the fetch time (hourly), which the
    importer takes as the observation time of records that carry none."""
    lines = []
    for i, m in enumerate(messages):
        m = json.loads(json.dumps(m))
        if n:
            m["views"] = (m.get("views") or 0) + n * (10 + i)
            if m.get("forwards") is not None:
                m["forwards"] = m["forwards"] + n
        if edit_at is not None and n >= edit_at and i == 0:
            m["message"] = m["message"] + " (updated)"
            m["edit_date"] = (FIRST_FETCH + timedelta(hours=edit_at) - timedelta(minutes=5)).strftime(
                "%Y-%m-%d %H:%M:%S.000000"
            )
            m["edit_hide"] = False
        lines.append(json.dumps(m, ensure_ascii=False))
    path = out / f"pass_{n:03d}" / "bloomberg_1488156064.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    t = (FIRST_FETCH + timedelta(hours=n)).timestamp()
    os.utime(path, (t, t))
    return path
