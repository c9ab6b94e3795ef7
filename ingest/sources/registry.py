"""Live sources by name, built from configuration and credentials in the environment."""

from __future__ import annotations

import os

from ingest.models import Normalizer
from ingest.sources.base import LiveSource

LIVE_SOURCES = ("telethon", "telegram_web", "x_api", "replay")
SOURCES_BY_PLATFORM = {"telegram": ("telethon", "telegram_web", "replay"), "x": ("x_api", "replay")}


def telegram_credentials_present(account: str = "default") -> bool:
    from ingest.sources.telegram import airflow_conn_var, env_prefix

    prefix = env_prefix(account)
    return bool(
        (os.environ.get(f"{prefix}_API_ID") and os.environ.get(f"{prefix}_SESSION"))
        or os.environ.get(airflow_conn_var(account))
    )


def choose_source(platform: str, requested: str, account: str) -> str:
    if requested != "auto":
        if requested not in SOURCES_BY_PLATFORM.get(platform, ()):
            raise ValueError(f"source {requested!r} cannot serve platform {platform!r}")
        return requested
    if platform == "x":
        return "x_api"
    return "telethon" if telegram_credentials_present(account) else "telegram_web"


def normalizer_for(source_name: str) -> Normalizer:
    if source_name == "telethon":
        from ingest.normalize.telegram import normalize_message

        return normalize_message
    if source_name == "telegram_web":
        from ingest.normalize.telegram_web import normalize_widget

        return normalize_widget
    if source_name == "x_api":
        from ingest.normalize.x import normalize_page

        return normalize_page
    if source_name == "replay":
        from ingest.sources.replay import normalize_replay

        return normalize_replay
    raise ValueError(f"unknown source {source_name!r}; known: {', '.join(LIVE_SOURCES)}")


def build_source(source_name: str, account: str = "default") -> LiveSource:
    """A live source with credentials from the environment (or an Airflow connection, via the env)."""
    if source_name == "telethon":
        from ingest.sources.telegram import TelethonSource

        return TelethonSource.from_env(account)
    if source_name == "telegram_web":
        from ingest.sources.telegram_web import TelegramWebSource

        return TelegramWebSource.from_env()
    if source_name == "x_api":
        from ingest.sources.x import XSource

        return XSource.from_env(account)
    if source_name == "replay":
        from ingest.sources.replay import ReplaySource

        return ReplaySource.from_env(account)
    raise ValueError(f"unknown source {source_name!r}; known: {', '.join(LIVE_SOURCES)}")
