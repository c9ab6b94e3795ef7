"""The console's pages and their JSON twins under /api/. Each page is a function that gathers a dict from the
analyst views (ingest.warehouse.console); the HTML route renders it, the /api/ route returns it."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from ingest.console import present
from ingest.warehouse import console as wc
from ingest.warehouse import console_health as wh
from ingest.warehouse import replication

router = APIRouter()

MAX_PAGE = 100  # rows per page, any list
MAX_OFFSET = 10_000
PLATFORMS = ("telegram", "x")

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Text = Annotated[str | None, Query(max_length=200)]
Short = Annotated[str | None, Query(max_length=64)]


def _conn(request: Request):
    return request.app.state.warehouse.connection()


def _render(request: Request, template: str, data: dict[str, Any], status: int = 200) -> HTMLResponse:
    settings = request.app.state.settings
    session = request.app.state.warehouse.session
    ctx = {
        **data,
        "request": request,
        "poll_ms": int(settings.poll_seconds * 1000),
        "session_role": session.role if session else None,
        "read_only": bool(session and session.read_only),
    }
    return request.app.state.templates.TemplateResponse(request, template, ctx, status_code=status)


def _json(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse(jsonable_encoder(data))


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    dt = present.parse_dt(value)
    if dt is None:
        raise HTTPException(422, f"{name}: not an ISO 8601 time")
    return dt


def _platform(value: str | None) -> str | None:
    if not value:
        return None
    if value not in PLATFORMS:
        raise HTTPException(422, "platform: telegram or x")
    return value


def _handle(value: str | None) -> str | None:
    value = (value or "").strip().lstrip("@")
    return value or None


def _page(limit: int, offset: int, *, more: bool) -> dict[str, int | None]:
    """Where a paged list is and where its neighbours start; `more`: the list was read with limit + 1 rows and
    the extra row came back."""
    return {
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if more else None,
        "prev_offset": max(offset - limit, 0) if offset else None,
    }


# ------------------------------------------------------------------------------------------------ events


def events_data(
    conn: psycopg.Connection,
    *,
    window: str | None,
    until: str | None,
    min_sources: int,
    platform: str | None,
    lang: str | None,
    channel: str | None,
    storyline: int | None,
    sort: str,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    try:
        span = present.parse_window(window)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    if sort not in ("newest", "active", "sources"):
        raise HTTPException(422, "sort: newest, active or sources")
    end = _time(until, "until")
    anchored = False
    if end is None:
        end = datetime.now(UTC)
        if span is not None:
            latest = wc.latest_activity(conn)
            if latest is not None and latest < end - span:
                # Nothing new in the window: show the window that ends at the warehouse's latest post (an
                # archive, the demo day) and say so, rather than an empty page.
                end, anchored = latest + timedelta(microseconds=1), True
    since = end - span if span is not None else None
    rows = wc.list_events(
        conn, since=since, until=None if not anchored and until is None else end, min_sources=min_sources,
        platform=_platform(platform), lang=lang or None, channel=_handle(channel), storyline=storyline, sort=sort,
        limit=limit + 1, offset=offset,
    )  # fmt: skip
    more = len(rows) > limit
    filters = {
        "window": window or "24h", "until": until, "min_sources": min_sources, "platform": platform, "lang": lang,
        "channel": _handle(channel), "storyline": storyline, "sort": sort,
    }  # fmt: skip
    return {
        "window": {
            "since": since,
            "until": end,
            "anchored": anchored,
            "label": present.human_window(span) if span else "all time",
        },  # fmt: skip
        "filters": filters,
        "events": rows[:limit],
        "page": _page(limit, offset, more=more),
    }


def _events_args(
    window: Short = None,
    until: Short = None,
    min_sources: Annotated[int, Query(ge=1, le=1000)] = 1,
    platform: Short = None,
    lang: Short = None,
    channel: Short = None,
    storyline: Annotated[int | None, Query(ge=1)] = None,
    sort: Short = "newest",
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    return {
        "window": window, "until": until, "min_sources": min_sources, "platform": platform, "lang": lang,
        "channel": channel, "storyline": storyline, "sort": sort or "newest", "limit": limit, "offset": offset,
    }  # fmt: skip


EventArgs = Annotated[dict[str, Any], Depends(_events_args)]


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/events", 302)


@router.get("/api/events")
def api_events(request: Request, args: EventArgs):
    with _conn(request) as conn:
        return _json(events_data(conn, **args))


@router.get("/events", response_class=HTMLResponse)
def page_events(request: Request, args: EventArgs):
    with _conn(request) as conn:
        data = events_data(conn, **args)
        data["choices"] = wc.event_filter_choices(conn)
    return _render(request, "events.html", data)


@router.get("/events/rows", response_class=HTMLResponse)
def page_event_rows(request: Request, args: EventArgs):
    """The events table's rows alone: what the events page polls for."""
    with _conn(request) as conn:
        data = events_data(conn, **args)
    return _render(request, "_event_rows.html", data)


