"""Telethon JSONL files (`wirewatch import --format telethon-jsonl`): one `Message.to_dict()` a line."""

from __future__ import annotations

import base64
import csv
import functools
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import orjson

from ingest.models import RawRecord
from ingest.normalize.telegram.fields import USERNAME, written_channel
from ingest.sources.fingerprint import raw_hash_of
from ingest.sources.known_lines import KnownLines
from ingest.sources.lines import Resume, max_record_bytes, open_lines, oversize_record, read_lines
from ingest.sources.telegram.fingerprint import line_seed

SOURCE_JSONL = "telethon_jsonl"
log = logging.getLogger(__name__)


_FILE_HANDLE = re.compile(rf"^@?({USERNAME})_(\d{{3,}})$")
_FILE_ID = re.compile(r"^(\d{3,19})$")

#: Beside the files, a table of the channels they come from: `channel_id` and `title` (and optionally `handle` or
#: `username`) columns, as collectors and published data sets write it (../shared/data/telegram_news_ru has one).
SIDECAR = "channels.csv"


def handle_from_filename(path: Path) -> tuple[str | None, int | None]:
    """`bloomberg_1488156064.jsonl` / `@Python_1050982793.jsonl` -> ("bloomberg", 1488156064)."""
    m = _FILE_HANDLE.match(Path(path).stem)
    if not m:
        return None, None
    return m.group(1), int(m.group(2))


def file_context(path: Path) -> dict[str, Any]:
    """What a file's name and the folder's `channels.csv` say of the channel its messages come from (the
    normaliser applies it only to messages of that channel id): `handle`, `handle_channel_id`, `title`."""
    handle, channel_id = handle_from_filename(path)
    if channel_id is None and (m := _FILE_ID.match(path.stem)):
        channel_id = int(m.group(1))
    if channel_id is None:
        return {}
    context: dict[str, Any] = {"handle": handle, "handle_channel_id": channel_id} if handle else {}
    listed = _sidecar(path.parent).get(channel_id)
    if listed is not None:
        listed_handle, title = listed
        context["handle_channel_id"] = channel_id
        if handle is None and listed_handle is not None:
            context["handle"] = listed_handle
        if title is not None:
            context["title"] = title
    return context


