"""The `wirewatch` command. Each sub-module registers one group of commands; none holds SQL or platform code.

Exit codes: 0 success; 1 a run failed or records were rejected where --strict asks for none; 2 usage error
(bad arguments, unknown format or channel); 3 the database is unreachable (or the connection was lost and did
not come back after the retries); 4 some channels were deferred (rate-limited) while the rest succeeded; 5 the
database is reachable but refused the work: disk full, out of memory, too many connections, a statement or lock
timeout (including a bounded wait for one of wirewatch's own locks), or a deadlock that persisted after the
retries. The message names the cause and the next step, and the run row's `error` says the same.
"""

from __future__ import annotations

import logging
import sys

import psycopg
import typer

from ingest.cli import common
from ingest.run import bulk
from ingest.warehouse import faults

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


#: Which module registers each top-level command or group. `main` imports only the one a command line names
#: (the others cost ~0.3 s of start-up: rich, the console's web stack, Telethon, the event grouping); a line
#: that names none (`--help`, a typo) gets them all, so help and "no such command" list everything.
COMMAND_MODULES: dict[str, str] = {
    "import": "imports", "posts": "imports", "runs": "imports",
    "backfill": "backfill", "airflow": "backfill",
    "brief": "briefs", "briefs": "briefs", "search": "briefs",
    "db": "db", "demo": "demo", "eval": "evaluate", "group": "events", "events": "events", "export": "export",
    "ingest": "live", "serve": "serve", "telegram": "telegram", "analyst": "analyst",
}  # fmt: skip

#: Options of the root callback that take a value (the command name comes after it).
_ROOT_VALUE_OPTIONS = ("--dsn",)


def _register(argv: list[str] | None = None) -> None:
    """Import the command modules (each registers its commands on `app`): only the one `argv` names, when it
    names one, else every module."""
    import importlib

    name = _command_name(argv) if argv is not None else None
    modules = [COMMAND_MODULES[name]] if name in COMMAND_MODULES else sorted(set(COMMAND_MODULES.values()))
    for module in modules:
        importlib.import_module(f"ingest.cli.{module}")


def _command_name(argv: list[str]) -> str | None:
    """The command a command line names: its first argument that is neither a root option nor its value."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _ROOT_VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


#: Commands that parse and normalise records in bulk: they run with the collector and the thread switch interval
#: tuned (`ingest.run.bulk`).
BULK_COMMANDS = frozenset({"import", "backfill", "ingest", "demo"})


def main() -> None:
    argv = sys.argv[1:]
    _register(argv)
    if _command_name(argv) in BULK_COMMANDS:
        bulk.tune()
    try:
        app()
    except common.DatabaseUnreachable as exc:
        typer.echo(f"error: database unreachable: {exc}", err=True)
        sys.exit(3)
    except faults.DatabaseFault as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(5)
    except psycopg.OperationalError as exc:
        typer.echo(f"error: {faults.describe(exc)}", err=True)
        # Lost mid-run and not back after the retries: 3. Anything else the server refused: 5.
        sys.exit(3 if faults.classify(exc) == faults.CONNECTION else 5)
