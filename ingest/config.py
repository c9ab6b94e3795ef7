"""Watched channels from seeds/channels.toml (or $WIREWATCH_CHANNELS), with the source chosen per channel."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.models import ChannelSpec
from ingest.sources.registry import SOURCES_BY_PLATFORM, choose_source

DEFAULT_RESCAN_HOURS = 48
_HANDLE = re.compile(r"^[A-Za-z0-9_]{2,64}$")


@dataclass(frozen=True)
class Config:
    channels: tuple[ChannelSpec, ...]
    rescan_hours: float = DEFAULT_RESCAN_HOURS
    defaults: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def config_path() -> Path:
    env = os.environ.get("WIREWATCH_CHANNELS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "seeds" / "channels.toml"


def valid_handle(handle: str) -> str:
    """Handles go into URLs and file names: only Telegram/X username characters are accepted."""
    h = handle.strip().lstrip("@")
    if not _HANDLE.match(h):
        raise ValueError(f"not a valid channel handle: {handle!r}")
    return h.lower()


def load_config(path: Path | None = None) -> Config:
    path = path or config_path()
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    defaults = data.get("defaults", {})
    specs = []
    for entry in data.get("channels", []):
        platform = entry["platform"]
        if platform not in SOURCES_BY_PLATFORM:
            raise ValueError(f"{path}: unknown platform {platform!r}")
        account = entry.get("account", defaults.get("account", "default"))
        source = choose_source(platform, entry.get("source", defaults.get("source", "auto")), account)
        options = {
            k: v
            for k, v in entry.items()
            if k not in {"platform", "handle", "title", "source", "account", "channel_id"}
        }
        if options.get("replay_path"):  # relative paths start at channels.toml
            options["replay_path"] = str(path.parent / Path(str(options["replay_path"])).expanduser())
        specs.append(
            ChannelSpec(
                platform=platform,
                handle=valid_handle(entry["handle"]),
                source=source,
                channel_id=entry.get("channel_id"),
                title=entry.get("title"),
                account=account,
                options=options,
            )  # fmt: skip
        )
    return Config(tuple(specs), float(defaults.get("rescan_hours", DEFAULT_RESCAN_HOURS)), defaults, path)


def select(config: Config, names: list[str] | None) -> list[ChannelSpec]:
    """The channels named (by handle, platform:handle or numeric id), or all when names is empty."""
    if not names:
        return list(config.channels)
    chosen = []
    for name in names:
        n = name.lstrip("@").lower()
        matches = [
            c for c in config.channels
            if n in (c.handle, f"{c.platform}:{c.handle}", str(c.channel_id))
        ]  # fmt: skip
        if not matches:
            raise KeyError(f"channel {name!r} is not in {config.path}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen
