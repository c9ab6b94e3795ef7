"""X credentials: the bearer token of an account, from the environment or an Airflow connection, and the
log filter that keeps it out of tweepy's debug logs."""

from __future__ import annotations

import logging
import os
import re

from ingest.sources.airflow_conn import parse_airflow_connection


def bearer_token_from_env(account: str = "default", environ: dict[str, str] | None = None) -> str | None:
    """The bearer token of an X account: X_BEARER_TOKEN (account "default") or X_<ACCOUNT>_BEARER_TOKEN, else
    the password of the Airflow connection AIRFLOW_CONN_X_<ACCOUNT> (JSON or URI form)."""
    env = os.environ if environ is None else environ
    suffix = re.sub(r"[^A-Za-z0-9]", "_", account).upper()
    name = "X_BEARER_TOKEN" if account == "default" else f"X_{suffix}_BEARER_TOKEN"
    if env.get(name):
        return env[name].strip()
    var = f"AIRFLOW_CONN_X_{suffix}"
    conn = parse_airflow_connection(env.get(var), var)
    token = conn.password or conn.extra.get("bearer_token")
    return str(token).strip() or None if token else None


class _RedactTokens(logging.Filter):
    """tweepy logs request headers (the bearer token among them) at DEBUG: scrub them from its records."""

    _bearer = re.compile(r"Bearer [A-Za-z0-9%._~+/=-]+")

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = self._bearer.sub("Bearer ***", msg)
        for token in self.tokens:
            clean = clean.replace(token, "***")
        if clean != msg:
            record.msg, record.args = clean, ()
        return True


REDACT = _RedactTokens()
logging.getLogger("tweepy.client").addFilter(REDACT)
