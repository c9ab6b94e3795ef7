"""`wirewatch import`, `posts` and `runs`: load files, look at posts, see what ran."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from ingest.cli import app, common
from ingest.sources.formats import FORMATS
from ingest.textsafe import inert

FORMAT_HELP = "auto, or one of: " + ", ".join(f"{f.name} ({f.help})" for f in FORMATS.values())


@app.command("import")
def import_cmd(
    paths: list[Path] = typer.Argument(..., help="Files or folders to import."),
    fmt: str = typer.Option("auto", "--format", "-f", help=FORMAT_HELP),
    batch_size: int = typer.Option(5000, help="Records per transaction."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    strict: bool = typer.Option(False, help="Exit 1 when any record was rejected."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Read every file and normalise every record, even those imported before as they are.",
    ),
    jobs: int = typer.Option(
        0,
        "--jobs",
        "-j",
        min=0,
        help="Worker processes importing files at once; a channel's files share one, and one big Telethon JSONL "
        "file of several channels is split by channel across them (0: one per core, at most 4; 1: one process).",
    ),
) -> None:
    """Import Telegram Desktop exports, Telethon JSONL, X API v2 pages or saved t.me/s pages.

    Idempotent: importing the same file again changes nothing. A file imported whole before with the same bytes
    (size and content hash, in the import ledger) is skipped without parsing, and in a file that is read a record
    whose post is stored from the very same bytes is not normalised again; --force reads everything. Bad
    records land in rejected_records and the rest loads. Several files are imported at once on every core, and
    one big file of several channels is split by channel (--jobs); the warehouse ends as one import of the files
    in order makes it. Exit code 0, or 1 when a file
    could not be read (or, with --strict, anything was rejected).
    """
    if fmt != "auto" and fmt not in FORMATS:
        typer.echo(f"error: unknown format {fmt!r}. {FORMAT_HELP}", err=True)
        raise typer.Exit(2)
    # Imported here, not at the top: `wirewatch import` of an unchanged file is mostly start-up.
    from rich.console import Console
    from rich.table import Table

    from ingest.run import parallel

    console = Console(stderr=True)
    with common.open_db():
        pass  # migrations applied before the import's own (reconnecting) connection opens
    with _progress(console) as advance:
        try:
            summaries = parallel.import_paths_parallel(
                common.get_dsn(),
                paths,
                fmt,
                jobs=jobs,
                batch_size=batch_size,
                on_progress=advance,
                skip_unchanged=not force,
            )
        except parallel.WorkerFailed as exc:
            typer.echo(f"error: {inert(str(exc))}", err=True)
            raise typer.Exit(exc.exit_code) from None
    if as_json:
        common.echo_json([s.as_dict() for s in summaries])
    else:
        # In a terminal the file names fold rather than being cut to "../sh…"; short count headers, as `wirewatch
        # runs` has them (the total line below spells them out).
        table = Table()
        table.add_column("file", overflow="fold", ratio=1, min_width=16)
        table.add_column("format", overflow="fold")
        for name in ("records", "new", "upd", "same", "rej", "ver", "met"):
            table.add_column(name, justify="right", no_wrap=True)
        for s in summaries:
            d = s.stats
            table.add_row(
                common.cell(s.path + (" (unchanged file, skipped)" if s.skipped else "")), s.format, str(s.records), str(d.inserted), str(d.updated), str(d.unchanged),
                str(d.rejected), str(d.versions), str(d.metrics),
            )  # fmt: skip
        common.table_console().print(table)
        totals = {
            k: sum(s.stats.as_dict()[k] for s in summaries)
            for k in ("inserted", "updated", "unchanged", "rejected")
        }
        typer.echo("total: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
        for s in summaries:
            if s.error:
                typer.echo(f"error: {inert(s.path)}: {inert(s.error)}", err=True)
    failed = any(s.error for s in summaries)
    rejected = any(s.stats.rejected for s in summaries)
    if failed or (strict and rejected):
        raise typer.Exit(1)


@contextmanager
def _progress(console) -> Iterator[Callable[[int], object]]:
    """A progress bar on a terminal (records read so far); elsewhere nothing, and rich.progress not imported."""
    if not console.is_terminal:
        yield lambda n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TextColumn("records"), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("import", total=None)
        yield lambda n: progress.advance(task, n)


@app.command("posts")
def posts_cmd(
    channel: str = typer.Option(None, "--channel", "-c", help="Handle (current or past) or numeric id."),
    since: str = typer.Option(None, help="ISO time or relative (24h, 7d)."),
    until: str = typer.Option(None, help="ISO time or relative."),
    limit: int = typer.Option(50),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """A quick look at stored posts, newest first (times in UTC)."""
    from rich.table import Table

    from ingest.warehouse import queries

    with common.open_db() as conn:
        rows = queries.list_posts(
            conn, channel=channel, since=common.parse_time(since), until=common.parse_time(until), limit=limit
        )
    if as_json:
        common.echo_json(rows)
        return
    table = Table("posted (UTC)", "channel", "id", "text", "views", "ver", "url")
    for r in rows:
        table.add_row(
            r["posted_at"].strftime("%Y-%m-%d %H:%M"), common.cell(common.channel_name(r["platform"], r["handle"], r["title"], r["channel_id"])),
            str(r["post_id"]), common.post_cell(r["text"]), str(r["views"] or ""),
            str(r["versions"]), common.cell(r["url"] or ""),
        )  # fmt: skip
    common.table_console().print(table)


@app.command("runs")
def runs_cmd(limit: int = typer.Option(20), as_json: bool = typer.Option(False, "--json")) -> None:
    """Recent import/ingest/backfill runs; runs whose process died are marked failed first."""
    from rich.table import Table

    from ingest.warehouse import runs

    with common.open_db() as conn:
        runs.reap_dead_runs(conn)
        conn.commit()
        rows = runs.recent_runs(conn, limit)
    if as_json:
        common.echo_json(rows)
        return
    table = Table(
        "run", "kind", "source", "target", "status", "new", "upd", "same", "rej", "started (UTC)", "error"
    )
    for r in rows:
        table.add_row(
            str(r["run_id"]), r["kind"], r["source"], common.cell((r["target"] or "")[-40:]), r["status"],
            str(r["inserted"]), str(r["updated"]), str(r["unchanged"]), str(r["rejected"]),
            r["started_at"].strftime("%Y-%m-%d %H:%M:%S"), common.cell((r["error"] or "")[:60]),
        )  # fmt: skip
    common.table_console(220).print(table)
