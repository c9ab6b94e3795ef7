"""Real posts of the Telegram news channels (`../shared/data/telegram_news_ru`) for a span of days, one JSONL file
per channel: what the grouping tests that need a window of history import (the whole files take ~10x longer to
group)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import orjson


def window_files(
    shared_data: Path,
    out: Path,
    since: datetime,
    until: datetime,
    late: Callable[[dict], bool] = lambda r: False,
) -> list[Path]:
    """Each channel's posts of [since, until), as its own JSONL file under `out`; those `late` picks go to a file
    of their own under `out/late` instead (listed after the others)."""
    paths, later = [], []
    (out / "late").mkdir()
    for src in sorted((shared_data / "telegram_news_ru").glob("*.jsonl")):
        keep: list[bytes] = []
        held: list[bytes] = []
        for line in src.read_bytes().splitlines():
            r = orjson.loads(line)
            if since <= datetime.fromisoformat(r["date"]) < until:
                (held if late(r) else keep).append(line)
        for lines, folder, into in ((keep, out, paths), (held, out / "late", later)):
            if lines:
                dst = folder / src.name
                dst.write_bytes(b"\n".join(lines) + b"\n")
                into.append(dst)
    return paths + later
