"""The platform table: for each platform, the live sources that serve it and the file formats `wirewatch
import` reads for it. Adding a platform (or a source, or a format) is one entry here; `config`,
`sources.formats` and the pipeline read everything else from this table.

Modules are named as "module:attribute" strings and imported only when used, so choosing a source never
imports another platform's client library.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.models import Normalizer, RawRecord
from ingest.sources.base import LiveSource
from ingest.sources.fingerprint import Fingerprinter


@dataclass(frozen=True)
class LiveSourceKind:
    """A live source: `source` is "module:Class" with a `from_env` constructor."""

    name: str
    source: str
    normalizer: str  # "module:function" -> Normalizer
    per_account: bool = True  # from_env(account); False: from_env() (no credentials)
    #: "module:attribute" -> ingest.sources.fingerprint.Fingerprinter: lets unchanged input skip normalising.
    fingerprint: str | None = None

    def build(self, account: str = "default") -> LiveSource:
        cls = _load(self.source)
        return cls.from_env(account) if self.per_account else cls.from_env()


@dataclass(frozen=True)
class FileFormat:
    name: str
    reader: str  # "module:function" -> Iterator[RawRecord] for a path
    normalizer: str  # "module:function" -> Normalizer
    help: str
    #: Records per transaction; an X page holds up to 500 posts with their includes, so pages batch smaller.
    records_per_batch: int | None = None
    #: One record a line, so a file that only grew is read on from where its last import ended (the reader
    #: takes `resume=ingest.sources.lines.Resume`).
    appendable: bool = False
    #: "module:attribute" -> ingest.sources.fingerprint.Fingerprinter: lets unchanged records skip normalising.
    fingerprint: str | None = None
    #: One record a line (a Telethon message, albums aside; an X page): lines imported before from the same path
    #: are skipped undecoded (the reader takes `known=ingest.sources.known_lines.KnownLines`).
    known_lines: bool = False
    #: "module:function" -> the id of the channel a line's record belongs to (None: not told), from the line's
    #: bytes: lets one big file be imported on every core, each worker reading the lines of its own channels (the
    #: reader takes `part`, a predicate on a line's bytes; `ingest.run.parallel`).
    channel_of: str | None = None
    #: The reader takes `raw_key` (the warehouse's raw-hash key) and hashes the bytes each record was decoded from
    #: (`RawRecord.digest`), so that its fingerprinter need not serialise the payload again to hash it.
    line_hashes: bool = False

    @property
    def read(self) -> Callable[[Path], Iterator[RawRecord]]:
        return _load(self.reader)

    @property
    def normalize(self) -> Normalizer:
        return _load(self.normalizer)

    @property
    def fingerprinter(self) -> Fingerprinter | None:
        return _load(self.fingerprint) if self.fingerprint else None

    @property
    def line_channel(self) -> Callable[[bytes | None], int | None] | None:
        return _load(self.channel_of) if self.channel_of else None


@dataclass(frozen=True)
class Platform:
    name: str
    sources: tuple[LiveSourceKind, ...]
    formats: tuple[FileFormat, ...]
    auto_source: Callable[[str], str]  # account -> the source `source = "auto"` picks


def telegram_credentials_present(account: str = "default") -> bool:
    from ingest.sources.telegram import airflow_conn_var, env_prefix

    prefix = env_prefix(account)
    return bool(
        (os.environ.get(f"{prefix}_API_ID") and os.environ.get(f"{prefix}_SESSION"))
        or os.environ.get(airflow_conn_var(account))
    )


def _telegram_auto(account: str) -> str:
    return "telethon" if telegram_credentials_present(account) else "telegram_web"


#: Replays recorded captures of either platform (tests, demos, re-runs without network).
REPLAY = LiveSourceKind(
    "replay",
    "ingest.sources.replay:ReplaySource",
    "ingest.sources.replay:normalize_replay",
    fingerprint="ingest.sources.replay:FINGERPRINT",
)

PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform(
            "telegram",
            sources=(
                LiveSourceKind(
                    "telethon",
                    "ingest.sources.telegram:TelethonSource",
                    "ingest.normalize.telegram:normalize_message",
                    fingerprint="ingest.sources.telegram.fingerprint:FINGERPRINT",
                ),
                LiveSourceKind(
                    "telegram_web",
                    "ingest.sources.telegram_web:TelegramWebSource",
                    "ingest.normalize.telegram_web:normalize_widget",
                    per_account=False,
                    fingerprint="ingest.sources.telegram_web.fingerprint:FINGERPRINT",
                ),
                REPLAY,
            ),
            formats=(
                FileFormat(
                    "telegram-export",
                    "ingest.sources.telegram_export:read_export",
                    "ingest.normalize.telegram_export:normalize_export_message",
                    "Telegram Desktop export of a channel (result.json, or the export folder)",
                ),
                FileFormat(
                    "telethon-jsonl",
                    "ingest.sources.telegram:read_jsonl",
                    "ingest.normalize.telegram:normalize_message",
                    "Telethon Message.to_dict() records, one JSON object a line",
                    appendable=True,
                    fingerprint="ingest.sources.telegram.fingerprint:FINGERPRINT",
                    known_lines=True,
                    channel_of="ingest.sources.telegram.jsonl:line_channel",
                    line_hashes=True,
                ),
                FileFormat(
                    "telegram-web",
                    "ingest.sources.telegram_web:read_saved_page",
                    "ingest.normalize.telegram_web:normalize_widget",
                    "saved t.me/s/<channel> HTML pages",
                    fingerprint="ingest.sources.telegram_web.fingerprint:FINGERPRINT",
                ),
            ),
            auto_source=_telegram_auto,
        ),
        Platform(
            "x",
            sources=(
                LiveSourceKind(
                    "x_api",
                    "ingest.sources.x:XSource",
                    "ingest.normalize.x:normalize_page",
                    fingerprint="ingest.sources.x.fingerprint:FINGERPRINT",
                ),
                REPLAY,
            ),
            formats=(
                FileFormat(
                    "x-v2-jsonl",
                    "ingest.sources.x:read_pages",
                    "ingest.normalize.x:normalize_page",
                    "X API v2 response pages, one JSON page a line (twarc2 output)",
                    records_per_batch=50,
                    appendable=True,
                    fingerprint="ingest.sources.x.fingerprint:FINGERPRINT",
                    known_lines=True,
                ),
            ),
            auto_source=lambda account: "x_api",
        ),
    )
}

#: Derived from PLATFORMS: every live source by name, and the names that can serve each platform.
LIVE_SOURCES: dict[str, LiveSourceKind] = {s.name: s for p in PLATFORMS.values() for s in p.sources}
SOURCES_BY_PLATFORM: dict[str, tuple[str, ...]] = {
    p.name: tuple(s.name for s in p.sources) for p in PLATFORMS.values()
}


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def choose_source(platform: str, requested: str, account: str) -> str:
    if requested != "auto":
        if requested not in SOURCES_BY_PLATFORM.get(platform, ()):
            raise ValueError(f"source {requested!r} cannot serve platform {platform!r}")
        return requested
    return PLATFORMS[platform].auto_source(account)


def lookup(table: dict[str, Any], name: str, what: str) -> Any:
    """`table[name]`, or a ValueError that lists the known names."""
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}; known: {', '.join(table)}") from None


def _live(source_name: str) -> LiveSourceKind:
    return lookup(LIVE_SOURCES, source_name, "source")


def normalizer_for(source_name: str) -> Normalizer:
    return _load(_live(source_name).normalizer)


def fingerprinter_for(source_name: str) -> Fingerprinter | None:
    ref = _live(source_name).fingerprint
    return _load(ref) if ref else None


def build_source(source_name: str, account: str = "default") -> LiveSource:
    """A live source with credentials from the environment (or an Airflow connection, via the env)."""
    return _live(source_name).build(account)
