"""The briefs part of `wirewatch demo`: group the demo day (if grouping has not run), write every brief, and
print the brief of the Rutte event (the event of the first report named in seeds/demo/ground_truth.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import psycopg
from rich.console import Console

from ingest.briefs.service import brief_window, event_brief
from ingest.warehouse import briefs as store

GROUND_TRUTH = Path(__file__).resolve().parents[2] / "seeds" / "demo" / "ground_truth.toml"
RUTTE_KEY = "rutte-ankara-contracts"


def rutte_event_id(conn: psycopg.Connection, ground_truth: Path = GROUND_TRUTH) -> int | None:
    """The current event id of the demo's Rutte story: the event holding its first report."""
    truth = tomllib.loads(ground_truth.read_text(encoding="utf-8"))
    event = next(e for e in truth["events"] if e["key"] == RUTTE_KEY)
    handle, post_id = event["first"]
    platform, channel_id = truth["channels"][handle]
    return store.event_of_post(conn, platform, channel_id, post_id)


def run_demo(conn: psycopg.Connection, console: Console) -> int | None:
    """Write the briefs and print the Rutte one; returns its event id."""
    if not store.has_events(conn):
        from ingest.events import group_window

        g = group_window(conn, None, None)
        console.print(f"[bold]grouped[/] {g.posts} posts into {g.events_created} events")
    stats = brief_window(conn, None, None)
    console.print(
        f"[bold]briefs[/]: {stats.events} events, {stats.written} written, {stats.unchanged} unchanged "
        f"({stats.seconds:.2f} s)"
    )
    eid = rutte_event_id(conn)
    if eid is None:
        console.print("[red]the Rutte event was not found (was the demo data imported?)[/]")
        return None
    brief = event_brief(conn, eid)
    console.rule(f"brief of event {eid} (wirewatch brief {eid})")
    console.print(brief["markdown"], markup=False, highlight=False, soft_wrap=True)
    return eid
