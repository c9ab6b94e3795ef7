"""Presentation helpers of the console, free of I/O: safe links, inert text, UTC times, word diffs, search
snippets, and the geometry of the server-side SVG charts. Templates escape everything (autoescape); these
helpers decide what may become a link at all and turn numbers into coordinates.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

# The renderers' shared helpers, under the names the templates and tests use.
from ingest.textsafe import inert, post_text_parts, safe_url, snippet_parts  # noqa: F401


def parse_dt(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def utc(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A time as UTC text ('2026-06-26 02:47:10 UTC'); '' for nothing."""
    dt = parse_dt(value)
    if dt is None:
        return ""
    return dt.astimezone(UTC).strftime(fmt) + " UTC"


def utc_iso(value: Any) -> str:
    dt = parse_dt(value)
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z") if dt else ""


_TOKEN = re.compile(r"\s+|[^\s]+")


def word_diff(old: str | None, new: str | None) -> list[tuple[str, str]]:
    """(op, text) parts from old to new, op one of '=', '-', '+': words and the whitespace between them."""
    a = _TOKEN.findall(old or "")
    b = _TOKEN.findall(new or "")
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(("=", "".join(a[i1:i2])))
            continue
        if tag in ("replace", "delete"):
            out.append(("-", "".join(a[i1:i2])))
        if tag in ("replace", "insert"):
            out.append(("+", "".join(b[j1:j2])))
    return [(op, inert(t)) for op, t in out if t]


def human_window(td: timedelta) -> str:
    hours = td.total_seconds() / 3600
    if hours >= 48 and hours % 24 == 0:
        return f"{int(hours // 24)} days"
    return f"{hours:g} h"


_WINDOW = re.compile(r"^(\d{1,4})\s*([hdw])$")


def parse_window(value: str | None) -> timedelta | None:
    """'24h', '7d', '2w' -> timedelta; 'all' -> None. Raises ValueError otherwise."""
    if value is None or value == "":
        return timedelta(hours=24)
    value = value.strip().lower()
    if value == "all":
        return None
    m = _WINDOW.match(value)
    if not m:
        raise ValueError("window: use a number of hours, days or weeks (24h, 7d, 2w) or all")
    n, unit = int(m.group(1)), m.group(2)
    td = timedelta(hours=n) if unit == "h" else timedelta(days=n) if unit == "d" else timedelta(weeks=n)
    if td <= timedelta(0) or td > timedelta(days=3660):
        raise ValueError("window out of range")
    return td


# ------------------------------------------------------------------------------------------------ charts
# Geometry only: the templates draw it (templates/_charts.html).

