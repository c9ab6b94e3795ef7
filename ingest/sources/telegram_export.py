"""Read a Telegram Desktop export of one channel (`result.json`) as a stream of raw records.

Telegram Desktop ("Export chat history", JSON format) writes one object: the chat's `name`, `type` and `id`
first, then a `messages` array that can hold millions of messages (GBs). This reader never holds more than one
message in memory: a short first pass reads the header (stopping at `messages` when the header comes first, as
tdesktop writes it; reading to the end when some other tool put `messages` first), then ijson streams
`messages.item` one message at a time.

Each message becomes a `RawRecord(source="telegram_export")` whose context carries what the message lacks: the
channel's numeric id, name and type, and its public username when the export has one. tdesktop does not write a
username; wirewatch reads a top-level `"username"` when someone added it, and callers may pass `handle=`.

A truncated or corrupt file yields every message read before the damage, then raises ValueError saying where;
`ingest.run.imports.import_file` turns that into a reject and a 'partial' run. So does one message over the
record limit (`WIREWATCH_MAX_RECORD_BYTES`): the parser is fed no more than the limit past the message's start, so
a hostile message never costs its whole size in memory. Telegram caps a message at 4,096 characters, so such a
message cannot come from Telegram; the messages after it are not read (raise the limit to import them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from ingest.models import RawRecord
from ingest.sources.lines import max_record_bytes

SOURCE = "telegram_export"

#: Top-level keys of a full-account export ("Export Telegram data"), which holds many chats, not one channel.
_ACCOUNT_EXPORT_KEYS = frozenset({"chats", "left_chats", "personal_information", "contacts", "about"})
_HEADER_KEYS = frozenset({"name", "type", "id", "username"})
_SCALAR_EVENTS = frozenset({"string", "number", "boolean", "null"})


def read_export(path: Path, *, handle: str | None = None) -> Iterator[RawRecord]:
    """Yield one RawRecord per message of a Desktop export (`result.json` or its folder), in file order.

    `handle` (the channel's username) overrides the export's own `username`, which tdesktop does not write.
    Raises ValueError for a file that is not a single-chat export, or once a truncated/corrupt file can be read
    no further (after yielding every message before the damage).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "result.json"
    header = read_header(path)
    if handle is None:
        handle = header.get("username")
    context = {
        "channel_id": header.get("id"),
        "channel_name": header.get("name"),
        "channel_type": header.get("type"),
        "handle": _clean_handle(handle),
    }
    index = -1
    limit = max_record_bytes()
    with _open(path) as raw:
        fh = _Bounded(raw, limit)
        try:
            for index, message in enumerate(ijson.items(fh, "messages.item", use_float=True)):
                yield RawRecord(
                    source=SOURCE, payload=message, origin=f"{path}#{index}", context=dict(context)
                )
                fh.mark()
        except ijson.JSONError as exc:
            where = f"after message index {index}" if index >= 0 else "before the first message"
            raise ValueError(
                f"{path}: invalid or truncated JSON {where} (near byte {raw.tell()}): {_first_line(exc)}; "
                f"{index + 1} messages read"
            ) from None
        except _OverLimit:
            raise ValueError(
                f"{path}#{index + 1}: message over the {limit:,}-byte record limit (WIREWATCH_MAX_RECORD_BYTES; "
                f"starts near byte {fh.marked:,}): refused without reading it whole, and the messages after it "
                f"were not read; {index + 1} messages read. Telegram caps a message at 4,096 characters, so check "
                "the file, or raise the limit to import it"
            ) from None


def read_header(path: Path) -> dict[str, Any]:
    """The export's top-level scalars (name, type, id, username), read without loading the messages.

    tdesktop writes the header before `messages`, so this stops as soon as `messages` starts; a file that puts
    `messages` first is read to its end (constant memory, one extra pass).
    """
    header: dict[str, Any] = {}
    seen_messages = False
    with _open(path) as raw:
        # Marked at every event: no single token (a hostile multi-GB string) is read whole.
        fh = _Bounded(raw, max_record_bytes())
        try:
            for prefix, event, value in ijson.parse(fh, use_float=True):
                fh.mark()
                if prefix == "" and event == "map_key":
                    if value in _ACCOUNT_EXPORT_KEYS:
                        raise ValueError(
                            f"{path} is a full-account export (top-level {value!r}), not one channel's: in "
                            "Telegram Desktop open the channel, then ⋮ > Export chat history > JSON"
                        )
                    if value == "messages":
                        seen_messages = True
                elif prefix == "messages" and (event == "start_map" or event in _SCALAR_EVENTS):
                    raise ValueError(f"{path}: top-level 'messages' is not an array of messages")
                elif prefix == "messages" and event == "start_array" and "id" in header:
                    break  # the header came first, as tdesktop writes it
                elif event in _SCALAR_EVENTS and prefix in _HEADER_KEYS:
                    header[prefix] = value
                elif prefix == "" and event == "start_array":
                    raise ValueError(f"{path} holds a JSON array, not a Telegram Desktop export object")
        except ijson.JSONError as exc:
            if not seen_messages or "id" not in header:
                raise ValueError(
                    f"{path}: invalid or truncated JSON before the channel header (name/type/id) was read "
                    f"(near byte {raw.tell()}): {_first_line(exc)}"
                ) from None
        except _OverLimit:
            raise ValueError(
                f"{path}: a value near byte {fh.marked:,} is over the record limit (WIREWATCH_MAX_RECORD_BYTES) "
                "while reading the export's header: refused without reading it whole"
            ) from None
    if not seen_messages:
        raise ValueError(f"{path} has no top-level 'messages' array: not a Telegram Desktop chat export")
    if "id" not in header:
        raise ValueError(
            f"{path} has no top-level chat 'id': cannot tell which channel the messages belong to"
        )
    return header


class _OverLimit(Exception):
    """The parser asked for more than the record limit past the last message's end."""


class _Bounded:
    """A binary file that ijson reads through, refusing to hand out more than `limit` bytes (plus one read ahead)
    past the last `mark()`, so one message can never make the parser hold more than that."""

    def __init__(self, fh: IO[bytes], limit: int):
        self._fh, self._limit = fh, limit
        self.read_to = self.marked = fh.tell()

    def mark(self) -> None:
        self.marked = self.read_to

    def read(self, n: int = -1) -> bytes:
        if self.read_to - self.marked > self._limit:
            raise _OverLimit
        data = self._fh.read(n if n >= 0 else 1 << 16)
        self.read_to += len(data)
        return data


def _open(path: Path) -> IO[bytes]:
    """Open for binary reading, past a UTF-8 byte-order mark if an editor added one (yajl refuses it)."""
    fh = path.open("rb")
    if fh.read(3) != b"\xef\xbb\xbf":
        fh.seek(0)
    return fh


def _clean_handle(handle: Any) -> str | None:
    if not isinstance(handle, str):
        return None
    handle = handle.strip().removeprefix("https://t.me/").lstrip("@").strip("/")
    return handle or None


def _first_line(exc: Exception) -> str:
    # yajl's messages run over several lines with a "(right here)" pointer into the buffer.
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
