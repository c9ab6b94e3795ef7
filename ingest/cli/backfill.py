"""`wirewatch backfill` (the hourly DAG's task code over a long window, no scheduler) and `wirewatch airflow
pools` (the Airflow pools the DAG needs)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ingest.cli import app, common
from ingest.run import backfill, dag_tasks, reconnecting


@app.command("backfill")
def backfill_cmd(
    channel: list[str] = typer.Option(
        None, "--channel", "-c", help="Channel(s) from channels.toml (default: all)."
    ),
    from_: str = typer.Option(..., "--from", help="Start (ISO 8601, no zone = UTC; or 7d for 7 days ago)."),
    to: str = typer.Option(None, "--to", help="End, exclusive (default: the start of the current hour)."),
    chunk_hours: float = typer.Option(
        1.0, "--chunk-hours", help="Hours a chunk (1 = one hourly DAG run each)."
    ),
    rescan_hours: float = typer.Option(
        backfill.BACKFILL_RESCAN_HOURS,
        "--rescan-hours",
        help="Re-read this many hours before each chunk's end.",
    ),
    redo: bool = typer.Option(False, "--redo", help="Run chunks again even if a succeeded run covers them."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Fetch every channel over [--from, --to) in chunks, oldest first, resumable: chunks with a succeeded run
    (from an interrupted backfill or the hourly DAG) are skipped, so the same command resumes after Ctrl-C or a
    crash. Exit 0 ok, 1 a chunk failed, 4 a channel was deferred by a rate limit (run it again later), 130 on
    Ctrl-C."""
    since = common.parse_time(from_)
    until = common.parse_time(to) if to else dag_tasks.floor_hour(common.parse_time("now"))
    try:
        specs = reconnecting.watched_channels(channel or None)
        windows = backfill.chunk_windows(since, until, chunk_hours)
    except (KeyError, ValueError) as exc:
        typer.echo(f"error: {exc.args[0] if isinstance(exc, KeyError) else exc}", err=True)
        raise typer.Exit(2) from None
    console = Console(stderr=True)
    with common.open_db() as conn:  # migrations applied; the plan reads what is done
        todo = backfill.plan(conn, specs, since, until, chunk_hours, redo=redo)
    console.print(
        f"backfill {since:%Y-%m-%d %H:%M}Z → {until:%Y-%m-%d %H:%M}Z: {len(specs)} channel(s) × {len(windows)} "
        f"chunk(s) of {chunk_hours:g} h; {todo.done} already done, {len(todo.pending)} to run"
    )
    columns = (
        SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[posts]} new posts"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
    )  # fmt: skip
    posts = 0
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            bar = progress.add_task("backfill", total=len(todo.pending), posts=0)

            def on_chunk(chunk: backfill.Chunk, summary) -> None:
                nonlocal posts
                if summary is not None:
                    posts += summary.stats.inserted
                progress.update(bar, advance=1, posts=posts,
                                description=f"{chunk.target} {chunk.since:%m-%d %H:%M}Z")  # fmt: skip

            outcome = backfill.run(common.get_dsn(), todo, rescan_hours=rescan_hours, on_chunk=on_chunk)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: finished chunks are kept; run the same command to resume")
        raise typer.Exit(130) from None
    result = {"channels": len(specs), "chunks": todo.total, "already_done": todo.done, **outcome.as_dict()}
    if as_json:
        common.echo_json(result)
    else:
        console.print(
            f"{outcome.succeeded} chunk(s) succeeded, {len(outcome.failed)} failed, {len(outcome.deferred)} channel(s)"
            f" deferred, in {outcome.seconds:.1f} s; posts: +{outcome.stats.get('inserted', 0)} new, "
            f"{outcome.stats.get('updated', 0)} updated, {outcome.stats.get('rejected', 0)} rejected"
        )
        for f in outcome.failed[:20]:
            window = common.plain(f"[{f['since']}, {f['until']})")
            console.print(
                f"  [red]failed[/] {common.plain(f['channel'])} {window}: {common.plain(f['error'])}"
            )
        for name, when in outcome.deferred.items():
            console.print(f"  [yellow]deferred[/] {name} until {when}: run the command again after that")
    if outcome.failed:
        raise typer.Exit(1)
    if outcome.deferred:
        raise typer.Exit(4)


airflow_app = typer.Typer(help="Set up Airflow for the hourly DAG.", no_args_is_help=True)
app.add_typer(airflow_app, name="airflow")


@airflow_app.command("pools")
def pools_cmd(
    output: Path = typer.Option(
        None, "--output", "-o", help="Write the pools JSON here (for `airflow pools import`)."
    ),
    apply: bool = typer.Option(
        False, "--apply", help="Create or update the pools now with `airflow pools import`."
    ),
) -> None:
    """The Airflow pools the hourly DAG's tasks run in: one per platform and account in channels.toml
    (telegram_<account>: 1 slot, one task a Telegram session; x_<account>: 2 slots). Pools cannot be created
    from the environment, and a task whose pool is missing never runs: create them once per deployment and
    again after adding an account."""
    spec = dag_tasks.pools_spec()
    text = json.dumps(spec, indent=2) + "\n"
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            typer.echo(f"error: cannot write {output}: {exc.strerror or exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"wrote {len(spec)} pool(s) to {output}", err=True)
    if apply:
        airflow = shutil.which("airflow") or str(Path(sys.executable).with_name("airflow"))
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            fh.write(text)
        try:
            done = subprocess.run([airflow, "pools", "import", fh.name], check=False)
        finally:
            Path(fh.name).unlink(missing_ok=True)
        if done.returncode != 0:
            typer.echo(
                "error: `airflow pools import` failed (is the Airflow metadata database migrated?)", err=True
            )
            raise typer.Exit(1)
        typer.echo(f"created/updated pools: {', '.join(spec)}", err=True)
    if output is None and not apply:
        typer.echo(text, nl=False)
