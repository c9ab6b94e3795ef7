"""`wirewatch demo`: load the synthetic demo day in seeds/demo, group it into events and print the briefs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import typer
from rich.console import Console

from ingest.cli import app, common
from ingest.pipeline import import_files
from ingest.warehouse import queries
from ingest.warehouse.db import redact

DEMO_DIR = Path(__file__).resolve().parents[2] / "seeds" / "demo"


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@app.command("demo")
def demo_cmd(path: Path = typer.Option(DEMO_DIR, help="Folder of demo data.")) -> None:
    """Import the demo data (idempotent), group events and print the briefs."""
    console = Console()
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
                f"{d.rejected} rejected, {d.versions} versions" + (f"  [red]{s.error}[/]" if s.error else "")
            )
        s = queries.post_summary(conn)
        console.print(
            f"[bold]warehouse holds[/] {s['posts']} posts from {s['channels']} channels, "
            f"{s['first']:%Y-%m-%d %H:%M} .. {s['last']:%Y-%m-%d %H:%M} UTC"
            if s["posts"]
            else "[bold]warehouse holds[/] no posts"
        )
        if _has("ingest.events.demo"):
            from ingest.events.demo import run_demo as events_demo

            events_demo(conn, console)
        if _has("ingest.briefs.demo"):
            from ingest.briefs.demo import run_demo as briefs_demo

            briefs_demo(conn, console)
