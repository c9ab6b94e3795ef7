"""An Airflow connection given in the environment (`AIRFLOW_CONN_<ID>`), in either of Airflow's two forms: a JSON
object (`{"login": ..., "password": ..., "extra": {...}}`, extra possibly a JSON string) or a URI
(`scheme://login:password@host?key=value&__extra__=<json>`). Both platforms' credentials read it here, so they
accept the same spellings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ingest.sources.base import SourceError


@dataclass(frozen=True)
class AirflowConnection:
    """The parts of a connection wirewatch reads. Secrets stay out of repr()."""

    login: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


def parse_airflow_connection(value: str | None, name: str) -> AirflowConnection:
    """The connection in `value` (empty or None: an empty connection); `name` (the variable) goes into errors.
    In the URI form, query parameters other than `__extra__` are extras too, as Airflow reads them."""
    if not value or not value.strip():
        return AirflowConnection()
    value = value.strip()
    if value.startswith("{"):
        try:
            data = json.loads(value)
            extra = data.get("extra") or {}
            if isinstance(extra, str):
                extra = json.loads(extra) if extra.strip() else {}
            if not isinstance(extra, dict):
                raise ValueError
        except (ValueError, AttributeError):
            raise SourceError(f"{name} is not valid JSON (expected an Airflow connection object)") from None
        return AirflowConnection(_text(data.get("login")), _text(data.get("password")), extra)
    try:
        parts = urlsplit(value)
        query = parse_qs(parts.query)
        extra_json = query.pop("__extra__", [""])[0]
        extra = json.loads(extra_json) if extra_json else {}
        if not isinstance(extra, dict):
            raise ValueError
        extra.update({k: v[0] for k, v in query.items() if v and k not in extra})
        return AirflowConnection(
            _text(unquote(parts.username or "")), _text(unquote(parts.password or "")), extra
        )
    except ValueError:
        raise SourceError(f"{name} is neither JSON nor a connection URI") from None


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None
