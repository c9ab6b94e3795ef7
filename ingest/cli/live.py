"""`wirewatch ingest`: one incremental pass over watched channels (what the hourly DAG runs per channel)."""

from __future__ import annotations

import typer
from rich.table import Table

from ingest.cli import app, common
from ingest.run import reconnecting


@app.command("ingest")
def ingest_cmd(
    channel: list[str] = typer.Option(None, "--channel", "-c", help="Channel handle(s) from channels.toml."),
    all_: bool = typer.Option(False, "--all", help="Every watched channel."),
    since: str = typer.Option(
        None, help="Only posts from this time (ISO or 24h); default: since the cursor."
    ),
    until: str = typer.Option(None, help="Only posts before this time."),
    rescan_hours: float = typer.Option(
        None, help="Re-read this many hours for edits/deletions/counts (default 48)."
    ),
    as_json: bool = typer.Option(False, "--json"),
    force: bool = typer.Option(
        False, "--force", help="Normalise every fetched record, even one stored from the very same bytes."
    ),
) -> None:
    """Fetch new posts of watched channels, then rescan recent ones. Exit 0 ok, 1 a channel failed,
    4 a channel was deferred by a rate limit (its cursor is intact; the next run resumes). A fetched record
    whose post is stored from the very same bytes is counted unchanged without normalising it; --force
    normalises it anyway."""
    if not channel and not all_:
        typer.echo("error: name channels with --channel or pass --all", err=True)
        raise typer.Exit(2)
    try:
        specs = reconnecting.watched_channels(channel or None)
    except KeyError as exc:
        typer.echo(f"error: {exc.args[0]}", err=True)
        raise typer.Exit(2) from None
    with common.open_db():
        pass  # migrations applied before the per-channel connections open
    dsn = common.get_dsn()
    summaries = [
        reconnecting.ingest_channel(
            dsn,
            spec,
            since=common.parse_time(since),
            until=common.parse_time(until),
            rescan_hours=rescan_hours,
            force=force,
        )
        for spec in specs
    ]
    if as_json:
        common.echo_json([s.as_dict() for s in summaries])
    else:
        table = Table(
            "channel",
            "source",
            "status",
            "new",
            "updated",
            "unchanged",
            "rejected",
            "deleted",
            "reads",
            "note",
        )
        for s in summaries:
            d = s.stats
            note = s.error or (
                f"deferred until {s.deferred_until:%Y-%m-%d %H:%M}Z" if s.deferred_until else ""
            )
            table.add_row(
                common.cell(f"{s.platform}:{s.handle}"), s.source, s.status, str(d.inserted), str(d.updated),
                str(d.unchanged), str(d.rejected), str(d.deleted), str(s.api_reads), common.cell(note[:80]),
            )  # fmt: skip
        common.table_console().print(table)
    if any(s.status == "failed" for s in summaries):
        raise typer.Exit(1)
    if any(s.status == "deferred" for s in summaries):
        raise typer.Exit(4)
