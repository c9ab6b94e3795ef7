"""What a brief is made from (the event's posts as the warehouse holds them) and what it says.

`EventInput` is read by `ingest.warehouse.briefs`; `ingest.briefs.build.build_brief` turns it into a `Brief`
without touching the database, so the logic is testable on hand-made inputs. Every datetime is aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any

from ingest.warehouse.brief_inputs import (  # noqa: F401 - the brief's inputs, re-exported
    PLATFORM_NAMES,
    ChannelInfo,
    EventInput,
    PostInput,
    VersionInput,
)


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
    what: str  # first report | report | related report | follow-up | forward | repost | copy | quote | edit
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
