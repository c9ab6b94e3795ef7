"""Event grouping: posts about the same story across channels, platforms and languages become one event
(hours), and events of one developing situation one storyline (days), with stable ids.

    from ingest.events import group_window, list_events, event_posts
    stats = group_window(conn, since, until)      # incremental; commits
    for e in list_events(conn, since=...): ...    # current events, most independent sources first

Modules: `text` (features), `cluster` (the streaming grouper), `group` (the warehouse run), `evaluate`
(CrisisLexT26 and pair scores). All SQL lives in `ingest.warehouse`: `events`
(what a run reads), `event_writes`, `event_replay` and `event_reads`.
"""

from __future__ import annotations

from ingest.events.cluster import Params
from ingest.events.group import GroupStats, group_window
from ingest.warehouse.event_reads import (
    event_posts,
    largest_event_share,
    list_events,
    partition,
    resolve_event,
    storyline_events,
)

__all__ = [
    "GroupStats", "Params", "event_posts", "group_window", "largest_event_share", "list_events", "partition",
    "resolve_event", "storyline_events",
]  # fmt: skip
