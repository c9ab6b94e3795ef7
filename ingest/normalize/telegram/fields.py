"""Telethon message fields: scalars (ids, counts, times), peers, reply and forward references, and entity
links/hashtags/mentions with their UTF-16 offsets. A malformed field raises `Bad`, which rejects the message."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ingest.models import INT64_MAX, INT64_MIN, PostRef, check_id, id_problem, utc_from_unix
from ingest.times import NaiveTime, OutOfRange, iso_to_utc

PLATFORM = "telegram"
#: A public username as Telegram allows it (a letter first, 4 to 32 letters, digits and underscores).
USERNAME = r"[A-Za-z][A-Za-z0-9_]{3,31}"
_WRITTEN_ID = re.compile(r"^(?:-100|channel)?(\d{1,19})$")
_WRITTEN_HANDLE = re.compile(rf"^@?({USERNAME})$")


def written_channel(text: str | None) -> int | str | None:
    """A channel as people write it in a table: its id (plain, the Bot API's `-100…` or a Desktop export's
    `channel…`) as an int, or its username with or without `@` as a str (as written); None for anything else."""
    v = (text or "").strip()
    if m := _WRITTEN_ID.match(v):
        return int(m.group(1))
    if m := _WRITTEN_HANDLE.match(v):
        return m.group(1)
    return None


class Bad(ValueError):
    """A field is malformed: the message becomes a Rejected with this reason."""


# ------------------------------------------------------------------------------------------ scalars


def message_id(value: Any) -> int:
    if type(value) is int and 0 < value <= INT64_MAX:  # the common case, ahead of the checks that name faults
        return value
    if value is None:
        raise Bad("id missing: the message has no id")
    return _positive(value, "id")


def _positive(value: Any, what: str) -> int:
    """A message or channel id: the rule every platform shares (`models.id_problem`)."""
    if type(value) is int and 0 < value <= INT64_MAX:
        return value
    n = integer(value, what)
    problem = id_problem(n, what)
    if problem:
        raise Bad(problem)
    return n


def integer(value: Any, what: str) -> int:
    if type(value) is int and INT64_MIN <= value <= INT64_MAX:
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise Bad(f"{what} has type {type(value).__name__} ({str(value)[:40]!r}), expected an integer")
    try:
        return check_id(value, what)
    except ValueError as exc:
        raise Bad(str(exc)) from None


def timestamp(value: Any, what: str, *, naive_ok: bool) -> datetime | None:
    """An aware UTC time from a datetime (live), an ISO string (JSON-safe live payloads, to_json dumps) or a
    naive string (to_dict dumps written with str(); UTC by Telethon's convention, accepted only for files)."""
    if value is None:
        return None
    if type(value) is str:  # files and JSON-safe live payloads: the same path as below, its checks skipped
        return _iso(value, what, naive_ok)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise Bad(f"{what} is a naive datetime ({value.isoformat()}): its time zone is unknown")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise Bad(f"{what} is out of range in UTC: {value.isoformat()}") from None
    if isinstance(value, bool):
        raise Bad(f"{what} has type bool, expected a time")
    if isinstance(value, (int, float)):
        try:
            return utc_from_unix(value)
        except (ValueError, OverflowError, OSError):
            raise Bad(f"{what} is not a Unix time: {value!r}") from None
    if not isinstance(value, str):
        raise Bad(f"{what} has type {type(value).__name__}, expected a time")
    return _iso(value, what, naive_ok)


def _iso(value: str, what: str, naive_ok: bool) -> datetime:
    try:
        return iso_to_utc(value, naive_is_utc=naive_ok)
    except NaiveTime:
        raise Bad(f"{what} has no time zone ({value[:40]!r}) in a live payload") from None
    except OutOfRange:
        raise Bad(f"{what} is out of range in UTC: {value[:40]!r}") from None
    except ValueError:
        raise Bad(f"{what} is not a time: {value[:40]!r}") from None


def channel_of(peer: Any, what: str, *, required: bool) -> int | None:
    """The channel id of a PeerChannel; other peers are not channels and are refused with the reason."""
    if peer is None:
        if required:
            raise Bad(f"{what} missing: cannot tell which channel the message belongs to")
        return None
    if not isinstance(peer, dict):
        raise Bad(f"{what} has type {type(peer).__name__}, expected a Peer object")
    kind = peer.get("_")
    if kind == "PeerChannel":
        cid = peer.get("channel_id")
        if type(cid) is int and 0 < cid <= INT64_MAX:
            return cid
        if cid is None:
            raise Bad(f"{what}.channel_id missing")
        return _positive(cid, f"{what}.channel_id")
    if kind == "PeerChat":
        raise Bad(f"{what} is a PeerChat (basic group {peer.get('chat_id')}): only channels and supergroups "
                   "are ingested (basic groups have no public id space or links)")  # fmt: skip
    if kind == "PeerUser":
        raise Bad(f"{what} is a PeerUser (private chat): only channels and supergroups are ingested")
    raise Bad(f"{what} has unknown peer type {str(kind)[:40]!r}")


def peer_channel_or_none(peer: Any, what: str) -> int | None:
    """A referenced peer's channel id, or None for users and basic groups (their ids are another space)."""
    if isinstance(peer, dict) and peer.get("_") == "PeerChannel":
        return channel_of(peer, what, required=False)
    return None


# ------------------------------------------------------------------------------------------- references


def reply_ref(header: Any, channel_id: int) -> PostRef | None:
    if not isinstance(header, dict) or header.get("_") != "MessageReplyHeader":
        return None  # MessageReplyStoryHeader replies to a story, not a post
    msg_id = header.get("reply_to_msg_id")
    if msg_id is None:
        return None
    msg_id = _positive(msg_id, "reply_to.reply_to_msg_id")
    peer = header.get("reply_to_peer_id")
    if peer is None:
        return PostRef(PLATFORM, channel_id, msg_id)
    return PostRef(PLATFORM, peer_channel_or_none(peer, "reply_to.reply_to_peer_id"), msg_id)


def forward_ref(header: Any, *, naive_ok: bool) -> PostRef | None:
    if header is None:
        return None
    if not isinstance(header, dict):
        raise Bad(f"fwd_from has type {type(header).__name__}, expected a MessageFwdHeader object")
    origin_channel = peer_channel_or_none(header.get("from_id"), "fwd_from.from_id")
    post = header.get("channel_post")
    post_id = _positive(post, "fwd_from.channel_post") if origin_channel and post is not None else None
    name = header.get("from_name")
    return PostRef(
        PLATFORM,
        origin_channel,
        post_id,
        timestamp(header.get("date"), "fwd_from.date", naive_ok=naive_ok),
        name if isinstance(name, str) and name else None,
    )


# ------------------------------------------------------------------------------------------------ entities


#: A character that is not one UTF-16 unit (astral), or a lone surrogate. A regex finds one ten times faster than
#: `max(text)` (2.3 µs against 24 µs for 1,000 Cyrillic characters, which makes a str of each).
_WIDE = re.compile("[\ud800-\udfff\U00010000-\U0010ffff]")


#: The entities whose text is read. A tuple, not a set: a malformed record's `_` may be unhashable.
_SLICED = ("MessageEntityUrl", "MessageEntityHashtag", "MessageEntityMention")


def entity_lists(text: str, entities: Any) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Links, hashtags and mentions the entities mark. Offsets count UTF-16 code units."""
    if not entities:
        return (), (), ()
    if not isinstance(entities, list):
        raise Bad(f"entities has type {type(entities).__name__}, expected a list")
    # One UTF-16 unit a character while the text has no astral character and no surrogate: offsets then index the
    # str itself, and the encode (and a decode per entity) is not needed. Found out at the first entity that
    # slices the text: most only format it (bold, italic).
    narrow: bool | None = None
    utf16 = b""
    links: list[str] = []
    hashtags: list[str] = []
    mentions: list[str] = []
    for ent in entities:
        if not isinstance(ent, dict):
            continue
        kind = ent.get("_")
        if kind == "MessageEntityTextUrl":
            url = ent.get("url")
            if isinstance(url, str) and url.strip():
                links.append(url.strip())
            continue
        if kind not in _SLICED:
            continue
        if narrow is None:
            narrow = text.isascii() or _WIDE.search(text) is None
            if not narrow:
                utf16 = text.encode("utf-16-le", "surrogatepass")
        if narrow:
            chunk = _slice_narrow(text, ent.get("offset"), ent.get("length"))
        else:
            chunk = _slice_utf16(utf16, ent.get("offset"), ent.get("length"))
        if not chunk:
            continue  # offsets outside the text: nothing to read (the text itself is kept)
        # Only what is left non-empty is kept, so the lists below need no second pass to drop empty strings.
        if kind == "MessageEntityUrl":
            links.append(_with_scheme(chunk))
        elif kind == "MessageEntityHashtag":
            if tag := chunk.lstrip("#"):
                hashtags.append(tag)
        elif name := chunk.lstrip("@"):
            mentions.append(name)
    return (
        tuple(dict.fromkeys(links)) if links else (),
        tuple(dict.fromkeys(hashtags)) if hashtags else (),
        tuple(dict.fromkeys(mentions)) if mentions else (),
    )


def _slice_utf16(utf16: bytes, offset: Any, length: Any) -> str:
    if isinstance(offset, bool) or isinstance(length, bool):
        return ""
    if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length <= 0:
        return ""
    start, end = 2 * offset, 2 * (offset + length)
    if end > len(utf16):
        return ""
    # A slice cutting a surrogate pair in half leaves a lone surrogate: drop it rather than store it.
    return utf16[start:end].decode("utf-16-le", "ignore").strip()


def _slice_narrow(text: str, offset: Any, length: Any) -> str:
    """`_slice_utf16` for a text whose UTF-16 units are its characters (see `entity_lists`)."""
    if type(offset) is not int or type(length) is not int:
        return (
            ""
            if isinstance(offset, bool) or isinstance(length, bool)
            else _slice_utf16(text.encode("utf-16-le", "surrogatepass"), offset, length)
        )
    if offset < 0 or length <= 0 or offset + length > len(text):
        return ""
    return text[offset : offset + length].strip()


def _with_scheme(url: str) -> str:
    # Telegram links bare domains ("bloom.bg/4lzgWdi"): store them as the URL a click opens.
    if url and "://" not in url and not url.lower().startswith(("mailto:", "tg:")):
        return "https://" + url
    return url
