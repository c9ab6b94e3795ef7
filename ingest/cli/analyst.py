"""`wirewatch analyst ...`: the read-only analyst role and login roles for analysts.

Roles are cluster-wide (shared by every database of the server) and need a connection that may create roles.
"""

from __future__ import annotations

import os
import sys

import typer

from ingest.cli import app, common
from ingest.warehouse import analyst as wa

analyst_app = typer.Typer(help="Read-only access for analysts (schema analyst).", no_args_is_help=True)
app.add_typer(analyst_app, name="analyst")


def _problems(report: wa.RoleReport) -> None:
    if report.problems:
        typer.echo(f"warning: role {report.role} is not read-only: " + "; ".join(report.problems), err=True)
        sys.exit(1)


_D = wa.Limits()


def _limits(
    statement_timeout: str, idle_timeout: str, temp_file_limit: str, connection_limit: int
) -> wa.Limits:
    return wa.Limits(statement_timeout, idle_timeout, temp_file_limit, connection_limit)


_ST = typer.Option(_D.statement_timeout, "--statement-timeout", help="Longest statement an analyst may run.")
_IT = typer.Option(
    _D.idle_in_transaction_session_timeout, "--idle-timeout", help="idle_in_transaction_session_timeout."
)
_TF = typer.Option(
    _D.temp_file_limit, "--temp-file-limit", help="Temp file space per session (superuser only)."
)
_CL = typer.Option(
    _D.connection_limit, "--connection-limit", help="Concurrent connections per analyst login."
)


@analyst_app.command("create-role")
def create_role(
    role: str = typer.Option(wa.ANALYST_ROLE, "--role", help="Name of the NOLOGIN group role."),
    statement_timeout: str = _ST,
    idle_timeout: str = _IT,
    temp_file_limit: str = _TF,
    connection_limit: int = _CL,
) -> None:
    """Create the NOLOGIN group role (if missing) with USAGE/SELECT on schema analyst only, take TEMP on this
    database from PUBLIC (given back to the pipeline's role), and apply the limits to every analyst login in
    the group. Safe to repeat."""
    limits = _limits(statement_timeout, idle_timeout, temp_file_limit, connection_limit)
    with common.open_db() as conn:
        try:
            report = wa.create_analyst_role(conn, role, limits=limits)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    typer.echo(f"role {role} {'created' if report.created else 'exists'}; SELECT granted on schema analyst")
    _problems(report)


@analyst_app.command("grant")
def grant(
    user: str = typer.Option(..., "--user", help="Login role to create (or reuse) for an analyst."),
    password_env: str = typer.Option(
        None,
        "--password-env",
        help="Environment variable holding the password (never pass it on the command line).",
    ),
    role: str = typer.Option(wa.ANALYST_ROLE, "--role", help="The analyst group role to grant."),
    statement_timeout: str = _ST,
    idle_timeout: str = _IT,
    temp_file_limit: str = _TF,
    connection_limit: int = _CL,
) -> None:
    """Make USER a read-only analyst: a login role in the analyst group role, read-only transactions, UTC times,
    search_path=analyst, statement/idle timeouts, a temp file limit and a connection limit. Creates the group
    role if needed. Prints how to connect with psql."""
    limits = _limits(statement_timeout, idle_timeout, temp_file_limit, connection_limit)
    password = None
    if password_env:
        password = os.environ.get(password_env)
        if password is None:
            raise typer.BadParameter(f"environment variable {password_env} is not set")
    with common.open_db() as conn:
        try:
            report = wa.grant_user(conn, user, password=password, role=role, limits=limits)
        except (ValueError, PermissionError) as exc:
            typer.echo(f"error: {exc}", err=True)
            sys.exit(2)
        cmd = wa.psql_command(conn, user)
    typer.echo(f"login role {user} {'created' if report.created else 'updated'}; member of {role}")
    typer.echo(f"connect: {cmd}" + ("   (password from your secret store)" if password else ""))
    _problems(report)


@analyst_app.command("revoke")
def revoke(
    user: str = typer.Option(..., "--user", help="Login role to take the analyst role from."),
    drop: bool = typer.Option(False, "--drop", help="Also drop the login role."),
    role: str = typer.Option(wa.ANALYST_ROLE, "--role"),
) -> None:
    """Take the analyst role from USER (and drop the login role with --drop)."""
    with common.open_db() as conn:
        wa.revoke_user(conn, user, role=role, drop=drop)
    typer.echo(f"{user}: {role} revoked" + (" and role dropped" if drop else ""))
