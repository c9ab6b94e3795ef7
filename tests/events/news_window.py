"""Real posts of the Telegram news channels (`../shared/data/telegram_news_ru`) for a span of days, one JSONL file
per channel: what the grouping tests that need a window of history import (the whole files take ~10x longer to
group)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import orjson
import psycopg

from ingest.events import group_window, partition
from ingest.events.cluster import Params
from ingest.events.group import GroupStats
from ingest.run.imports import import_files
from ingest.warehouse.event_reads import storyline_partition
from tests.events.posts import sets


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


def late_ones(key: tuple[str, int, int], cut: datetime) -> Callable[[dict], bool]:
    """A `late` picker for `window_files`: the post `key`, and every fifth post from `cut` on."""

    def late(r: dict) -> bool:
        return (r["peer_id"]["channel_id"], r["id"]) == key[1:] or (
            datetime.fromisoformat(r["date"]) >= cut and r["id"] % 5 == 0
        )

    return late


def group_on_time_then_late(conn: psycopg.Connection, files: list[Path], out: Path) -> GroupStats:
    """Import and group the files `window_files` wrote on time (under `out`), then import the late ones and group
    again: the second run's stats."""
    on_time = [f for f in files if f.parent == out]
    import_files(conn, on_time)
    conn.commit()
    group_window(conn)
    import_files(conn, [f for f in files if f not in on_time])
    conn.commit()
    return group_window(conn)


def groups(conn: psycopg.Connection) -> tuple[set, set]:
    """The warehouse's events and storylines, each as a set of frozensets of post keys (ids left out)."""
    return sets(partition(conn)), sets(storyline_partition(conn))


def assert_regroups_agree(conn: psycopg.Connection, expected: tuple[set, set]) -> None:
    """One full regroup, and one in buckets of 100 posts, make the `expected` events and storylines (`groups`)."""
    for params in (None, Params(bucket_posts=100)):
        group_window(conn, full=True, params=params)
        assert groups(conn) == expected, params


def joined_by(conn: psycopg.Connection, key: tuple[str, int, int]) -> str:
    """Why the post is in its event (`event_posts.joined_by`)."""
    return conn.execute(
        "SELECT joined_by FROM event_posts WHERE platform = %s AND channel_id = %s AND post_id = %s", key
    ).fetchone()[0]
