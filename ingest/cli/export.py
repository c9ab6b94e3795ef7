"""`wirewatch export parquet DIR`: the warehouse as month-partitioned Parquet files (see ingest.export.parquet)."""

from __future__ import annotations

from pathlib import Path

import typer

from ingest.cli import app, common

export_app = typer.Typer(help="Export the warehouse into files for other tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("parquet")
def parquet(
    directory: Path = typer.Argument(..., help="Folder to write (created if missing); re-export into it."),
    since: str = typer.Option(
        None, help="Only months from this one on (ISO 8601, 24h, 7d; whole UTC months)."
    ),
    until: str = typer.Option(None, help="Only months before this time (rounded up to a whole UTC month)."),
    force: bool = typer.Option(False, "--force", help="Rewrite every month, changed or not."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Write posts, post_versions, post_metrics, events, event_posts, storylines and channels as Parquet, one
    folder per table, one file per UTC month in hive style (DIR/posts/month=2026-06/part-0.parquet). Again into
    the same folder, only the months whose rows changed are rewritten."""
    from ingest.export.parquet import export

    t0, t1 = common.parse_time(since), common.parse_time(until)
    if t0 and t1 and t0 >= t1:
        typer.echo("error: --since must be before --until", err=True)
        raise typer.Exit(2)
    with common.open_db() as conn:
        try:
            report = export(conn, directory, since=t0, until=t1, force=force)
        except OSError as exc:  # a folder that cannot be made or written (read-only, full, not a folder)
            typer.echo(f"error: cannot write the export into {directory}: {exc.strerror or exc}", err=True)
            raise typer.Exit(1) from None
    if as_json:
        common.echo_json(report.as_dict())
        return
    for name, t in report.tables.items():
        typer.echo(
            f"{name:14} {len(t.written):4} written ({t.rows} rows), {t.unchanged:4} unchanged, "
            f"{len(t.removed)} removed"
        )
    typer.echo(f"exported into {report.directory} in {report.seconds:.1f} s")
