"""`wirewatch group` and `wirewatch events`: group new posts into events, list the events."""

from __future__ import annotations

import typer
from rich.table import Table

from ingest.cli import app, common


def _fmt(dt) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else ""


@app.command("group")
def group_cmd(
    since: str = typer.Option(
        None, help="Group posts from this time (ISO, or relative like 72h). Default: all."
    ),
    until: str = typer.Option(None, help="Group posts before this time (ISO or relative). Default: all."),
    full: bool = typer.Option(
        False, "--full", help="Regroup every post of the window from scratch (ids kept)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the run's figures as JSON."),
) -> None:
    """Group new and edited posts into events (hours) and storylines (days).

    Incremental: only posts without a group, or edited since, are grouped, against the open events; the result
    equals a full regroup of the same posts, and ids stay stable across runs.
    """
    # Imported here, not at the top: grouping pulls in numpy and scipy, and every wirewatch command would pay
    # for them at start-up.
    from ingest.events import group_window

    with common.open_db() as conn:
        stats = group_window(conn, common.parse_time(since), common.parse_time(until), full=full)
    if as_json:
        common.echo_json(stats.as_dict())
        return
    line = (
        f"{stats.mode}: {stats.posts} posts grouped, {stats.events_created} new events, "
        f"{stats.events_merged} merged, {stats.storylines_created} new storylines, "
        f"{stats.storylines_merged} merged, {stats.seconds:.2f} s"
    )
    if stats.replayed_from:
        line += f" (replayed from {_fmt(stats.replayed_from)})"
    typer.echo(line)


@app.command("events")
def events_cmd(
    since: str = typer.Option(None, help="Events active since (ISO, or relative like 24h)."),
    until: str = typer.Option(None, help="Events first seen before (ISO or relative)."),
    min_posts: int = typer.Option(1, "--min-posts", help="Leave out events with fewer posts."),
    limit: int = typer.Option(50),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Events, most independent sources first: first seen (UTC), posts, independent sources, title."""
    from ingest.events import list_events

    with common.open_db() as conn:
        rows = list_events(
            conn,
            since=common.parse_time(since),
            until=common.parse_time(until),
            min_posts=min_posts,
            limit=limit,
        )
    if as_json:
        common.echo_json(rows)
        return
    table = Table("event", "storyline", "first seen (UTC)", "posts", "sources", "first by", "title")
    for r in rows:
        who = common.first_by(r)
        table.add_row(
            str(r["event_id"]), str(r["storyline_id"]), _fmt(r["first_post_at"]), str(r["post_count"]),
            str(r["source_count"]), common.cell(who), common.cell((r["title"] or "")[:90]),
        )  # fmt: skip
    common.table_console().print(table)
