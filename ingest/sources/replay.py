"""The "replay" live source: serves posts from capture files as if they came from the platform.

A capture is what a collector saved earlier: Telethon `Message.to_dict()` records (one JSON object a line) or X API
v2 response pages (twarc2 output, one page a line). A channel in `channels.toml` points at one:

    [[channels]]
    platform = "telegram"
    handle = "bloomberg"
    source = "replay"
    channel_id = 1488156064          # optional: else the capture's only channel (or, for X, the user by handle)
    replay_path = "captures/bloomberg.jsonl"   # a file or a folder of *.jsonl; relative to channels.toml
    replay_batch = 100               # posts a batch (a live source's page size)
    replay_delay = 0.0               # seconds to wait before each batch (simulated network latency)

The source answers `fetch` exactly like a live one: the channel's posts newer than the cursor (or published in
[since, until)), oldest first, in batches that never split an album, each with the cursor it reaches; then a rescan
of the posts published since `rescan_since`. It lets the hourly DAG and backfills run end to end with no network,
and demos run offline. It knows files and nothing else: it never touches the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ingest.models import ChannelSpec, Cursor, FetchWindow, Normalized, Post, RawRecord
from ingest.sources.base import Batch, Batches, Listed, SourceError
from ingest.sources.fingerprint import Fingerprinter, Unit
from ingest.sources.lines import max_record_bytes, open_lines, read_lines
from ingest.times import iso_to_utc

log = logging.getLogger(__name__)

NAME = "replay"
TELETHON = "telethon-jsonl"
X_PAGES = "x-v2-jsonl"
DEFAULT_BATCH = 100


@dataclass(frozen=True, slots=True)
class _Item:
    """One post of the capture: its id, time, payload and, for X, the includes of the page it came from."""

    channel_id: int
    post_id: int
    posted_at: datetime
    payload: dict[str, Any]
    origin: str
    album: Any = None  # Telegram grouped_id: a batch never splits an album
    includes: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class _Capture:
    format: str
    items: tuple[_Item, ...]  # every post of every channel, oldest first
    channels: dict[int, tuple[str | None, str | None]]  # channel id -> (handle, title) where the capture says
    unreadable: int


def capture_path(spec: ChannelSpec) -> Path:
    """The capture named by the channel's `replay_path` option (`load_config` makes it absolute: relative paths
    start at channels.toml)."""
    raw = spec.options.get("replay_path")
    if not raw:
        raise SourceError(f"{spec.platform}:{spec.handle}: source 'replay' needs a replay_path option")
    return Path(str(raw)).expanduser()


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.glob("*.jsonl") if p.is_file())
        if not files:
            raise SourceError(f"no *.jsonl capture files in {path}")
        return files
    if not path.is_file():
        raise SourceError(f"capture {path} does not exist")
    return [path]


def _sniff(line: bytes) -> str:
    if b'"_": "Message' in line or b'"_":"Message' in line:
        return TELETHON
    return X_PAGES


def _utc(value: Any) -> datetime:
    """Telethon captures lost the offset of their (UTC) dates; X times end in Z."""
    return iso_to_utc(str(value))


def _telegram_peer(payload: dict[str, Any]) -> int | None:
    peer = payload.get("peer_id") or {}
    for key in ("channel_id", "chat_id", "user_id"):
        if isinstance(peer.get(key), int):
            return peer[key]
    return None


def load_capture(path: Path, fmt: str = "auto") -> _Capture:
    """Read a capture into memory, oldest post first. The last record of a post wins (collectors re-run, and
    their later record is the later state); unreadable lines are counted and logged, never fatal."""
    if fmt not in ("auto", TELETHON, X_PAGES):
        raise SourceError(f"replay_format must be {TELETHON!r} or {X_PAGES!r}, not {fmt!r}")
    latest: dict[tuple[int, int], _Item] = {}
    channels: dict[int, tuple[str | None, str | None]] = {}
    unreadable = 0
    limit = max_record_bytes()
    for file in _files(path):
        with open_lines(file) as fh:
            for numbered in read_lines(fh, limit):
                origin = f"{file}:{numbered.number}"
                line = numbered.data
                if line is None:
                    unreadable += 1
                    log.warning("replay: record at %s skipped: %s", origin, numbered.refusal(limit))
                    continue
                if not line.strip():
                    continue
                if fmt == "auto":
                    fmt = _sniff(line)
                try:
                    obj = orjson.loads(line)
                    if fmt == TELETHON:
                        items = _telethon_items(obj, origin)
                    else:
                        items = _x_items(obj, origin, channels)
                except (orjson.JSONDecodeError, TypeError, ValueError, KeyError, AttributeError) as exc:
                    unreadable += 1
                    log.warning("replay: unreadable record at %s: %s", origin, exc)
                    continue
                for item in items:
                    latest[(item.channel_id, item.post_id)] = item
                    channels.setdefault(item.channel_id, (None, None))
    ordered = sorted(latest.values(), key=lambda i: (i.posted_at, i.post_id))
    return _Capture(fmt if fmt != "auto" else TELETHON, tuple(ordered), channels, unreadable)


def _telethon_items(obj: Any, origin: str) -> list[_Item]:
    if not isinstance(obj, dict) or not str(obj.get("_", "")).startswith("Message"):
        raise ValueError("not a Telethon message record")
    channel_id = _telegram_peer(obj)
    if channel_id is None:
        raise ValueError("message has no peer_id")
    return [_Item(channel_id, int(obj["id"]), _utc(obj["date"]), obj, origin, album=obj.get("grouped_id"))]


def _x_items(obj: Any, origin: str, channels: dict[int, tuple[str | None, str | None]]) -> list[_Item]:
    if not isinstance(obj, dict):
        raise ValueError("not an X API v2 page")
    includes = obj.get("includes") or {}
    for user in includes.get("users") or ():
        channels[int(user["id"])] = (str(user.get("username") or "").lower() or None, user.get("name"))
    out = []
    for tweet in obj.get("data") or ():
        if not isinstance(tweet, dict) or "author_id" not in tweet or "created_at" not in tweet:
            continue  # compliance or error lines carry no timeline posts
        author = int(tweet["author_id"])
        out.append(
            _Item(author, int(tweet["id"]), _utc(tweet["created_at"]), tweet, origin, includes=includes)
        )
    return out


class ReplaySource:
    """A LiveSource over capture files (see the module docstring)."""

    name = NAME

    def __init__(self, platform: str | None = None, *, now: datetime | None = None):
        self.platform = platform or ""
        self._now = now
        self._cache: dict[Path, _Capture] = {}

    @classmethod
    def from_env(cls, account: str = "default") -> ReplaySource:
        """Same shape as the live sources' constructors; a capture needs no credentials."""
        return cls()

    def _capture(self, spec: ChannelSpec) -> _Capture:
        path = capture_path(spec)
        if path not in self._cache:
            cap = load_capture(path, str(spec.options.get("replay_format", "auto")))
            expected = TELETHON if spec.platform == "telegram" else X_PAGES
            if cap.format != expected:
                raise SourceError(
                    f"{path} is a {cap.format} capture, not {expected} for platform {spec.platform}"
                )
            self._cache[path] = cap
        return self._cache[path]

    def resolve(self, spec: ChannelSpec) -> tuple[int, str | None, str | None]:
        cap = self._capture(spec)
        if spec.channel_id is not None:
            handle, title = cap.channels.get(spec.channel_id, (None, None))
            return spec.channel_id, handle or spec.handle, title or spec.title
        by_handle = [cid for cid, (handle, _) in cap.channels.items() if handle == spec.handle]
        if len(by_handle) == 1:
            handle, title = cap.channels[by_handle[0]]
            return by_handle[0], handle, title or spec.title
        posting = {i.channel_id for i in cap.items}
        if len(posting) == 1:
            return posting.pop(), spec.handle, spec.title
        raise SourceError(
            f"cannot tell which channel of {capture_path(spec)} is {spec.handle!r}: set channel_id in channels.toml"
        )

    def fetch(
        self, spec: ChannelSpec, channel_id: int, cursor: Cursor | None, window: FetchWindow
    ) -> Batches:
        since, until, rescan_since = window.since, window.until, window.rescan_since
        cap = self._capture(spec)
        mine = [i for i in cap.items if i.channel_id == channel_id]
        size = max(1, int(spec.options.get("replay_batch", DEFAULT_BATCH)))
        delay = float(spec.options.get("replay_delay", 0.0))
        notes = {"replay_unreadable_records": cap.unreadable} if cap.unreadable else {}
        if window.windowed:
            # A window re-reads its own posts whatever the cursor says (backfills and hourly runs).
            new = [
                i
                for i in mine
                if (since is None or i.posted_at >= since) and (until is None or i.posted_at < until)
            ]
        else:
            last = cursor.last_post_id if cursor is not None else None
            new = [i for i in mine if last is None or i.post_id > last]
        for chunk in _album_safe_chunks(new, size):
            _wait(delay)
            top = max(chunk, key=lambda i: (i.post_id, i.posted_at))
            batch_cursor = Cursor(last_post_id=top.post_id, last_posted_at=max(i.posted_at for i in chunk))
            yield Batch(self._records(spec, cap, chunk, channel_id), cursor=batch_cursor, notes=notes)
        if rescan_since is None:
            return
        again = [i for i in mine if i.posted_at >= rescan_since and (until is None or i.posted_at < until)]
        low = None
        for chunk in _album_safe_chunks(again, size):
            _wait(delay)
            ids = [i.post_id for i in chunk]
            listed = None
            if cap.format == TELETHON:
                # Like Telethon's rescan: the capture lists every post of the channel in this id range.
                listed = Listed(low if low is not None else min(ids), max(ids))
                low = max(ids) + 1
            yield Batch(self._records(spec, cap, chunk, channel_id), listed=listed, rescan=True, notes=notes)

    def _records(
        self, spec: ChannelSpec, cap: _Capture, chunk: list[_Item], channel_id: int
    ) -> list[RawRecord]:
        fetched_at = self._now or datetime.now(UTC)
        handle, title = cap.channels.get(channel_id, (None, None))
        handle = handle or spec.handle
        if cap.format == TELETHON:
            # What the live Telethon source tells its normaliser, plus: capture dates lost their (UTC) offset.
            context = {"format": cap.format, "handle": handle, "handle_channel_id": channel_id,
                       "title": title or spec.title, "naive_dates_are_utc": True}  # fmt: skip
            return [RawRecord(NAME, i.payload, i.origin, fetched_at, context) for i in chunk]
        # X: one page per batch, as the API returns them, with the includes of the pages the posts came from.
        tweets = [i.payload for i in chunk]
        includes = _page_includes(tweets, _merge_includes(i.includes for i in chunk))
        page = {"data": tweets, "includes": includes, "meta": {"result_count": len(chunk)}}
        origins = sorted({i.origin for i in chunk})
        context = {"format": cap.format, "author_id": str(channel_id), "handle": handle}
        return [RawRecord(NAME, page, ",".join(origins)[:1000], fetched_at, context)]


