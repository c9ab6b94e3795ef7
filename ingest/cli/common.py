"""Shared CLI plumbing: the DSN, connections, time parsing, secret redaction in logs, output helpers."""

from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import psycopg
import typer

from ingest.textsafe import inert, post_text_parts, snippet_parts
from ingest.times import iso_to_utc
from ingest.warehouse import faults
from ingest.warehouse.db import connect, resolve_dsn

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


class DatabaseUnreachable(Exception):
    pass


@dataclass
class _State:
    dsn: str | None = None


STATE = _State()


def get_dsn() -> str:
    return resolve_dsn(STATE.dsn)


ANALYST_DSN_ENV = "WIREWATCH_ANALYST_DSN"


def _connect(dsn: str, **kwargs) -> psycopg.Connection:
    try:
        return connect(dsn, **kwargs)
    except psycopg.OperationalError as exc:
        if faults.classify(exc) == faults.RESOURCE:  # e.g. too many connections: reachable, but refusing
            raise faults.DatabaseFault(faults.describe(exc), faults.sqlstate(exc)) from exc
        raise DatabaseUnreachable(str(exc).splitlines()[0] if str(exc) else "connection failed") from exc


def analyst_dsn() -> str | None:
    """Where analysts' reads go ($WIREWATCH_ANALYST_DSN: a read replica or an analyst login), unless --dsn
    names a database for this command."""
    return None if STATE.dsn else (os.environ.get(ANALYST_DSN_ENV) or None)


def open_analyst_db() -> psycopg.Connection:
    """For commands that read only what analysts read (schema analyst): the analysts' DSN when set, read-only
    and without migrating (a hot-standby replica can do neither); else the warehouse, as `open_db`."""
    dsn = analyst_dsn()
    if dsn is None:
        return open_db()
    return _connect(dsn, options="-c default_transaction_read_only=on")


def open_db(*, upgrade: bool = True) -> psycopg.Connection:
    """Connect (starting the embedded server if no DSN is set) and bring the schema up to date."""
    conn = _connect(get_dsn())
    if upgrade:
        from ingest.warehouse.migrate import upgrade as run_upgrade

        run_upgrade(conn)
        conn.autocommit = False
    return conn


_REL = re.compile(r"^(\d+)\s*([smhdw])$")


def parse_time(value: str | None) -> datetime | None:
    """ISO 8601 (a missing zone means UTC), 'now', or a relative '24h' / '7d' before now."""
    if value is None:
        return None
    value = value.strip()
    now = datetime.now(UTC)
    if value == "now":
        return now
    m = _REL.match(value)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return now - timedelta(
            **{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]: n}
        )
    try:
        return iso_to_utc(value)
    except ValueError:
        raise typer.BadParameter(
            f"not a time: {value!r} (use ISO 8601 like 2026-06-26T05:00Z, or 24h, 7d)"
        ) from None


SECRET_ENV = (
    "TELEGRAM_API_HASH", "TELEGRAM_SESSION", "X_BEARER_TOKEN", "WIREWATCH_DSN", "AIRFLOW_CONN_WIREWATCH_DB",
    "AIRFLOW_CONN_TELEGRAM_DEFAULT", "AIRFLOW_CONN_X_DEFAULT",
)  # fmt: skip


