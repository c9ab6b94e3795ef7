"""The `wirewatch` command. Each sub-module registers one group of commands; none holds SQL or platform code.

Exit codes: 0 success; 1 a run failed or records were rejected where --strict asks for none; 2 usage error
(bad arguments, unknown format or channel); 3 the database is unreachable; 4 some channels were deferred
(rate-limited) while the rest succeeded.
"""

from __future__ import annotations

import logging
import sys

import psycopg
import typer

from ingest.cli import common

app = typer.Typer(
    name="wirewatch",
    help="Watch Telegram channels and X accounts: ingest, group by event, brief.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    dsn: str = typer.Option(
        None, "--dsn", help="PostgreSQL DSN (default: $WIREWATCH_DSN, else the embedded server)."
    ),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More logging (-v info, -vv debug)."),
) -> None:
    common.STATE.dsn = dsn
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    common.install_redaction()


def _register() -> None:
    """Import every command module; each registers its commands on `app`."""
    from ingest.cli import (  # noqa: F401 - registration side effects
        analyst,
        backfill,
        briefs,
        db,
        demo,
        evaluate,
        events,
        imports,
        live,
        serve,
        telegram,
    )


def main() -> None:
    _register()
    try:
        app()
    except common.DatabaseUnreachable as exc:
        typer.echo(f"error: database unreachable: {exc}", err=True)
        sys.exit(3)
    except psycopg.OperationalError as exc:  # lost mid-run and not back after the retries
        typer.echo(f"error: database connection lost: {str(exc).strip().splitlines()[0]}", err=True)
        sys.exit(3)