# ------------------------------------------------------------------------------------------------- event


def _post_key(r: dict[str, Any]) -> str:
    return f"{r['platform']}:{r['channel_id']}:{r['post_id']}"


def event_data(conn: psycopg.Connection, event_id: int) -> dict[str, Any] | None:
    event = wc.get_event(conn, event_id)
    if event is None:
        return None
    stored = wc.get_brief(conn, event_id)
    brief = stored["json"] if stored else None
    stale = bool(
        stored and (stored["posts"] != event["posts"] or (stored["last_post_at"] or event["last_post_at"])
                    < event["last_post_at"])
    )  # fmt: skip
    timeline = wc.event_timeline(conn, event_id)
    versions = wc.event_versions(conn, event_id, timeline)
    edits = []
    for v in versions:
        if v["version"] > 1:
            edits.append({**{k: v[k] for k in ("platform", "channel_id", "channel", "post_id", "url", "version",
                                                 "versions", "version_at", "is_current")},
                          "before": v["previous_text"], "after": v["text"],
                          "diff": present.word_diff(v["previous_text"], v["text"])})  # fmt: skip
    metrics = wc.event_metrics(conn, event_id, timeline)
    label = {_post_key(t): f"@{t['channel'] or t['channel_id']} {t['post_id']}" for t in timeline}
    series: dict[str, list] = defaultdict(list)
    for m in metrics:
        series[label.get(_post_key(m), _post_key(m))].append((m["observed_at"], m["views"]))
    return {
        "event": event,
        "brief": brief,
        "brief_generated_at": stored["generated_at"] if stored else None,
        "brief_stale": stale,
        "timeline": timeline,
        "edits": edits,
        "metrics": metrics,
        "views_chart": present.line_chart(series),
    }


def _event_or_redirect(request: Request, event_id: int, prefix: str) -> dict[str, Any] | RedirectResponse:
    """The event page's data, or a redirect to the event a merged id now lives in (for the page and its JSON)."""
    if not 1 <= event_id <= 2**62:
        raise HTTPException(404, "no such event")
    with _conn(request) as conn:
        eid = wc.resolve_event(conn, event_id)
        if eid is not None and eid != event_id:
            return RedirectResponse(f"{prefix}/{eid}", 301)
        data = event_data(conn, eid) if eid is not None else None
    if data is None:
        raise HTTPException(404, f"no event {event_id}")
    return data


@router.get("/api/events/{event_id}")
def api_event(request: Request, event_id: int):
    data = _event_or_redirect(request, event_id, "/api/events")
    if isinstance(data, RedirectResponse):
        return data
    data.pop("views_chart")
    return _json(data)


@router.get("/events/{event_id}", response_class=HTMLResponse)
def page_event(request: Request, event_id: int):
    data = _event_or_redirect(request, event_id, "/events")
    if isinstance(data, RedirectResponse):
        return data
    return _render(request, "event.html", data)


# --------------------------------------------------------------------------------------------- storyline


def storyline_data(conn: psycopg.Connection, storyline_id: int) -> dict[str, Any] | None:
    story = wc.get_storyline(conn, storyline_id)
    if story is None:
        return None
    events = wc.storyline_events(conn, storyline_id)
    return {"storyline": story, "events": events, "chart": present.span_chart(events)}


def _storyline(request: Request, storyline_id: int) -> dict[str, Any]:
    """The storyline page's data (for the page and its JSON), or 404."""
    with _conn(request) as conn:
        data = storyline_data(conn, storyline_id) if 1 <= storyline_id <= 2**62 else None
    if data is None:
        raise HTTPException(404, "no such storyline")
    return data


@router.get("/api/storylines/{storyline_id}")
def api_storyline(request: Request, storyline_id: int):
    data = _storyline(request, storyline_id)
    data.pop("chart")
    return _json(data)


@router.get("/storylines/{storyline_id}", response_class=HTMLResponse)
def page_storyline(request: Request, storyline_id: int):
    return _render(request, "storyline.html", _storyline(request, storyline_id))


# ---------------------------------------------------------------------------------------------- channels


def channel_data(conn: psycopg.Connection, platform: str, channel_id: int, limit: int, offset: int) -> dict:
    """The channel page's data (for the page and its JSON), or 404."""
    channel = wc.get_channel(conn, platform, channel_id)
    if channel is None:
        raise HTTPException(404, "no such channel")
    activity = wc.channel_activity(conn, platform, channel_id)
    posts = wc.channel_posts(conn, platform, channel_id, limit=limit + 1, offset=offset)
    more = len(posts) > limit
    return {
        "channel": channel,
        "handles": wc.channel_handles(conn, platform, channel_id),
        "activity": activity,
        "activity_chart": present.bar_chart([(a["hour"], a["posts"]) for a in activity]),
        "posts": posts[:limit],
        "page": _page(limit, offset, more=more),
        "runs": _redacted(wc.channel_runs(conn, platform, channel_id), "error", "target"),
        "cursors": wc.channel_cursors(conn, platform, channel_id),
        "rejects": _redacted(wc.channel_rejects(conn, platform, channel_id), "reason"),
    }


