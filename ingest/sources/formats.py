"""File formats `wirewatch import` reads, and how `--format auto` tells them apart."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.models import Normalizer, RawRecord


@dataclass(frozen=True)
class FileFormat:
    name: str
    reader: str  # "module:function" -> Iterator[RawRecord] for a path
    normalizer: str  # "module:function" -> Normalizer
    help: str
    #: Records per transaction; an X page holds up to 500 posts with their includes, so pages batch smaller.
    records_per_batch: int | None = None

    @property
    def read(self) -> Callable[[Path], Iterator[RawRecord]]:
        return _load(self.reader)

    @property
    def normalize(self) -> Normalizer:
        return _load(self.normalizer)


FORMATS: dict[str, FileFormat] = {
    f.name: f
    for f in (
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
        ),
        FileFormat(
            "x-v2-jsonl",
            "ingest.sources.x:read_pages",
            "ingest.normalize.x:normalize_page",
            "X API v2 response pages, one JSON page a line (twarc2 output)",
            records_per_batch=50,
        ),
        FileFormat(
            "telegram-web",
            "ingest.sources.telegram_web:read_saved_page",
            "ingest.normalize.telegram_web:normalize_widget",
            "saved t.me/s/<channel> HTML pages",
        ),
    )
}


def _load(ref: str):
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def get_format(name: str) -> FileFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; known: {', '.join(FORMATS)}") from None


def detect_format(path: Path) -> FileFormat:
    """Guess a file's format from its name and first bytes; raise ValueError with the reason when unsure."""
    if path.is_dir():
        raise ValueError(f"{path} is a directory with no importable files")
    if not path.exists():
        raise ValueError(f"{path} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return FORMATS["telegram-web"]
    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        raise ValueError(f"{path} is empty")
    if text.startswith(b"<"):
        return FORMATS["telegram-web"]
    first_line = text.split(b"\n", 1)[0]
    if (
        b'"_": "Message' in first_line
        or b'"_":"Message' in first_line
        or b'"_": "MessageService' in first_line
    ):
        return FORMATS["telethon-jsonl"]
    if text.startswith(b"{") and (b'"messages"' in head) and (b'"type"' in head) and suffix == ".json":
        return FORMATS["telegram-export"]
    if any(
        k in first_line for k in (b'"data"', b'"includes"', b'"errors"', b'"meta"', b'"delete"', b'"__twarc"')
    ):
        return FORMATS["x-v2-jsonl"]
    if b'"messages"' in head:
        return FORMATS["telegram-export"]
    raise ValueError(f"cannot tell the format of {path}; pass --format")
