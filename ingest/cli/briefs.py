"""`wirewatch brief`, `wirewatch briefs`, `wirewatch search`: an event's brief, the briefs of a window, and
full-text search over posts in any language."""

from __future__ import annotations

import sys

import typer

from ingest.cli import app, common


@app.command("brief")
def brief_cmd(
    event_id: int = typer.Argument(..., help="Event id (from `wirewatch events`; a merged id resolves)."),
    fmt: str = typer.Option("md", "--format", "-f", help="md (Markdown) or json."),
    no_save: bool = typer.Option(False, "--no-save", help="Do not store the brief in the briefs table."),
) -> None:
    """Print an event's brief: first seen, timeline (UTC), corroboration, quoted words and figures per source,
    single-source claims, disagreements, provenance links."""
    from ingest.briefs import event_brief

    if fmt not in ("md", "json"):
        raise typer.BadParameter("--format must be md or json")
    with common.open_db() as conn:
        brief = event_brief(conn, event_id, save=not no_save)
    if brief is None:
        typer.echo(f"error: no event {event_id} (run `wirewatch group` first?)", err=True)
        sys.exit(2)
    if fmt == "json":
        common.echo_json(brief["json"])
    else:
        typer.echo(brief["markdown"], nl=False)


@app.command("briefs")
def briefs_cmd(
    since: str = typer.Option(
        None, help="Events with a post since (ISO, or relative like 24h). Default: all."
    ),
    until: str = typer.Option(None, help="Events first seen before (ISO or relative). Default: all."),
    force: bool = typer.Option(False, "--force", help="Rewrite every brief, changed or not."),
    min_posts: int = typer.Option(1, "--min-posts", help="Only events with at least this many posts."),
    as_json: bool = typer.Option(False, "--json", help="Print the run's figures as JSON."),
) -> None:
    """Write the brief of every event of a window whose posts changed since its brief was written (the hourly
    DAG's last task runs the same), and drop the briefs of merged events."""
    from ingest.briefs import brief_window

    with common.open_db() as conn:
        stats = brief_window(
            conn, common.parse_time(since), common.parse_time(until), force=force, min_posts=min_posts
        )
    if as_json:
        common.echo_json(stats.as_dict())
        return
    typer.echo(
        f"{stats.events} events: {stats.written} briefs written, {stats.unchanged} unchanged, "
        f"{stats.dropped} dropped, {stats.seconds:.2f} s"
    )


@app.command("search")
def search_cmd(
    query: str = typer.Argument(..., help='Words (all must match), "a phrase", OR, -word; any language.'),
    since: str = typer.Option(None, help="Only posts published since (ISO, or relative like 24h)."),
    limit: int = typer.Option(20, help="At most this many posts."),
    ranked: bool = typer.Option(
        False,
        "--ranked",
        help="Best matches first (ranks every match: slower for common words; narrow with --since).",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Full-text search of post texts (analyst.search): Russian and English words match their inflected forms,
    other languages word for word. Newest first; --ranked: best matches first."""
    from rich.table import Table

    from ingest.warehouse.analyst import search

    # The analysts' DSN when set: searches run on the read replica, not on the server that loads.
    with common.open_analyst_db() as conn:
        rows = search(conn, query, since=common.parse_time(since), ranked=ranked, limit=limit)
    if as_json:
        common.echo_json(rows)
        return
    if not rows:
        typer.echo("no posts found")
        return
    table = Table("posted (UTC)", "channel", "lang", "rank", "snippet", "link")
    for r in rows:
        table.add_row(
            r["posted_at"].strftime("%Y-%m-%d %H:%M"), common.cell(common.channel_name(r["platform"], r["channel"], r["channel_title"], r["channel_id"])),
            r["lang"] or "", f"{r['rank']:.3f}", common.snippet_cell(r["snippet"]), common.cell(r["url"] or ""),
        )  # fmt: skip
    common.table_console().print(table)