def _channel_id(conn: psycopg.Connection, platform: str, ident: str) -> int:
    _platform(platform)
    if ident.isdigit() and len(ident) <= 19:
        return int(ident)
    found = wc.find_channel(conn, platform, ident[:64])
    if found is None:
        raise HTTPException(404, "no such channel")
    return found


@router.get("/api/channels")
def api_channels(request: Request):
    with _conn(request) as conn:
        return _json({"channels": wc.list_channels(conn)})


@router.get("/channels", response_class=HTMLResponse)
def page_channels(request: Request):
    with _conn(request) as conn:
        return _render(request, "channels.html", {"channels": wc.list_channels(conn)})


@router.get("/api/channels/{platform}/{ident}")
def api_channel(request: Request, platform: str, ident: str, limit: Limit = 20, offset: Offset = 0):
    with _conn(request) as conn:
        data = channel_data(conn, platform, _channel_id(conn, platform, ident), limit, offset)
    data.pop("activity_chart")
    return _json(data)


@router.get("/channels/{platform}/{ident}", response_class=HTMLResponse)
def page_channel(request: Request, platform: str, ident: str, limit: Limit = 20, offset: Offset = 0):
    with _conn(request) as conn:
        cid = _channel_id(conn, platform, ident)
        if str(cid) != ident:
            return RedirectResponse(f"/channels/{platform}/{cid}", 302)
        data = channel_data(conn, platform, cid, limit, offset)
    return _render(request, "channel.html", data)


# ------------------------------------------------------------------------------------------------ search


def search_data(conn: psycopg.Connection, *, q: str | None, since: str | None, until: str | None,
                platform: str | None, channel: str | None, limit: int, offset: int,
                sort: str | None = None) -> dict[str, Any]:  # fmt: skip
    q = (q or "").strip()
    sort = sort or "newest"
    if sort not in wc.SEARCH_SORTS:
        raise HTTPException(422, f"sort: {' or '.join(wc.SEARCH_SORTS)}")
    results: list[dict[str, Any]] = []
    more = False
    if q:
        results = wc.search(
            conn, q, since=_time(since, "since"), until=_time(until, "until"), platform=_platform(platform),
            channel=_handle(channel), sort=sort, limit=limit + 1, offset=offset,
        )  # fmt: skip
        more = len(results) > limit
        results = results[:limit]
        for r in results:
            r["parts"] = present.snippet_parts(r["snippet"])
    return {
        "q": q,
        "filters": {
            "since": since,
            "until": until,
            "platform": platform,
            "channel": _handle(channel),
            "sort": sort,
        },
        "results": results,
        "rank_window": wc.RANK_WINDOW,
        "page": _page(limit, offset, more=more),
    }


@router.get("/api/search")
def api_search(request: Request, q: Text = None, since: Short = None, until: Short = None, platform: Short = None,
               channel: Short = None, sort: Short = None, limit: Limit = 20, offset: Offset = 0):  # fmt: skip
    with _conn(request) as conn:
        data = search_data(conn, q=q, since=since, until=until, platform=platform, channel=channel, limit=limit,
                           offset=offset, sort=sort)  # fmt: skip
    for r in data["results"]:
        r.pop("parts")
    return _json(data)


@router.get("/search", response_class=HTMLResponse)
def page_search(request: Request, q: Text = None, since: Short = None, until: Short = None, platform: Short = None,
                channel: Short = None, sort: Short = None, limit: Limit = 20, offset: Offset = 0):  # fmt: skip
    with _conn(request) as conn:
        data = search_data(conn, q=q, since=since, until=until, platform=platform, channel=channel, limit=limit,
                           offset=offset, sort=sort)  # fmt: skip
    return _render(request, "search.html", data)


# ------------------------------------------------------------------------------------------------ health


def _redacted(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    for r in rows:
        for k in keys:
            if r.get(k) is not None:
                r[k] = present.redact(r[k])
    return rows


def health_data(conn: psycopg.Connection) -> dict[str, Any]:
    return {
        "runs": _redacted(wh.last_runs(conn), "error", "target"),
        "deferred": wh.deferred_channels(conn),
        "rejects": _redacted(wh.rejects_by_reason(conn), "reason"),
        # Read from a streaming replica, the console is as current as its replay: say how far behind.
        "replica": standby.as_dict() if (standby := replication.standby_status(conn)) else None,
        "now": datetime.now(UTC),
    }


@router.get("/api/health")
def api_health(request: Request):
    with _conn(request) as conn:
        return _json(health_data(conn))


@router.get("/health", response_class=HTMLResponse)
def page_health(request: Request):
    with _conn(request) as conn:
        return _render(request, "health.html", health_data(conn))
