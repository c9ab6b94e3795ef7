"""`wirewatch demo`: load the synthetic demo day in seeds/demo, group it into events and print the briefs.

What the demo knows about its data (the Rutte story of seeds/demo/ground_truth.toml) lives here, not in the
product packages."""

from __future__ import annotations

import tomllib
from pathlib import Path

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from ingest.cli import app, common
from ingest.run.imports import import_files
from ingest.warehouse import briefs as store
from ingest.warehouse import queries
from ingest.warehouse.db import redact

DEMO_DIR = Path(__file__).resolve().parents[2] / "seeds" / "demo"
GROUND_TRUTH = DEMO_DIR / "ground_truth.toml"
RUTTE_KEY = "rutte-ankara-contracts"


@app.command("demo")
def demo_cmd(path: Path = typer.Option(DEMO_DIR, help="Folder of demo data.")) -> None:
    """Import the demo data (idempotent), group events and print the briefs."""
    console = common.table_console(140)
    dsn = common.get_dsn()
    console.print(f"[bold]warehouse[/]: {redact(dsn)}")
    with common.open_db() as conn:
        summaries = import_files(conn, [path])
        console.print(f"[bold]imported[/] {len(summaries)} file(s) from {path}")
        for s in summaries:
            d = s.stats
            console.print(
                f"  {Path(s.path).relative_to(path) if s.path.startswith(str(path)) else s.path}: "
                f"{s.records} records, {d.inserted} new, {d.updated} updated, {d.unchanged} unchanged, "
                f"{d.rejected} rejected, {d.versions} versions"
                + (f"  [red]{common.plain(s.error)}[/]" if s.error else "")
            )
        s = queries.post_summary(conn)
        console.print(
            f"[bold]warehouse holds[/] {s['posts']} posts from {s['channels']} channels, "
            f"{s['first']:%Y-%m-%d %H:%M} .. {s['last']:%Y-%m-%d %H:%M} UTC"
            if s["posts"]
            else "[bold]warehouse holds[/] no posts"
        )
        from ingest.events import group_window, list_events

        stats = group_window(conn, None, None)
        console.print(
            f"[bold]grouped[/] {stats.posts} posts ({stats.mode}): {stats.events_created} new events, "
            f"{stats.storylines_created} new storylines"
        )
        table = Table(
            "event", "first seen (UTC)", "posts", "sources", "first by", "title", title="events with 2+ posts"
        )
        for e in list_events(conn, min_posts=2, limit=20):
            table.add_row(
                str(e["event_id"]), f"{e['first_post_at']:%Y-%m-%d %H:%M}", str(e["post_count"]),
                str(e["source_count"]),
                common.cell(common.first_by(e)),
                common.cell((e["title"] or "")[:70]),
            )  # fmt: skip
        console.print(table)
        run_demo(conn, console)


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
    # Briefs and grouping pull in numpy and scipy: imported where used, so other commands start faster.
    from ingest.briefs.service import brief_window, event_brief

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
