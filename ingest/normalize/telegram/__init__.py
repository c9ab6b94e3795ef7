"""Normalise one Telethon message (`Message.to_dict()` / `MessageService.to_dict()`) into a Post.

The same function serves the live source (payloads made JSON-safe by `ingest.sources.telegram`, dates as ISO
strings with an offset) and Telethon JSONL dumps (`telethon_jsonl`, dates written by `str()` of a naive
datetime, e.g. "2025-08-20 05:54:04.000000": Telethon dates are UTC, so a naive string is read as UTC there
and refused anywhere else). Quirks absorbed here:

- entity offsets and lengths count UTF-16 code units, not Python characters: an emoji outside the BMP before
  a link shifts every offset by one per emoji;
- Telegram moves `edit_date` when reactions change, so it is only `version_at` (the loader detects edits by
  content hash, never by `edit_date`);
- an album is one message per media item sharing `grouped_id`; each normalises alone, the pipeline merges;
- only channels and supergroups (`PeerChannel`) have a stable public id space: basic groups (`PeerChat`) and
  private chats (`PeerUser`) are rejected with the reason, as are forwards' and replies' non-channel peers
  reduced to a name or nothing.
"""

from ingest.normalize.telegram.fields import PLATFORM
from ingest.normalize.telegram.message import SOURCE_JSONL, SOURCE_LIVE, normalize_message

__all__ = ["PLATFORM", "SOURCE_JSONL", "SOURCE_LIVE", "normalize_message"]
