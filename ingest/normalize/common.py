"""Checks and merges every normaliser shares: storable text, UTC times, albums as one post."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

import orjson

from ingest.models import INT64_MAX, Post, Rejected, id_problem

#: Posts claiming to be from further in the future than this are refused (clock or parse errors).
MAX_FUTURE = timedelta(days=1)
#: Telegram launched in 2013, X in 2006: anything earlier is a parse error.
MIN_TIME = datetime(2006, 1, 1, tzinfo=UTC)
MAX_TEXT = 1_000_000


def check_post(post: Post, now: datetime | None = None, origin: str = "") -> Post | Rejected:
    """Refuse what PostgreSQL cannot store or what cannot be true, with a precise reason and the record's origin
    (`origin`, else the post's own)."""
    now = now or datetime.now(UTC)
    if _plainly_valid(post, now):
        return post
    ids = _ids_problem(post)
    reason = ids or _problem(post, now)
    if reason is None:
        return post
    ids_ok = ids is None
    return Rejected(
        source=post.source, reason=reason, payload=post.raw, origin=origin or post.origin, platform=post.platform,
        channel_id=post.channel_id if ids_ok else None, post_id=post.post_id if ids_ok else None,
    )  # fmt: skip


def _plainly_valid(post: Post, now: datetime) -> bool:
    """True when the post passes every check, found cheaply: plain positive ids, aware times in range, and every
    string at once through one orjson encode (it refuses lone surrogates and writes a NUL as \\u0000). False
    says only "look closer": `_ids_problem` and `_problem` then find the reason (or none), so this path can never
    change a verdict, only skip the walk for the posts that need none."""
    for value in (post.channel_id, post.post_id):
        if type(value) is not int or not 0 < value <= INT64_MAX:
            return False
    value = post.source_post_id
    if value is not None and (type(value) is not int or not 0 < value <= INT64_MAX):
        return False
    refs = (post.reply_to, post.forwarded_from, post.quoted, post.reposted)
    for ref in refs:
        if ref is not None:
            for value in (ref.channel_id, ref.post_id):
                if value is not None and (type(value) is not int or not 0 < value <= INT64_MAX):
                    return False
    latest = now + MAX_FUTURE
    for value in (post.posted_at, post.edited_at, post.version_at):
        if value is not None and (value.tzinfo is None or not MIN_TIME <= value <= latest):
            return False
    text = post.text
    if len(text) > MAX_TEXT:
        return False
    metrics = post.metrics
    channel = post.channel
    strings = (
        text, post.lang, post.url, post.links, post.hashtags, post.mentions, post.media,
        metrics.reactions if metrics is not None else None,
        [ref.name for ref in refs if ref is not None],
        channel.handle if channel is not None else None, channel.title if channel is not None else None,
    )  # fmt: skip
    try:
        encoded = orjson.dumps(strings, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, ValueError):  # a lone surrogate, or a value orjson does not take: look closer
        return False
    return b"\\u0000" not in encoded


def _ids_problem(post: Post) -> str | None:
    """The same id rule for every platform, whatever its normaliser checked: keys and references are positive
    bigints."""
    problem = id_problem(post.channel_id, "channel id") or id_problem(post.post_id, "post id")
    if problem is None and post.source_post_id is not None:
        problem = id_problem(post.source_post_id, "source post id")
    for name in ("reply_to", "forwarded_from", "quoted", "reposted"):
        ref = getattr(post, name)
        if problem is None and ref is not None:
            for attr in ("channel_id", "post_id"):
                value = getattr(ref, attr)
                if value is not None:
                    problem = problem or id_problem(value, f"{name}.{attr}")
    return problem


def _problem(post: Post, now: datetime) -> str | None:
    """Why a post with valid ids cannot be stored (`_ids_problem` is checked first)."""
    for name in ("posted_at", "edited_at", "version_at"):
        value = getattr(post, name)
        if value is None:
            continue
        if value.tzinfo is None:
            return f"{name} is naive (no time zone): {value.isoformat()}"
        if value > now + MAX_FUTURE:
            return f"{name} is in the future: {value.isoformat()}"
        if value < MIN_TIME:
            return f"{name} is before the platform existed: {value.isoformat()}"
    if "\x00" in post.text:
        return f"text contains a NUL byte at offset {post.text.index(chr(0))}"
    try:
        post.text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"text is not valid Unicode: lone surrogate at offset {exc.start}"
    if len(post.text) > MAX_TEXT:
        return f"text is {len(post.text)} characters, over the {MAX_TEXT} limit"
    # Every other string lands in a text, text[] or jsonb column too: one NUL or lone surrogate there fails the
    # whole batch (an import stops; a live channel fails at the same batch on every run).
    for name in ("lang", "url", "links", "hashtags", "mentions", "media"):
        reason = _bad_string(getattr(post, name), name)
        if reason:
            return reason
    if post.metrics is not None and post.metrics.reactions:
        reason = _bad_string(post.metrics.reactions, "reactions")
        if reason:
            return reason
    for name in ("reply_to", "forwarded_from", "quoted", "reposted"):
        ref = getattr(post, name)
        if ref is not None:
            reason = _bad_string(ref.name, f"{name}.name")
            if reason:
                return reason
    if post.channel is not None:
        reason = _bad_string(post.channel.handle, "channel handle") or _bad_string(
            post.channel.title, "channel title"
        )
        if reason:
            return reason
    return None


def _bad_string(value: object, where: str) -> str | None:
    """Why `value` (a string, or the strings nested in lists and dicts) cannot be stored, or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return f"{where} contains a NUL byte at offset {value.index(chr(0))}"
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                return f"{where} is not valid Unicode: lone surrogate at offset {exc.start}"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            reason = _bad_string(key, f"{where} key {str(key)[:40]!r}") or _bad_string(item, f"{where}.{key}")
            if reason:
                return reason
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            reason = _bad_string(item, f"{where}[{i}]")
            if reason:
                return reason
    return None


def merge_albums(posts: Iterable[Post]) -> list[Post]:
    """Telegram albums (one message per photo, shared grouped_id) become one post: the lowest id, the caption
    of the member that has text, the media of all members (each tagged with its message id)."""
    out: list[Post] = []
    albums: dict[tuple[str, int, int], list[Post]] = {}
    for p in posts:
        if p.grouped_id is None:
            out.append(p)
        else:
            key = (p.platform, p.channel_id, p.grouped_id)
            if key not in albums:
                albums[key] = []
                out.append(p)  # placeholder keeps the album's position
            albums[key].append(p)
    merged: dict[tuple[str, int, int], Post] = {k: _merge(v) for k, v in albums.items()}
    return [merged[(p.platform, p.channel_id, p.grouped_id)] if p.grouped_id is not None else p for p in out]


def _merge(members: list[Post]) -> Post:
    if len(members) == 1:
        return members[0]
    # Duplicate records of one member (collector re-runs) count once; the last copy is the freshest.
    by_id: dict[int, Post] = {}
    for m in members:
        by_id[m.post_id] = m
    ordered = [by_id[k] for k in sorted(by_id)]
    head = ordered[0]
    captioned = next((m for m in ordered if m.text), head)
    media: list[dict] = []
    for m in ordered:
        for item in m.media:
            media.append({**item, "msg_id": m.post_id})
    edited = [m.edited_at for m in ordered if m.edited_at]
    return dataclasses.replace(
        captioned,
        post_id=head.post_id,
        posted_at=head.posted_at,
        url=head.url,
        edited_at=max(edited) if edited else None,
        version_at=max(m.effective_version_at for m in ordered),
        media=tuple(media),
        metrics=head.metrics or captioned.metrics,
        links=tuple(dict.fromkeys(x for m in ordered for x in m.links)),
        hashtags=tuple(dict.fromkeys(x for m in ordered for x in m.hashtags)),
        mentions=tuple(dict.fromkeys(x for m in ordered for x in m.mentions)),
        raw={"album": [m.raw for m in ordered]},
    )


def album_member_ids(post: Post) -> Iterator[int]:
    yield post.post_id
    for m in post.media:
        mid = m.get("msg_id")
        if isinstance(mid, int):
            yield mid
