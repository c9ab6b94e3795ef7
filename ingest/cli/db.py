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
