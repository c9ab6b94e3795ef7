"""`wirewatch telegram ...`: Telegram account set-up for the Telethon source.

`login` signs a user account in (API id/hash from my.telegram.org, phone, code, 2FA password) and prints the
Telethon StringSession once, for the user to store in TELEGRAM_SESSION or an Airflow connection. The session
is never written to a file: it is full access to the account.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import click
import typer

from ingest.cli import app
from ingest.sources.telegram import airflow_conn_var, env_prefix

telegram_app = typer.Typer(help="Telegram (Telethon) account set-up.", no_args_is_help=True)
app.add_typer(telegram_app, name="telegram")


def _new_client(api_id: int, api_hash: str) -> Any:
    """A TelegramClient on an empty in-memory StringSession (tests replace `client_factory`)."""
    from telethon import TelegramClient
    from telethon.sessions import StringSession

    return TelegramClient(StringSession(), api_id, api_hash, receive_updates=False, device_model="wirewatch")


#: Builds the login client from (api_id, api_hash); replaced in tests by a fake.
client_factory: Callable[[int, str], Any] = _new_client


@telegram_app.command("login")
def login(
    account: str = typer.Option(
        "default", "--account", "-a", help="Credential set name (TELEGRAM_<ACCOUNT>_*)."
    ),
    phone: str = typer.Option(None, "--phone", help="Phone number in international format (else prompted)."),
) -> None:
    """Sign a Telegram user account in and print its session string once (nothing is saved)."""
    prefix = env_prefix(account)
    api_id_raw = os.environ.get(f"{prefix}_API_ID") or _ask(
        "API id (from https://my.telegram.org, 'API development tools')"
    )
    api_id_raw = str(api_id_raw).strip()
    if not api_id_raw.isdigit():
        typer.echo(
            f"error: an API id is required (a number): set {prefix}_API_ID or type it; get one at "
            "https://my.telegram.org",
            err=True,
        )
        raise typer.Exit(2)
    api_hash = os.environ.get(f"{prefix}_API_HASH") or _ask("API hash", hide_input=True)
    api_hash = str(api_hash).strip()
    if not api_hash:
        typer.echo(f"error: an API hash is required: set {prefix}_API_HASH or type it", err=True)
        raise typer.Exit(2)
    phone = (phone or typer.prompt("Phone number (international format, e.g. +44...)")).strip()
    try:
        session, who = asyncio.run(_login(client_factory(int(api_id_raw), api_hash), phone))
    except _LoginRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"\nLogged in as {who}. The session string for account {account!r} follows. It grants full")
    typer.echo("access to this Telegram account: keep it secret. wirewatch has not saved it anywhere.\n")
    typer.echo(session)
    typer.echo(
        f"\nStore it in the environment as {prefix}_SESSION (with {prefix}_API_ID and {prefix}_API_HASH), or in"
        f" the Airflow connection {airflow_conn_var(account)}, e.g.\n"
        f'  {airflow_conn_var(account)}=\'{{"conn_type": "generic", "login": "<api id>", '
        f'"password": "<api hash>", "extra": {{"session": "<the session above>"}}}}\'\n'
        "Never run two wirewatch processes on one session at once (Telegram revokes it); wirewatch locks it."
    )


def _ask(text: str, *, hide_input: bool = False) -> str:
    """A prompt that gives "" at end of input (no terminal), so the caller can refuse with its reason."""
    try:
        return typer.prompt(text, default="", show_default=False, hide_input=hide_input)
    except (click.exceptions.Abort, typer.Abort):  # typer 0.29 raises its own Abort
        typer.echo("", err=True)
        return ""


class _LoginRefused(Exception):
    pass


async def _login(client: Any, phone: str) -> tuple[str, str]:
    """Connect, send the code, sign in (with the 2FA password when asked); return (session, who)."""
    from telethon import errors

    try:
        try:
            await client.connect()
            if not await client.is_user_authorized():
                sent = await client.send_code_request(phone)
                code = typer.prompt("Login code (sent by Telegram to your app or by SMS)").strip()
                try:
                    await client.sign_in(
                        phone=phone, code=code, phone_code_hash=getattr(sent, "phone_code_hash", None)
                    )
                except errors.SessionPasswordNeededError:
                    password = typer.prompt("Two-step verification password", hide_input=True)
                    await client.sign_in(password=password)
            me = await client.get_me()
        except errors.FloodWaitError as exc:
            raise _LoginRefused(
                f"Telegram asks to wait {exc.seconds} s before another login attempt"
            ) from None
        except (errors.PhoneCodeInvalidError, errors.PhoneCodeExpiredError):
            raise _LoginRefused("the login code was wrong or expired; run the command again") from None
        except errors.PasswordHashInvalidError:
            raise _LoginRefused("the two-step verification password was wrong") from None
        except errors.PhoneNumberInvalidError:
            raise _LoginRefused(f"Telegram does not accept the phone number {phone!r}") from None
        except (errors.ApiIdInvalidError, errors.ApiIdPublishedFloodError):
            raise _LoginRefused(
                "Telegram rejected the API id/hash pair (check https://my.telegram.org)"
            ) from None
        except errors.RPCError as exc:
            raise _LoginRefused(f"Telegram refused the login: {exc.message or type(exc).__name__}") from None
        except (OSError, ConnectionError) as exc:
            raise _LoginRefused(f"cannot reach Telegram: {type(exc).__name__}: {exc}") from None
        session = client.session.save()
    finally:
        await _maybe_await(client.disconnect())
    username = getattr(me, "username", None)
    who = (
        f"@{username}" if username else (getattr(me, "first_name", None) or f"user {getattr(me, 'id', '?')}")
    )
    return session, who


async def _maybe_await(value: Any) -> Any:
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value
