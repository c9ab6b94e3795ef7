"""Telegram API credentials from the environment or an Airflow connection, per account."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ingest.sources.airflow_conn import parse_airflow_connection
from ingest.sources.base import SourceError


@dataclass(frozen=True)
class TelegramCredentials:
    """An API id/hash (my.telegram.org) and a Telethon StringSession. The secrets stay out of repr()."""

    api_id: int
    api_hash: str = field(repr=False)
    session: str = field(repr=False)
    account: str = "default"


def env_prefix(account: str) -> str:
    """`TELEGRAM` for the default account, `TELEGRAM_<ACCOUNT>` for another."""
    if account == "default":
        return "TELEGRAM"
    return "TELEGRAM_" + re.sub(r"[^A-Z0-9]", "_", account.upper())


def airflow_conn_var(account: str) -> str:
    return "AIRFLOW_CONN_TELEGRAM_" + re.sub(r"[^A-Z0-9]", "_", account.upper())


def credentials_from_env(
    account: str = "default", environ: dict[str, str] | None = None
) -> TelegramCredentials:
    """Credentials from TELEGRAM[_<ACCOUNT>]_API_ID / _API_HASH / _SESSION, each falling back to the Airflow
    connection AIRFLOW_CONN_TELEGRAM_<ACCOUNT> (login = API id, password = API hash, extra.session)."""
    env = os.environ if environ is None else environ
    prefix = env_prefix(account)
    conn_var = airflow_conn_var(account)
    conn = parse_airflow_connection(env.get(conn_var), conn_var)
    api_id_raw = env.get(f"{prefix}_API_ID") or conn.login
    api_hash = env.get(f"{prefix}_API_HASH") or conn.password
    session = env.get(f"{prefix}_SESSION") or conn.extra.get("session")
    missing = [n for n, v in (("API_ID", api_id_raw), ("API_HASH", api_hash), ("SESSION", session)) if not v]
    if missing:
        raise SourceError(
            f"Telegram credentials for account {account!r} incomplete (missing {', '.join(missing)}): set "
            f"{prefix}_API_ID, {prefix}_API_HASH and {prefix}_SESSION, or the Airflow connection {conn_var}; "
            "create a session with `wirewatch telegram login`"
        )
    try:
        api_id = int(str(api_id_raw).strip())
    except ValueError:
        raise SourceError(f"{prefix}_API_ID (or {conn_var} login) is not a number") from None
    return TelegramCredentials(api_id, str(api_hash).strip(), str(session).strip(), account)