W, H = 720, 180
PAD_L, PAD_R, PAD_T, PAD_B = 48, 12, 12, 28


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1
    mag = 10 ** (len(str(int(v))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if v <= step * mag:
            return step * mag
    return 10 * mag


def _fmt_num(v: float) -> str:
    if v >= 1_000_000:
        return f"{v / 1_000_000:g}M"
    if v >= 1_000:
        return f"{v / 1_000:g}k"
    return f"{v:g}"


def _time_ticks(t0: datetime, t1: datetime, x_of, n: int = 6) -> list[dict[str, Any]]:
    span = (t1 - t0).total_seconds()
    if span <= 0:
        return [{"x": x_of(t0), "text": t0.strftime("%m-%d %H:%M")}]
    fmt = "%H:%M" if span <= 2 * 86400 else "%m-%d" if span <= 120 * 86400 else "%Y-%m"
    anchors = ["start"] + ["middle"] * (n - 2) + ["end"]
    return [
        {"x": round(x_of(t0 + timedelta(seconds=span * i / (n - 1))), 1),
         "text": (t0 + timedelta(seconds=span * i / (n - 1))).strftime(fmt), "anchor": anchors[i]}
        for i in range(n)
    ]  # fmt: skip


def bar_chart(
    points: Sequence[tuple[datetime, float | None]], *, bucket: timedelta = timedelta(hours=1)
) -> dict:
    """Bars of a value per time bucket (UTC hours by default): {bars, ticks, y_ticks, w, h} or {} when empty."""
    pts = [(parse_dt(t), float(v or 0)) for t, v in points if parse_dt(t) is not None]
    if not pts:
        return {}
    t0 = min(t for t, _ in pts)
    t1 = max(max(t for t, _ in pts) + bucket, t0 + 24 * bucket)  # a day at least: one busy hour stays a bar
    span = max((t1 - t0).total_seconds(), 1.0)
    inner_w, inner_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    top = _nice_max(max(v for _, v in pts))

    def x_of(t: datetime) -> float:
        return PAD_L + inner_w * (t - t0).total_seconds() / span

    bw = max(inner_w * bucket.total_seconds() / span - 1, 1)
    bars = []
    for t, v in pts:
        h = inner_h * v / top
        bars.append({"x": round(x_of(t), 1), "y": round(PAD_T + inner_h - h, 1), "w": round(bw, 1),
                     "h": round(h, 1), "label": f"{t:%Y-%m-%d %H:%M} UTC: {_fmt_num(v)}"})  # fmt: skip
    y_ticks = [{"y": round(PAD_T + inner_h * (1 - f), 1), "text": _fmt_num(top * f)} for f in (0, 0.5, 1)]
    return {"bars": bars, "ticks": _time_ticks(t0, t1, x_of), "y_ticks": y_ticks, "w": W, "h": H,
            "x0": PAD_L, "x1": W - PAD_R, "y0": PAD_T + inner_h}  # fmt: skip


def line_chart(series: dict[str, Sequence[tuple[Any, float | None]]], *, max_series: int = 8) -> dict:
    """Lines of values over time, one per series (at most max_series, the largest last values first)."""
    clean: dict[str, list[tuple[datetime, float]]] = {}
    for name, pts in series.items():
        got = sorted((parse_dt(t), float(v)) for t, v in pts if v is not None and parse_dt(t) is not None)
        if got:
            clean[name] = got
    if not clean:
        return {}
    names = sorted(clean, key=lambda n: -clean[n][-1][1])[:max_series]
    allpts = [p for n in names for p in clean[n]]
    t0 = min(t for t, _ in allpts)
    t1 = max(t for t, _ in allpts)
    if t1 <= t0:
        t1 = t0 + timedelta(hours=1)
    span = (t1 - t0).total_seconds()
    inner_w, inner_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    top = _nice_max(max(v for _, v in allpts))

    def x_of(t: datetime) -> float:
        return PAD_L + inner_w * (t - t0).total_seconds() / span

    lines = []
    for i, name in enumerate(names):
        coords = [(round(x_of(t), 1), round(PAD_T + inner_h * (1 - v / top), 1)) for t, v in clean[name]]
        lines.append({"name": name, "cls": f"s{i}", "points": " ".join(f"{x},{y}" for x, y in coords),
                      "dots": [{"x": x, "y": y} for x, y in coords], "last": _fmt_num(clean[name][-1][1])})  # fmt: skip
    y_ticks = [{"y": round(PAD_T + inner_h * (1 - f), 1), "text": _fmt_num(top * f)} for f in (0, 0.5, 1)]
    return {"lines": lines, "ticks": _time_ticks(t0, t1, x_of), "y_ticks": y_ticks, "w": W, "h": H,
            "x0": PAD_L, "x1": W - PAD_R, "y0": PAD_T + inner_h}  # fmt: skip


def span_chart(events: Iterable[dict[str, Any]], *, row_h: int = 22) -> dict:
    """A storyline's events as spans from first to last post, one row each, oldest first."""
    evs = [e for e in events if parse_dt(e.get("first_seen_at"))]
    if not evs:
        return {}
    t0 = min(parse_dt(e["first_seen_at"]) for e in evs)
    t1 = max(parse_dt(e.get("last_post_at")) or parse_dt(e["first_seen_at"]) for e in evs)
    if t1 <= t0:
        t1 = t0 + timedelta(hours=1)
    span = (t1 - t0).total_seconds()
    inner_w = W - PAD_L - PAD_R
    h = PAD_T + row_h * len(evs) + PAD_B
    biggest = max(int(e.get("posts") or 1) for e in evs)

    def x_of(t: datetime) -> float:
        return PAD_L + inner_w * (t - t0).total_seconds() / span

    rows = []
    for i, e in enumerate(evs):
        a = x_of(parse_dt(e["first_seen_at"]))
        b = x_of(parse_dt(e.get("last_post_at")) or parse_dt(e["first_seen_at"]))
        thick = 6 + 10 * (int(e.get("posts") or 1) / biggest)
        rows.append({"x": round(a, 1), "w": round(max(b - a, 4), 1), "y": round(PAD_T + i * row_h + (row_h - thick) / 2, 1),
                     "h": round(thick, 1), "event_id": int(e["event_id"]), "posts": e.get("posts"),
                     "label": f"event {e['event_id']}: {e.get('posts')} posts, {e.get('independent_sources')} sources — "
                              f"{inert(e.get('headline') or e.get('title') or '')[:120]}"})  # fmt: skip
    return {"rows": rows, "ticks": _time_ticks(t0, t1, x_of), "w": W, "h": h, "x0": PAD_L, "x1": W - PAD_R,
            "y0": h - PAD_B}  # fmt: skip


_DSN_PASSWORD = re.compile(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")
_URI_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*):[^@\s]*@")


def redact(text: Any, secrets: Sequence[str] = ()) -> str:
    """Text (a run's error, a reject reason) with DSN passwords, URI credentials and known secrets masked."""
    if text is None:
        return ""
    s = _URI_CREDENTIALS.sub(r"\1:***@", _DSN_PASSWORD.sub(r"\1***", str(text)))
    for secret in secrets:
        if secret and len(secret) >= 6:
            s = s.replace(secret, "***")
    return s
