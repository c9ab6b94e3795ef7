"""What a brief is made from (the event's posts as the warehouse holds them) and what it says.

`EventInput` is read by `ingest.warehouse.briefs`; `ingest.briefs.build.build_brief` turns it into a `Brief`
without touching the database, so the logic is testable on hand-made inputs. Every datetime is aware UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any

PLATFORM_NAMES = {"telegram": "Telegram", "x": "X"}
_URL_HANDLE = re.compile(r"^https?://(?:t\.me|x\.com|twitter\.com)/(?:s/)?([A-Za-z0-9_]+)/", re.I)


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    platform: str
    channel_id: int | None
    handle: str | None = None
    title: str | None = None
    url_hint: str | None = None  # a post URL of this channel: it keeps the handle's original capitals

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.channel_id}"

    @property
    def display_handle(self) -> str | None:
        if self.url_hint:
            m = _URL_HANDLE.match(self.url_hint)
            if m and self.handle and m.group(1).lower() == self.handle.lower():
                return m.group(1)
        return self.handle

    @property
    def name(self) -> str:
        """'Kyiv Post (@KyivPost_official, Telegram)'."""
        platform = PLATFORM_NAMES.get(self.platform, self.platform)
        h = self.display_handle
        if self.title and h:
            return f"{self.title} (@{h}, {platform})"
        if h:
            return f"@{h} ({platform})"
        if self.title:
            return f"{self.title} ({platform})"
        return f"{platform} channel {self.channel_id}"

    @property
    def short(self) -> str:
        h = self.display_handle
        return f"@{h}" if h else (self.title or f"{self.platform}:{self.channel_id}")

    @property
    def url(self) -> str | None:
        h = self.display_handle
        if not h:
            return None
        return f"https://t.me/{h}" if self.platform == "telegram" else f"https://x.com/{h}"


@dataclass(frozen=True, slots=True)
class VersionInput:
    version_at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class PostInput:
    """One post of the event with what the brief needs about it and about the posts it points to."""

    platform: str
    channel_id: int
    post_id: int
    posted_at: datetime
    text: str
    url: str | None
    channel: ChannelInfo
    role: str = "report"  # origin | forward | report (event_posts.role)
    joined_by: str = "similar"
    lang: str | None = None
    dup_key: int | None = None
    forwarded_from: ChannelInfo | None = None  # Telegram forward: the origin channel
    fwd_post_id: int | None = None
    fwd_posted_at: datetime | None = None
    fwd_url: str | None = None
    reposted_from: ChannelInfo | None = None  # X repost: the original's account
    reposted_post_id: int | None = None
    reposted_url: str | None = None
    quoted_post_id: int | None = None
    reply_to_post_id: int | None = None
    versions: tuple[VersionInput, ...] = ()  # every version, oldest first, when the post was edited

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.platform, self.channel_id, self.post_id)

    @property
    def is_forward(self) -> bool:
        return self.forwarded_from is not None or self.fwd_post_id is not None

    @property
    def is_repost(self) -> bool:
        return self.reposted_post_id is not None


@dataclass(frozen=True, slots=True)
class EventInput:
    event_id: int
    storyline_id: int | None
    title: str | None
    first_post_at: datetime
    last_post_at: datetime
    posts: tuple[PostInput, ...]
    digest: str = ""  # hash of these inputs (see ingest.warehouse.briefs.event_digests)


# ------------------------------------------------------------------------------------------------ output


@dataclass(slots=True)
class PostLink:
    channel: str  # display name
    short: str  # "@handle"
    platform: str
    post_id: int
    posted_at: datetime
    url: str | None


@dataclass(slots=True)
class FirstSeen:
    channel: str
    platform: str
    post_id: int | None
    at: datetime
    url: str | None
    via: str | None = None  # "forward in @x": the origin itself is not in the warehouse


@dataclass(slots=True)
class TimelineEntry:
    at: datetime
    what: str  # first report | report | follow-up | forward | repost | quote | edit
    channel: str
    platform: str
    post_id: int
    url: str | None
    lang: str | None
    text: str  # the lead (or for an edit, what changed)
    of: str | None = None  # forward/repost/reply: whose post


@dataclass(slots=True)
class FigureMention:
    label: str  # normalised, English
    surface: str  # as the source wrote it
    kind: str
    url: str | None


@dataclass(slots=True)
class SourceSummary:
    """One independent source: a channel with original posts, and the forwards/reposts that carry them."""

    key: str
    channel: str
    platform: str
    channel_url: str | None
    first_at: datetime
    first_url: str | None
    posts: list[PostLink] = field(default_factory=list)
    carried_by: list[PostLink] = field(default_factory=list)  # forwards and reposts of this source's posts
    languages: list[str] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)
    figures: list[FigureMention] = field(default_factory=list)


@dataclass(slots=True)
class Claim:
    """A figure or quoted phrase and the independent sources that carry it."""

    kind: str  # figure | quote
    label: str
    surfaces: list[str]
    sources: list[str]  # display names
    urls: list[str]

    @property
    def single(self) -> bool:
        return len(self.sources) == 1


@dataclass(slots=True)
class Disagreement:
    quantity: str  # what is measured: "money (USD)", "date (summit)"
    values: list[dict[str, Any]]  # {source, label, surface, url}


@dataclass(slots=True)
class ProvenanceEntry:
    url: str | None
    channel: str
    platform: str
    post_id: int
    posted_at: datetime
    role: str
    carried_by: list[PostLink] = field(default_factory=list)


@dataclass(slots=True)
class Brief:
    event_id: int
    storyline_id: int | None
    headline: str
    headline_url: str | None
    first_seen: FirstSeen
    post_count: int
    source_count: int
    platforms: list[str]
    languages: dict[str, int]
    timeline: list[TimelineEntry]
    sources: list[SourceSummary]
    corroborated: list[Claim]
    single_source: list[Claim]
    disagreements: list[Disagreement]
    caveats: list[str]
    provenance: list[ProvenanceEntry]
    last_post_at: datetime
    generated_at: datetime
    digest: str = ""

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(self)


def _jsonable(obj: Any) -> Any:
    """Dataclasses to dicts (field order kept), datetimes to ISO 8601 with Z. dataclasses.asdict deep-copies
    every leaf: on thousands of briefs an hour it was a third of the time."""
    if obj is None or isinstance(obj, (str, int, float)):
        return obj
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, datetime):
        return obj.isoformat().replace("+00:00", "Z")
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj
