"""What a brief is made from: an event's posts as the warehouse holds them (read by `ingest.warehouse.briefs`).

These records sit below both the warehouse and `ingest.briefs`, so neither package imports the other's
upper layer. Every datetime is aware UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ingest.textsafe import url_segment

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
        return (
            f"https://t.me/{url_segment(h)}"
            if self.platform == "telegram"
            else f"https://x.com/{url_segment(h)}"
        )


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
