"""Event briefs with provenance: the skeleton an editor writes a synthesis from.

    from ingest.briefs import brief_window, event_brief, build_event_brief, render_markdown
    brief_window(conn, since, until)        # store/refresh the brief of every event of a window; commits
    event_brief(conn, 7)["markdown"]        # one event's brief (stored one when unchanged)

Modules: `figures` (figures, dates, quotes, language in EN/RU/UK), `model` (inputs and the Brief), `build`
(the rules and the assembly, from `sources`, `claims`, `sections` and `text`), `render` (Markdown, JSON),
`service` (against the warehouse).
All SQL lives in `ingest.warehouse.briefs`.
"""

from __future__ import annotations

from ingest.briefs.build import build_brief
from ingest.briefs.model import Brief
from ingest.briefs.render import render_json, render_markdown
from ingest.briefs.service import BriefStats, brief_window, build_event_brief, event_brief

__all__ = [
    "Brief", "BriefStats", "brief_window", "build_brief", "build_event_brief", "event_brief", "render_json",
    "render_markdown",
]  # fmt: skip
