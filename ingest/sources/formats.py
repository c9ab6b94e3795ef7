"""File formats `wirewatch import` reads, and how `--format auto` tells them apart."""

from __future__ import annotations

from pathlib import Path

from ingest.sources.registry import PLATFORMS, FileFormat, lookup

#: Every file format of every platform, by name (the table is `ingest.sources.registry.PLATFORMS`).
FORMATS: dict[str, FileFormat] = {f.name: f for p in PLATFORMS.values() for f in p.formats}


def get_format(name: str) -> FileFormat:
    return lookup(FORMATS, name, "format")


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
