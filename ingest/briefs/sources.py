"""Independent sources: which channel each post of an event counts for.

A forward (Telegram), a repost (X) and a verbatim copy (grouping's `duplicate`) carry their origin's words, so
they count for the origin's channel, once.
"""

from __future__ import annotations

from datetime import datetime

from ingest.briefs.model import ChannelInfo, FirstSeen, PostInput


class Source:
    """One independent source: a channel or account with its original posts and the posts that carry its words."""

    def __init__(self, key: str, channel: ChannelInfo):
        self.key = key
        self.channel = channel
        self.originals: list[PostInput] = []
        self.carriers: list[PostInput] = []
        self.first_at: datetime | None = None
        self.first_url: str | None = None
        self.first_post_id: int | None = None

    @property
    def texts(self) -> list[PostInput]:
        return self.originals or self.carriers[:1]


def _origin_channel(p: PostInput, posts: list[PostInput]) -> tuple[str, ChannelInfo, str | None, int | None]:
    """The source a post counts for: (source key, channel, origin url, origin post id)."""
    if p.is_forward:
        ch = p.forwarded_from or ChannelInfo("telegram", None, title="hidden forward origin")
        if ch.channel_id is not None:
            key = ch.key
        elif ch.handle:  # a t.me/s page names the origin by handle only
            key = f"{ch.platform}:@{ch.handle.lower()}"
        else:  # a forward from a hidden user: Telegram gives a display name
            key = f"name:{ch.title}"
        return key, ch, p.fwd_url, p.fwd_post_id
    if p.is_repost:
        ch = p.reposted_from or ChannelInfo(p.platform, None)
        return ch.key, ch, p.reposted_url, p.reposted_post_id
    if p.joined_by == "duplicate" and p.dup_key is not None:
        for q in posts:
            if q is p:
                break
            if q.dup_key == p.dup_key and q.joined_by != "duplicate" and q.channel.key != p.channel.key:
                return q.channel.key, q.channel, q.url, q.post_id
    return p.channel.key, p.channel, None, None


def _is_carrier(p: PostInput, own_key: str, source_key: str) -> bool:
    return source_key != own_key or p.is_forward or p.is_repost


#: (source key, origin url, origin post id) of a post that carries another source's words, by the post's key.
CarrierOf = dict[tuple[str, int, int], tuple[str, str | None, int | None]]


def find_sources(posts: list[PostInput]) -> tuple[list[Source], dict[str, Source], CarrierOf]:
    """Every post counted for its origin's channel: the sources in order of their first post (or of the first
    origin time their carriers record), the same by key, and what each carrier carries."""
    sources: dict[str, Source] = {}
    carrier_of: CarrierOf = {}
    for p in posts:
        skey, ch, origin_url, origin_post = _origin_channel(p, posts)
        src = sources.get(skey)
        if src is None:
            src = sources[skey] = Source(skey, ch)
        if _is_carrier(p, p.channel.key, skey):
            src.carriers.append(p)
            carrier_of[p.key] = (skey, origin_url, origin_post)
        else:
            src.originals.append(p)
    for src in sources.values():
        if src.originals:
            p = src.originals[0]
            src.first_at, src.first_url, src.first_post_id = p.posted_at, p.url, p.post_id
        else:
            # Known only through forwards or reposts: the earliest origin time they record.
            c = min(src.carriers, key=lambda c: (c.fwd_posted_at or c.posted_at, c.posted_at))
            _, url, opost = carrier_of[c.key]
            src.first_at, src.first_url, src.first_post_id = c.fwd_posted_at or c.posted_at, url, opost
    ordered = sorted(sources.values(), key=lambda s: (s.first_at, s.key))
    return ordered, sources, carrier_of


def first_seen(ordered: list[Source], posts: list[PostInput]) -> FirstSeen:
    s = ordered[0]
    if s.originals and s.originals[0].posted_at == s.first_at:
        p = s.originals[0]
        return FirstSeen(s.channel.name, s.channel.platform, p.post_id, p.posted_at, p.url)
    # Known only through a forward or repost: the origin's time is the carrier's record of it.
    carrier = s.carriers[0]
    return FirstSeen(
        s.channel.name, s.channel.platform, s.first_post_id, s.first_at or carrier.posted_at, s.first_url,
        via=f"{'repost' if carrier.is_repost else 'forward'} by {carrier.channel.name}: {carrier.url}",
    )  # fmt: skip
