"""Briefs against the warehouse: build one event's brief, and keep the stored briefs of a window current
(what `wirewatch briefs` and the hourly DAG's last task run). Reads and writes go through
`ingest.warehouse.briefs`; the brief itself is built by `ingest.briefs.build` without the database.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from ingest.briefs.build import build_brief
from ingest.briefs.model import Brief, EventInput
from ingest.briefs.render import brief_json, render_markdown
from ingest.briefs.text import LANGUAGE_NAMES
from ingest.events.boilerplate import boilerplate_of
from ingest.events.clean import NONE, clean
from ingest.warehouse import briefs as store

log = logging.getLogger(__name__)

_CHUNK = 200  # events read per query when a window has many changed events


@dataclass
class BriefStats:
    events: int = 0  # current events in the window
    written: int = 0  # briefs (re)generated
    unchanged: int = 0  # briefs whose inputs had not changed
    dropped: int = 0  # briefs of merged or vanished events deleted
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"events": self.events, "written": self.written, "unchanged": self.unchanged,
                "dropped": self.dropped, "seconds": round(self.seconds, 3)}  # fmt: skip


def _row(ev: EventInput, b: Brief) -> dict:
    return {
        "event_id": ev.event_id, "generated_at": b.generated_at, "content_hash": ev.digest, "headline": b.headline,
        "first_seen_at": b.first_seen.at, "last_post_at": b.last_post_at, "post_count": b.post_count,
        "source_count": b.source_count,
        "languages": [code for code, name in LANGUAGE_NAMES.items() if code and name in b.languages]
        + [name for name in b.languages if name not in LANGUAGE_NAMES.values()],
        "markdown": render_markdown(b), "json": brief_json(b),
    }  # fmt: skip


def event_inputs(conn: psycopg.Connection, ids: list[int]) -> dict[int, EventInput]:
    """The brief inputs of these events, each post's text (and versions) as briefs use it: Markdown, decoration
    emoji and the channel's learned boilerplate removed (`posts.text` keeps what was published)."""
    inputs = store.event_inputs(conn, ids)
    boiler = boilerplate_of(conn, {(p.platform, p.channel_id) for ev in inputs.values() for p in ev.posts})

    def cleaned(post):
        b = boiler.get((post.platform, post.channel_id), NONE)
        versions = tuple(dataclasses.replace(v, text=clean(v.text, b).text) for v in post.versions)
        return dataclasses.replace(post, text=clean(post.text, b).text, versions=versions)

    return {
        eid: dataclasses.replace(ev, posts=tuple(cleaned(p) for p in ev.posts)) for eid, ev in inputs.items()
    }


def build_event_brief(conn: psycopg.Connection, event_id: int) -> Brief | None:
    """The brief of an event (a merged id resolves to the event that absorbed it); None if unknown."""
    eid = store.current_event_id(conn, event_id)
    if eid is None:
        return None
    ev = event_inputs(conn, [eid]).get(eid)
    return build_brief(ev) if ev is not None else None


def event_brief(conn: psycopg.Connection, event_id: int, *, save: bool = True) -> dict | None:
    """{event_id, generated_at, markdown, json} for an event: the stored brief when its inputs are unchanged,
    else a new one (stored when `save`). Commits when it stores."""
    eid = store.current_event_id(conn, event_id)
    if eid is None:
        return None
    digest = store.event_digests(conn, [eid]).get(eid)
    stored = store.get_brief(conn, eid)
    if stored is not None and digest is not None and stored["content_hash"] == digest:
        return stored
    ev = event_inputs(conn, [eid]).get(eid)
    if ev is None:
        return None
    b = build_brief(ev)
    row = _row(ev, b)
    if save:
        store.store_briefs(conn, [row])
        conn.commit()
    return {"event_id": eid, "generated_at": b.generated_at, "content_hash": ev.digest, "markdown": row["markdown"],
            "json": row["json"]}  # fmt: skip


def brief_window(
    conn: psycopg.Connection,
    since: datetime | None,
    until: datetime | None,
    *,
    force: bool = False,
    min_posts: int = 1,
) -> BriefStats:
    """Write the briefs of every current event with a post in [since, until) whose inputs changed since its
    brief was written (all of them with `force`), and drop the briefs of merged or vanished events. One
    transaction; commits."""
    t0 = time.perf_counter()
    stats = BriefStats()
    ids = store.events_in_window(conn, since, until, min_posts=min_posts)
    stats.events = len(ids)
    digests = store.event_digests(conn, ids)
    stored = store.stored_digests(conn, ids)
    changed = [i for i in ids if force or stored.get(i) != digests.get(i)]
    stats.unchanged = len(ids) - len(changed)
    now = datetime.now(UTC)
    for k in range(0, len(changed), _CHUNK):
        inputs = event_inputs(conn, changed[k : k + _CHUNK])
        rows = []
        for eid in changed[k : k + _CHUNK]:
            ev = inputs.get(eid)
            if ev is None:
                continue
            try:
                rows.append(_row(ev, build_brief(ev, generated_at=now)))
            except Exception:  # one odd event must not stop the hourly run's other briefs
                log.exception("brief of event %s failed", eid)
        store.store_briefs(conn, rows)
        stats.written += len(rows)
    stats.dropped = store.drop_stale_briefs(conn)
    conn.commit()
    stats.seconds = time.perf_counter() - t0
    return stats
