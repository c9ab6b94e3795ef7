"""`wirewatch serve`: the analysts' console (ingest/console/) on uvicorn, read-only, on 127.0.0.1 by default."""

from __future__ import annotations

import logging
import sys

import typer

from ingest.cli import app, common

TOKEN_ENV = "WIREWATCH_CONSOLE_TOKEN"


@app.command("serve")
def serve_cmd(
    host: str = typer.Option("127.0.0.1", help="Address to bind. Anything but loopback requires a token."),
    port: int = typer.Option(8000, help="Port."),
    token: str = typer.Option(
        None,
        "--token",
        envvar=TOKEN_ENV,
        show_envvar=True,
        help=f"Access token every request must carry (prefer ${TOKEN_ENV}: a flag shows in ps).",
    ),  # fmt: skip
    role: str = typer.Option(
        "wirewatch_analyst",
        "--role",
        help="SET ROLE to this read-only group role when it exists ('' for none).",
    ),
    poll: float = typer.Option(
        15.0, "--poll", min=1, max=3600, help="Seconds between the events list's checks."
    ),
) -> None:
    """Start the analysts' console: events, briefs, storylines, channels, search and ingest health in a browser,
    each page with a JSON twin under /api/. Reads schema analyst only, over a read-only connection: the DSN in
    $WIREWATCH_ANALYST_DSN (an analyst login), else --dsn / $WIREWATCH_DSN with read-only transactions."""
    import uvicorn

    from ingest.console import ConsoleSettings, create_app
    from ingest.console.app import LOOPBACK_HOSTS, is_loopback
    from ingest.warehouse.db import redact

    token = token or None  # an empty variable (compose's default) is no token
    loopback = is_loopback(host)
    if not loopback and not token:
        typer.echo(f"error: binding to {host} needs a token: set ${TOKEN_ENV} (or --token)", err=True)
        sys.exit(2)
    if token is not None and len(token) < 16:
        typer.echo("error: the token must be at least 16 characters", err=True)
        sys.exit(2)
    dsn = common.analyst_dsn() or common.get_dsn()
    common.install_redaction()
    if token:
        for h in logging.getLogger().handlers:
            h.addFilter(common.RedactSecrets([token]))
    logging.getLogger("ingest.console").setLevel(logging.INFO)
    logging.getLogger("uvicorn.error").setLevel(logging.INFO)
    settings = ConsoleSettings(
        dsn=dsn, role=role or None, token=token, poll_seconds=poll,
        allowed_hosts=list(LOOPBACK_HOSTS) if loopback else ["*"],
    )  # fmt: skip
    application = create_app(settings)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"wirewatch console on http://{shown}:{port}/ reading {redact(dsn)} (read-only)")
    if token:
        typer.echo(f"every request needs the token: open http://{shown}:{port}/?token=<the token> once")
    uvicorn.run(
        application, host=host, port=port, log_config=None, access_log=False, server_header=False,
        proxy_headers=False, date_header=False,
    )  # fmt: skip
