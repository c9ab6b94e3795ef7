"""The analysts' console: `wirewatch serve`. A read-only web interface over schema `analyst` (events, briefs,
storylines, channels, search, ingest health), each page with a JSON twin under /api/. FastAPI + Jinja2 served by
uvicorn; charts are SVG drawn on the server; the static CSS and JS ship in this package (no CDN).

All SQL lives in `ingest.warehouse.console`; see docs/console.md for how to run it and its security model.
"""

from __future__ import annotations

from ingest.console.app import ConsoleSettings, create_app

__all__ = ["ConsoleSettings", "create_app"]
