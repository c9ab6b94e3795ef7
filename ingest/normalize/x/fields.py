"""X API v2 fields: Snowflake times, ISO times, text unescaping, language codes, and the small readers every
part of a page uses (lists, ids, includes by id, rejects)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ingest.models import INT64_MAX, RawRecord, Rejected, positive_id
from ingest.times import NaiveTime, OutOfRange, iso_to_utc

PLATFORM = "x"
#: Snowflake ids carry their creation time: ms = (id >> 22) + this epoch (2010-11-04T01:42:54.657Z).
TWITTER_EPOCH_MS = 1288834974657
#: Ids below this predate Snowflake (Nov 2010): they were sequential and carry no time.
SNOWFLAKE_MIN_ID = 30_000_000_000
#: X language codes that mean "no language" (undetermined, short text, mentions/cashtags/hashtags/media only).
NO_LANGUAGE = frozenset({"und", "qst", "zxx", "qam", "qct", "qht", "qme"})
LEGACY_LANGS = {"in": "id", "iw": "he", "ji": "yi"}
#: The media key prefix tells the type even when includes.media did not expand the key.
MEDIA_KEY_TYPES = {"3": "photo", "7": "video", "13": "video", "16": "animated_gif"}
#: Compliance stream event names (v2 `data.<event>` and v1.1 top-level) that remove a post from view.
DELETE_EVENTS = frozenset({"delete", "tweet_delete", "drop", "tweet_drop", "status_delete"})
OTHER_COMPLIANCE_EVENTS = frozenset(
    {"tweet_edit", "withheld", "tweet_withheld", "status_withheld", "undrop", "tweet_undrop", "scrub_geo",
     "user_delete", "user_undelete", "user_protect", "user_unprotect", "user_suspend", "user_unsuspend",
     "user_withheld", "user_profile_modification"}
)  # fmt: skip
PAGE_KEYS = frozenset({"data", "includes", "errors", "meta"})
COMPLIANCE_EVENTS = DELETE_EVENTS | OTHER_COMPLIANCE_EVENTS


def snowflake_time(tweet_id: int) -> datetime | None:
    """Creation time encoded in a Snowflake id, in whole seconds (X's created_at has second precision and
    equals this truncation), or None for pre-Snowflake ids."""
    if tweet_id < SNOWFLAKE_MIN_ID:
        return None
    ms = (tweet_id >> 22) + TWITTER_EPOCH_MS
    # The epoch plus a timedelta is the same aware datetime as fromtimestamp(tz=UTC), at a fifth of the cost.
    return _UNIX_EPOCH + timedelta(seconds=ms // 1000)


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def plain_id(value: Any) -> int | None:
    """The id when it is the common case: a decimal string (what v2 sends) or an int, in 1..2**63-1. None means
    "not plainly valid": the caller asks `positive_id`, whose verdicts and messages stay the only ones."""
    if type(value) is str:
        if len(value) <= 19 and value.isdigit() and value.isascii():
            n = int(value)
            if 0 < n <= INT64_MAX:
                return n
    elif type(value) is int and 0 < value <= INT64_MAX:
        return value
    return None


def tweet_id(value: Any, what: str) -> int:
    """`positive_id`, with the common case (`plain_id`) first."""
    n = plain_id(value)
    return positive_id(value, what) if n is None else n


def parse_time(value: Any, what: str) -> datetime:
    """X v2 times are ISO 8601 with Z (and milliseconds); refuse anything without a zone."""
    if not isinstance(value, str):
        raise ValueError(f"{what} has type {type(value).__name__}, expected an ISO 8601 string")
    try:
        return iso_to_utc(value, naive_is_utc=False)
    except NaiveTime:
        raise ValueError(f"{what} has no time zone: {value[:40]!r}") from None
    except OutOfRange:
        raise ValueError(f"{what} is out of range in UTC: {value[:40]!r}") from None
    except ValueError:
        raise ValueError(f"{what} is not ISO 8601: {value[:40]!r}") from None


def parse_created(value: Any, what: str) -> datetime:
    """`parse_time` of a time as X writes it (`2021-09-22T16:37:29.000Z`): `fromisoformat` takes the Z itself
    at a fifth of `iso_to_utc`'s cost, with the same result; any other shape, and any failure, goes the
    general way (and gets its error message from there)."""
    if type(value) is str and len(value) == 24 and value[23] == "Z" and value[10] == "T" and value[19] == ".":
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if dt.tzinfo is UTC:
                return dt
    return parse_time(value, what)


def observed_at(fetched_at: datetime | None, twarc: dict | None) -> datetime | None:
    """When a page's counts were observed: when the source fetched it, else the `__twarc.retrieved_at` a twarc2
    file carries (None when neither is known or the latter is unreadable). The fingerprint's skip rule and the
    normaliser read the same time, so they agree on which observation is newer."""
    if fetched_at is not None:
        return fetched_at
    if twarc is None:
        return None
    try:
        return parse_time(twarc.get("retrieved_at"), "__twarc.retrieved_at")
    except ValueError:
        return None


def unescape(text: str) -> str:
    """X escapes exactly &, < and > in text; undo that (and only that)."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def normalize_lang(value: Any) -> str | None:
    if type(value) is str:
        # A page holds a few languages, a file a few dozen: remember them (bounded: a file can write anything).
        code = _LANGS.get(value, _UNSEEN)
        if code is not _UNSEEN:
            return code
    elif not isinstance(value, str):
        return None
    code = value.strip().lower()
    code = None if not code or code in NO_LANGUAGE else LEGACY_LANGS.get(code, code)
    if type(value) is str and len(_LANGS) < 1024:
        _LANGS[value] = code
    return code


_UNSEEN: Any = object()
_LANGS: dict[str, str | None] = {}


def reject(record: RawRecord, reason: str, payload: Any, **ids: Any) -> Rejected:
    return Rejected(
        source=record.source, reason=reason, payload=payload, origin=record.origin, raw_text=record.raw_text,
        platform=PLATFORM, **ids,
    )  # fmt: skip


def as_list(value: Any) -> list:
    """A list field, or nothing when the page holds something else there."""
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def int_or_none(value: Any) -> int | None:
    if type(value) is int:  # the usual count, in one test
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def id_or_none(value: Any) -> int | None:
    n = plain_id(value)
    if n is not None:
        return n
    try:
        return positive_id(value, "id")
    except ValueError:
        return None


def index_by(items: Any, key: str, what: str) -> dict[str, dict]:
    """includes.<what> as {id: object}; ids are compared as strings (v2 sends strings, some tools ints)."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise ValueError(f"includes.{what} is a {type(items).__name__}, expected a list")
    out: dict[str, dict] = {}
    for item in items:
        if isinstance(item, dict) and item.get(key) is not None:
            out.setdefault(str(item[key]), item)
    return out


def best_variant(variants: Any) -> str | None:
    """The highest-bitrate MP4 of a video or GIF."""
    if not isinstance(variants, list):
        return None
    mp4 = [
        v for v in variants if isinstance(v, dict) and v.get("content_type") == "video/mp4" and v.get("url")
    ]
    if not mp4:
        return None
    return max(mp4, key=lambda v: int_or_none(v.get("bit_rate")) or 0)["url"]