def _sidecar(folder: Path) -> dict[int, tuple[str | None, str | None]]:
    """channel id -> (handle, title) from the folder's `channels.csv`; {} when there is none or it is not such a
    table (a malformed row is left out: the names are a courtesy, the messages load without them)."""
    table = folder / SIDECAR
    try:
        stat = table.stat()
    except OSError:
        return {}
    return _read_sidecar(str(table), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_sidecar(table: str, _mtime_ns: int, _size: int) -> dict[int, tuple[str | None, str | None]]:
    out: dict[int, tuple[str | None, str | None]] = {}
    try:
        with open(table, encoding="utf-8-sig", newline="") as fh:
            rows = csv.DictReader(fh)
            if rows.fieldnames is None or "channel_id" not in rows.fieldnames:
                return {}
            for row in rows:
                channel_id = written_channel(row.get("channel_id"))
                if not isinstance(channel_id, int):
                    continue
                handle = written_channel(row.get("handle") or row.get("username"))
                title = (row.get("title") or "").strip() or None
                out[channel_id] = (handle if isinstance(handle, str) else None, title)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        log.warning("%s is not a readable channel table, ignored: %s", table, exc)
        return {}
    return out


def read_jsonl(
    path: Path,
    resume: Resume | None = None,
    known: KnownLines | None = None,
    part: Callable[[bytes | None], bool] | None = None,
    raw_key: int | None = None,
) -> Iterator[RawRecord]:
    """Stream a Telethon to_dict JSONL file, one record a line. A line that is not JSON (or not UTF-8)
    becomes a record with no payload and the undecodable text in `raw_text`, which the normaliser rejects.
    `resume`: only what was appended after an imported prefix. `known`: every line is noted there, and a line
    it knows from the file's last import is left out before decoding. `part`: the lines to read (their bytes;
    None for an oversize line), asked after `known` and before decoding: one part of a file split by channel
    (`line_channel`). `raw_key`: the warehouse's raw-hash key; a record decoded straight from its line then
    carries the line's raw hash (`RawRecord.digest`), taken from the bytes at hand instead of serialising the
    payload again to hash it."""
    path = Path(path)
    context = file_context(path)
    seed = line_seed(raw_key, SOURCE_JSONL, context) if raw_key is not None else None
    limit = max_record_bytes()
    prefix = f"{path}:"
    loads = orjson.loads
    with open_lines(path) as fh:
        for line in read_lines(fh, limit, resume):
            data = line.data
            if data is not None and known is not None and known.skip(line.number, data):
                continue
            if part is not None and not part(data):
                continue
            origin = f"{prefix}{line.number}"
            if data is None:
                yield oversize_record(SOURCE_JSONL, origin, line, limit, context)
                continue
            try:
                # JSON allows the whitespace around a line's value: most lines parse without a stripped copy.
                payload = loads(data)
            except orjson.JSONDecodeError:
                pass
            else:
                if known is not None and _album_member(payload):
                    known.part(line.number)
                # The line without its end of line: a file written compactly by orjson then hashes as its payloads.
                digest = raw_hash_of(seed, memoryview(data)[: line.size]) if seed is not None else None
                yield RawRecord(SOURCE_JSONL, payload, origin, None, context, None, digest)
                continue
            stripped = data.strip()
            if not stripped:
                continue
            try:
                payload = orjson.loads(stripped)
            except orjson.JSONDecodeError as exc:
                payload, error = _lenient_json(stripped, exc)
                if error is not None:
                    yield RawRecord(
                        SOURCE_JSONL, None, origin, context={**context, "decode_error": error},
                        raw_text=stripped.decode("utf-8", "backslashreplace"),
                    )  # fmt: skip
                    continue
            if known is not None and _album_member(payload):
                known.part(line.number)
            yield RawRecord(SOURCE_JSONL, payload, origin, context=context)


class _Peer(msgspec.Struct):
    channel_id: int | None = None
    chat_id: int | None = None
    user_id: int | None = None


class _PeerOnly(msgspec.Struct):
    peer_id: _Peer | None = None


_PEER_ONLY = msgspec.json.Decoder(_PeerOnly)


#: How Telethon's `to_dict()` opens a message as `json.dumps` and orjson write it: its type, its id and its peer.
_OPENING = re.compile(
    rb'\{"_": ?"Message(?:Service)?", ?"id": ?\d+, ?"peer_id": ?'
    rb'\{"_": ?"Peer(?:Channel|Chat|User)", ?"(?:channel|chat|user)_id": ?(\d+)\}'
)


def line_channel(data: bytes | None) -> int | None:
    """The chat id of a line's `Message.to_dict()` (`record_channel`) read without decoding the rest of it. A line
    that opens as collectors write messages gives it in its first ~100 bytes (~0.6 us); another is read by a typed
    decode of `peer_id` alone, which skips the other ~3 KB of a message in ~5 us, a twelfth of a full decode; a line
    neither can read is decoded whole; one that is not JSON, or too long to read, has none.

    This only routes a line to one worker of a split import (`imports.Shard`), and every worker asks the same, so
    each line is read by exactly one of them whatever the answer. The opening decides even for a line that breaks
    off later (its channel's worker rejects it) or names a second `peer_id` (whose channel the normaliser takes)."""
    if data is None:
        return None
    opening = _OPENING.match(data)
    if opening is not None:
        return int(opening[1])
    try:
        peer = _PEER_ONLY.decode(data).peer_id
    except (msgspec.DecodeError, UnicodeDecodeError):
        try:
            return record_channel(orjson.loads(data))
        except orjson.JSONDecodeError:
            return None
    if peer is None:
        return None
    for value in (peer.channel_id, peer.chat_id, peer.user_id):
        if value is not None:
            return value
    return None


def record_channel(payload: Any) -> int | None:
    """The id of the chat a decoded `Message.to_dict()` was posted in (its `peer_id`), or None when the record
    does not say (then the file's name decides, as the normaliser's context does)."""
    if isinstance(payload, dict):
        peer = payload.get("peer_id")
        if isinstance(peer, dict):
            for key in ("channel_id", "chat_id", "user_id"):
                value = peer.get(key)
                if isinstance(value, int):
                    return value
    return None


def _album_member(payload: Any) -> bool:
    """Whether a decoded line is an album member (merged with the others of its grouped_id into one post, so its
    line alone does not make the post and must be read with them every time)."""
    return isinstance(payload, dict) and payload.get("grouped_id") is not None


def _lenient_json(line: bytes, exc: Exception) -> tuple[Any, str | None]:
    """orjson refuses lone UTF-16 surrogates that the stdlib reads; let those through so the normaliser can
    reject the post with the precise reason (a lone surrogate in its text) instead of 'not JSON'."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as uexc:
        return None, f"invalid UTF-8 at byte {uexc.start}"
    try:
        return json.loads(text), None
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the interpreter's stack
        return None, str(exc)[:200]


def json_safe(value: Any) -> Any:
    """A Telethon `to_dict()` made JSON-serialisable the way Telethon's own `to_json` does it: datetimes as
    ISO 8601 with their offset, bytes as base64."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "to_dict"):
        return json_safe(value.to_dict())
    return repr(value)