class RedactSecrets(logging.Filter):
    """Replace any secret value from the environment in log records, wherever a library logs it."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        msg = record.getMessage()
        redacted = msg
        for s in self.secrets:
            redacted = redacted.replace(s, "***")
        if redacted != msg:
            record.msg, record.args = redacted, ()
        return True


def secret_values() -> list[str]:
    """Every secret the environment holds: credential variables, Airflow connections, DSN passwords."""
    vals = []
    for name, value in os.environ.items():
        secretish = name in SECRET_ENV or name.endswith(
            ("_API_HASH", "_SESSION", "_BEARER_TOKEN", "_PASSWORD")
        )
        if not (secretish or name.startswith("AIRFLOW_CONN_") or name.endswith("_DSN")):
            continue
        if secretish or name.startswith("AIRFLOW_CONN_"):
            vals.append(value)
        vals.extend(_embedded_secrets(value))
    return vals


def _embedded_secrets(value: str) -> list[str]:
    """Passwords and session strings inside a DSN, a connection URI or an Airflow JSON connection."""
    out: list[str] = []
    text = value.strip()
    if text.startswith("{"):
        try:
            import orjson

            doc = orjson.loads(text)
        except ValueError:
            return out
        if isinstance(doc, dict):
            if isinstance(doc.get("password"), str):
                out.append(doc["password"])
            extra = doc.get("extra")
            if isinstance(extra, dict):
                out += [
                    v
                    for k, v in extra.items()
                    if isinstance(v, str) and k in ("session", "token", "api_hash")
                ]
        return out
    from urllib.parse import unquote, urlsplit

    if "://" in text:
        try:
            pw = urlsplit(text).password
        except ValueError:
            pw = None
        if pw:
            out += [pw, unquote(pw)]
        return out
    from psycopg.conninfo import conninfo_to_dict

    try:
        pw = conninfo_to_dict(text).get("password")
    except Exception:  # noqa: BLE001 - not a DSN
        pw = None
    if pw:
        out.append(pw)
    return out


def install_redaction() -> None:
    flt = RedactSecrets(secret_values())
    root = logging.getLogger()
    for h in root.handlers:
        h.addFilter(flt)


def echo_json(obj) -> None:
    import orjson

    typer.echo(orjson.dumps(obj, default=str, option=orjson.OPT_INDENT_2).decode())


def cell(value: object) -> Text:
    """A table cell holding data (a name, a text, a path, an error): invisible and direction controls made
    visible, and never read as Rich markup (a post saying "[/bold]" is shown as written, not parsed)."""
    from rich.text import Text  # rich costs ~0.1 s to import: only commands that print tables pay it

    return Text(inert(value))


def table_console(width: int = 200) -> Console:
    """Where a command prints its table: the terminal's width, or `width` when piped (a log, CI), so that rows are
    not cut to 80 columns."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else width)


def snippet_cell(snippet: str | None) -> Text:
    """A search snippet as a table cell: its hits (marked ** ... ** by analyst.search) in bold, on one line."""
    from rich.text import Text

    out = Text()
    for part, hit in snippet_parts((snippet or "").replace("\n", " ")):
        out.append(part, style="bold" if hit else None)
    return out


_MD_RICH = {
    "md-b": "bold",
    "md-i": "italic",
    "md-s": "strike",
    "md-c": "dim",
    "md-sp": "reverse",
    "md-a": "underline",
}


def post_cell(text: str | None, limit: int = 70) -> Text:
    """A post text's preview as a table cell: on one line, its Telegram Markdown shown as styles, not asterisks."""
    from rich.text import Text

    out = Text()
    for part, classes, _ in post_text_parts((text or "").replace("\n", " "), limit):
        style = " ".join(_MD_RICH[c] for c in classes.split() if c in _MD_RICH)
        out.append(part, style=style or None)
    return out


def plain(value: object) -> str:
    """Data to put inside a Rich markup string: controls made visible and brackets escaped."""
    from rich.markup import escape

    return escape(inert(value))


def channel_name(platform: str, handle: str | None, title: str | None, channel_id: int | None) -> str:
    """A channel for a table: its handle, else its title (a Telethon dump named by a channels.csv), else its id."""
    if handle:
        return f"{platform}:{handle}"
    if title:
        return f"{title} ({platform})"
    return f"{platform}:{channel_id}"


def first_by(event: dict) -> str:
    """Who posted an event first, for a table."""
    return channel_name(
        event["origin_platform"],
        event["origin_handle"],
        event.get("origin_title"),
        event["origin_channel_id"],
    )
