"""Channel boilerplate, learned per channel from the warehouse and kept up to date as posts arrive.

Each grouping run counts the segments (`ingest.events.clean.segments`: lines, and a post's leading and trailing
segment) of the posts it groups into stored per-channel counts, keeping each segment's five earliest occurrences.
A segment is boilerplate for a channel's posts from its fifth occurrence on, and not before a day after its first
(a story repeated within hours is news, not a signature), in a channel with at least 30 posts.

That rule depends only on which posts exist, never on when they arrived: a post is cleaned the same way in an
hourly run, a replay after a late arrival and a full regroup. A channel that changes its signature has the new
one learned after five posts over a day; the old one stays learned (it no longer occurs, so removing it costs
nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import psycopg

from ingest.events.clean import Boilerplate, segments
from ingest.warehouse import boilerplate as store

ChannelKey = tuple[str, int]
SPAN = timedelta(days=1)  # a segment must recur over at least this long to be a signature
FIRST = store.SEGMENT_FIRST  # occurrences before a segment is boilerplate
MIN_CHANNEL_POSTS = store.CHANNEL_FIRST  # a channel with fewer posts has nothing learned


def learn(
    conn: psycopg.Connection, posts: Iterable, precomputed: Sequence[Mapping[int, str]] | None = None
) -> int:
    """Count the segments of `posts` (records with platform, channel_id, post_id, posted_at, text) into the
    stored counts; returns how many were new to the counts. Counting a post again changes nothing that
    decides boilerplate (only the display count `posts` could, so posts inside the channel's counted range are
    not added to it). `precomputed`: each post's `segments`, when the caller has them already."""
    posts = list(posts)
    ranges = store.counted_range(conn, {(p.platform, p.channel_id) for p in posts})
    seg: dict[tuple[str, int, int], list] = {}
    per_channel: dict[ChannelKey, list] = {}
    new = 0
    for n, p in enumerate(posts):
        ch = (p.platform, p.channel_id)
        rng = ranges.get(ch)
        fresh = rng is None or p.posted_at > rng[1] or p.posted_at < rng[0]
        new += fresh
        occ = (p.posted_at, p.post_id)
        c = per_channel.get(ch)
        if c is None:
            per_channel[ch] = [int(fresh), [occ], p.posted_at, p.posted_at]
        else:
            c[0] += fresh
            c[1].append(occ)
            c[2] = min(c[2], p.posted_at)
            c[3] = max(c[3], p.posted_at)
        if not p.text:
            continue
        segs = precomputed[n] if precomputed is not None else segments(p.text)
        for key, text in segs.items():
            s = seg.get((*ch, key))
            if s is None:
                seg[(*ch, key)] = [int(fresh), text[:200], [occ]]
            else:
                s[0] += fresh
                s[2].append(occ)
    store.add_counts(
        conn,
        {k: (n, sample, sorted(set(first))[:FIRST]) for k, (n, sample, first) in seg.items()},
        {
            k: (n, sorted(set(first))[:MIN_CHANNEL_POSTS], lo, hi)
            for k, (n, first, lo, hi) in per_channel.items()
        },
    )
    return new


def boilerplate_of(conn: psycopg.Connection, channels: Iterable[ChannelKey]) -> dict[ChannelKey, Boilerplate]:
    """Each channel's learned boilerplate: segment key -> the time from which it is boilerplate (channels with
    nothing learned are left out)."""
    out = {}
    for ch, (channel_times, segs) in store.frequent_segments(conn, channels).items():
        if len(channel_times) < MIN_CHANNEL_POSTS:
            continue
        ready = channel_times[MIN_CHANNEL_POSTS - 1]
        keys: dict[int, float] = {}
        for key, times in segs:
            since: datetime = max(times[FIRST - 1], times[0] + SPAN, ready)
            keys[key] = since.timestamp()
        if keys:
            out[ch] = Boilerplate(keys)
    return out


def learned(conn: psycopg.Connection, platform: str, channel_id: int) -> list[dict]:
    """The segments that are one channel's boilerplate now, most frequent first (for people and tests)."""
    b = boilerplate_of(conn, [(platform, channel_id)]).get((platform, channel_id))
    return store.segment_rows(conn, platform, channel_id, sorted(b.keys)) if b else []
