"""Resolved channels (id, access hash, username): the on-disk peer cache and the entity it yields."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.sources.base import SourceError

log = logging.getLogger(__name__)


class PeerCache:
    """Channel id -> access hash this account was given, kept on disk beside the session lock (named by the
    session's hash). A new process (each Airflow task) then fetches a known channel without resolving its
    username again. An access hash is useless without the session's key, so it is not a secret; only the
    holder of the session lock writes the file."""

    def __init__(self, path: Path | None):
        self.path = path
        self._data: dict[str, dict[str, Any]] | None = None

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._data is None:
            self._data = {}
            if self.path is not None and self.path.is_file():
                try:
                    data = json.loads(self.path.read_text(encoding="utf-8"))
                    self._data = data if isinstance(data, dict) else {}
                except (OSError, ValueError):
                    log.info("ignoring unreadable Telegram peer cache %s", self.path)
        return self._data

    def get(self, channel_id: int) -> dict[str, Any] | None:
        entry = self._load().get(str(channel_id))
        return entry if isinstance(entry, dict) and isinstance(entry.get("access_hash"), int) else None

    def put(self, channel_id: int, access_hash: int, username: str | None, title: str | None) -> None:
        data = self._load()
        entry = {"access_hash": access_hash, "username": username, "title": title}
        if data.get(str(channel_id)) == entry or self.path is None:
            data[str(channel_id)] = entry
            return
        data[str(channel_id)] = entry
        self._save(data)

    def forget(self, channel_id: int) -> None:
        data = self._load()
        if data.pop(str(channel_id), None) is not None and self.path is not None:
            self._save(data)

    def _save(self, data: dict[str, dict[str, Any]]) -> None:
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, self.path)
        except OSError as exc:  # a cache: failing to write it only costs a resolution next time
            log.info("cannot write the Telegram peer cache %s: %s", self.path, exc.strerror)


@dataclass
class Entity:
    channel_id: int
    access_hash: int
    username: str | None
    title: str | None
    unverified: bool = False  # from the disk cache or configuration: may be stale


class ChannelAccessError(SourceError):
    """CHANNEL_INVALID: the access hash does not (or no longer) open the channel for this account."""


def username_of(chat: Any) -> str | None:
    """A channel's username; channels with collectible usernames have `username=None` and a list."""
    name = getattr(chat, "username", None)
    if name:
        return name
    for u in getattr(chat, "usernames", None) or []:
        if getattr(u, "active", False) and getattr(u, "username", None):
            return u.username
    return None