def _wait(delay: float) -> None:
    if delay > 0:
        time.sleep(delay)


def _album_safe_chunks(items: list[_Item], size: int) -> Iterator[list[_Item]]:
    """Chunks of `size` posts, extended so that posts sharing an album id stay in one chunk."""
    i = 0
    while i < len(items):
        j = min(i + size, len(items))
        album = items[j - 1].album
        while album is not None and j < len(items) and items[j].album == album:
            j += 1
        yield items[i:j]
        i = j


def _merge_includes(parts: Any) -> dict[str, list[Any]]:
    merged: dict[str, dict[Any, Any]] = {}
    for includes in parts:
        for kind, objs in (includes or {}).items():
            bucket = merged.setdefault(kind, {})
            for obj in objs or ():
                key = (obj.get("id") or obj.get("media_key")) if isinstance(obj, dict) else None
                bucket[key if key is not None else orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)] = obj
    return {kind: list(bucket.values()) for kind, bucket in merged.items()}


def _page_includes(tweets: list[dict[str, Any]], pool: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The includes the API would send with these tweets: the referenced tweets, and the users, media, places
    and polls that they or those referenced tweets point to (a capture page's includes serve the whole page)."""
    by_id = {str(t.get("id")): t for t in pool.get("tweets") or () if isinstance(t, dict)}
    refs = {str(r.get("id")) for t in tweets for r in t.get("referenced_tweets") or () if isinstance(r, dict)}
    included = [by_id[r] for r in sorted(refs) if r in by_id]
    every = [*tweets, *included]
    users, media, places, polls = set(), set(), set(), set()
    for t in every:
        users.update(str(t[k]) for k in ("author_id", "in_reply_to_user_id") if t.get(k) is not None)
        ents = t.get("entities") or {}
        for m in ents.get("mentions") or ():
            if isinstance(m, dict):
                users.update(str(m[k]) for k in ("id", "username") if m.get(k))
        att = t.get("attachments") or {}
        media.update(str(k) for k in att.get("media_keys") or ())
        polls.update(str(k) for k in att.get("poll_ids") or ())
        if (t.get("geo") or {}).get("place_id"):
            places.add(str(t["geo"]["place_id"]))
    keep = {
        "users": ("id", users),
        "media": ("media_key", media),
        "places": ("id", places),
        "polls": ("id", polls),
    }
    out: dict[str, list[Any]] = {"tweets": included} if included else {}
    for kind, (key, wanted) in keep.items():
        objs = [
            o
            for o in pool.get(kind) or ()
            if isinstance(o, dict)
            and (str(o.get(key)) in wanted or (kind == "users" and o.get("username") in wanted))
        ]
        if objs:
            out[kind] = objs
    return out


def normalize_replay(record: RawRecord) -> Iterator[Normalized]:
    """Normalise a replayed record with the normaliser of the capture's format; the posts say source 'replay'."""
    from ingest.sources.formats import get_format

    fmt = record.context.get("format")
    if fmt not in (TELETHON, X_PAGES):
        raise ValueError(f"replay record without a known capture format: {fmt!r}")
    for item in get_format(fmt).normalize(record):
        yield replace(item, source=NAME) if isinstance(item, Post) else item


def _units(records: Sequence[RawRecord], key: int) -> list[Unit]:
    """A replayed batch's units, by its capture format's fingerprinter (one format a batch)."""
    fmt = records[0].context.get("format") if records else None
    if fmt not in (TELETHON, X_PAGES) or any(r.context.get("format") != fmt for r in records):
        return []
    if fmt == TELETHON:
        from ingest.sources.telegram.fingerprint import units
    else:
        from ingest.sources.x.fingerprint import units
    return units(records, key)


def _without(record: RawRecord, skipped: set[int]) -> tuple[RawRecord, frozenset[int]] | None:
    from ingest.sources.x.fingerprint import without

    return without(record, skipped)


#: Replayed captures skip unchanged input like the live sources they stand for.
FINGERPRINT = Fingerprinter(_units, _without)
