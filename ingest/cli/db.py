"""`wirewatch db ...`: schema migrations and the embedded server."""

from __future__ import annotations

import typer

from ingest.cli import app, common
from ingest.warehouse import migrate

db_app = typer.Typer(help="Warehouse schema and the embedded server.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply pending migrations from schemas/ (safe to run twice)."""
    with common.open_db(upgrade=False) as conn:
        applied = migrate.upgrade(conn)
        typer.echo(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
        for version, name in migrate.current(conn):
            typer.echo(f"  {version:03d} {name}")


@db_app.command("replication")
def replication(as_json: bool = typer.Option(False, "--json")) -> None:
    """How far the analysts' read replica is behind: the standbys the warehouse streams to (pg_stat_replication)
    and, when $WIREWATCH_ANALYST_DSN is set, that server's own replay lag."""
    from ingest.warehouse import replication as wr

    with common.open_db(upgrade=False) as conn:
        primary = wr.status(conn)
    analysts = None
    if common.analyst_dsn():
        with common.open_analyst_db() as conn:
            analysts = wr.status(conn)
    if as_json:
        common.echo_json({"warehouse": primary.as_dict(), "analysts": analysts and analysts.as_dict()})
        return
    role = "a standby" if primary.standby else f"a primary with {len(primary.standbys)} standby(s)"
    typer.echo(f"warehouse: {role}")
    for s in primary.standbys:
        lag = s["replay_lag_seconds"]
        typer.echo(
            f"  {s['application_name'] or '?'} at {s['client_addr'] or 'local'}: {s['state']}, "
            f"replay lag {'0 s (caught up)' if lag is None else f'{lag:.1f} s'}, "
            f"{int(s['replay_behind_bytes'] or 0)} bytes behind"
        )
    if analysts is None:
        typer.echo(f"analysts: ${common.ANALYST_DSN_ENV} not set (analysts read the warehouse itself)")
    elif not analysts.standby:
        typer.echo("analysts: a primary server, not a replica (no lag)")
    else:
        typer.echo(
            f"analysts: a replica, {analysts.replay_lag_seconds:.1f} s behind "
            f"(last replayed transaction {analysts.last_replayed_at:%Y-%m-%d %H:%M:%S} UTC)"
            if analysts.replay_lag_seconds is not None and analysts.last_replayed_at
            else "analysts: a replica that has replayed no transaction yet"
        )


@db_app.command("dsn")
def show_dsn() -> None:
    """Print the DSN in use (password hidden)."""
    from ingest.warehouse.db import redact

    typer.echo(redact(common.get_dsn()))


@db_app.command("stop")
def stop() -> None:
    """Stop the embedded server (if wirewatch started one)."""
    from ingest.warehouse.embedded import stop as stop_embedded

    stop_embedded()
    typer.echo("embedded server stopped")


@db_app.command("maintain")
def maintain(
    months_ahead: int = typer.Option(3, "--months-ahead", min=0, help="Months of partitions made ahead."),
    retention_months: int | None = typer.Option(
        None,
        "--retention-months",
        min=1,
        help="Drop raw payloads (raw_records) of months that ended more than N months ago; default "
        "$WIREWATCH_RAW_RETENTION_MONTHS, unset: keep them. Posts, versions and counts are never dropped.",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Monthly partitions: create the coming months', move rows of months that had none into theirs, and apply
    the raw payload retention (what the hourly DAG runs)."""
    from ingest.warehouse import partitions

    if retention_months is None:
        retention_months = partitions.retention_from_env()
    with common.open_db() as conn:
        report = partitions.maintain(conn, months_ahead=months_ahead, retention_months=retention_months)
    if as_json:
        common.echo_json(report.as_dict())
        return
    typer.echo(
        f"created {len(report.created)} partition(s)"
        + (": " + ", ".join(report.created) if report.created else "")
    )
    for table, n in report.moved_from_default.items():
        typer.echo(f"  {n} row(s) of {table} moved from its default partition into their month")
    if retention_months is None:
        typer.echo("retention: off (raw payloads are kept)")
    else:
        typer.echo(
            f"retention {retention_months} month(s): dropped {len(report.dropped)} partition(s) "
            f"({report.dropped_bytes / 1e6:.1f} MB) and {report.deleted_from_default} old row(s) of the default "
            f"partition in {report.drop_seconds:.2f} s"
        )
