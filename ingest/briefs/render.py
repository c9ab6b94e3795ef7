"""Render a Brief as Markdown (for an editor) or JSON (for tools). Every time is printed in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from ingest.briefs.model import PLATFORM_NAMES, Brief, Claim, PostLink
from ingest.textsafe import inert

_WHAT = {"first report": "**first report**", "forward": "forward", "repost": "repost", "edit": "edit",
         "follow-up": "follow-up", "copy": "verbatim copy", "quote": "quote", "report": "report",
         "related report": "related report (shared names)"}  # fmt: skip


def _t(dt: datetime | None, *, date: bool = True) -> str:
    if dt is None:
        return "?"
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC" if date else "%H:%M:%S")


def _link(url: str | None, text: str) -> str:
    return f"[{text}]({url})" if url else text


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _carried(links: list[PostLink]) -> str:
    return ", ".join(f"{_link(pl.url, pl.short)} {_t(pl.posted_at, date=False)}" for pl in links)


def _claim_line(c: Claim) -> str:
    said = " / ".join(f"“{s}”" for s in c.surfaces[:4])
    who = ", ".join(_link(u or None, s) for s, u in zip(c.sources, c.urls, strict=True))
    label = f"**{c.label}**" if c.kind == "figure" else f"“{c.label}”"
    extra = (
        f" — as {said}"
        if c.kind == "figure"
        else (f" — also as {' / '.join(f'“{s}”' for s in c.surfaces[1:4])}" if len(c.surfaces) > 1 else "")
    )
    return f"- {label}{extra} — {who}"


def render_markdown(b: Brief) -> str:
    sections = (_header, _timeline, _corroboration, _quotes_and_figures, _single_source, _disagreements, _caveats,
                _provenance)  # fmt: skip
    # Every name and text in it comes from the platforms: direction overrides and invisible controls are made
    # visible, so that a channel named with U+202E cannot pass for another (line breaks and tabs stay).
    return inert("\n".join(line for section in sections for line in section(b)) + "\n")


def _header(b: Brief) -> list[str]:
    """The title and the facts line: first seen, sources, languages, platforms."""
    lines = [f"# Event {b.event_id}: {b.headline}", ""]
    fs = b.first_seen
    via = f" (seen through the {fs.via})" if fs.via else ""
    lines.append(f"- **First seen:** {_t(fs.at)} — {fs.channel} — {fs.url or 'no link'}{via}")
    forwards = b.post_count - sum(len(s.posts) for s in b.sources)
    lines.append(
        f"- **Independent sources:** {b.source_count} ({b.post_count} posts"
        + (f"; {forwards} forward{'s' if forwards != 1 else ''}/repost{'s' if forwards != 1 else ''} counted once, "
           "with their origin" if forwards else "") + ")"
    )  # fmt: skip
    lines.append("- **Languages:** " + ", ".join(f"{k} ({v})" for k, v in b.languages.items()))
    lines.append("- **Platforms:** " + ", ".join(PLATFORM_NAMES.get(p, p) for p in b.platforms))
    if b.headline_url:
        lines.append(f"- **Headline from:** {b.headline_url}")
    lines.append("")
    return lines


def _timeline(b: Brief) -> list[str]:
    """The timeline table, times without the date when the event fits in one day."""
    same_day = b.first_seen.at.date() == b.last_post_at.date()
    lines = [f"## Timeline ({b.first_seen.at:%d %B %Y}, UTC)" if same_day else "## Timeline (UTC)", ""]
    lines.append("| time | source | what | lang | says | link |")
    lines.append("|---|---|---|---|---|---|")
    for e in b.timeline:
        what = _WHAT.get(e.what, e.what) + (
            f" of {e.of}" if e.of and e.what in ("forward", "repost", "copy") else ""
        )
        if e.what == "follow-up" and e.of:
            what += f" ({e.of})"
        lines.append(
            f"| {_t(e.at, date=not same_day)} | {_cell(e.channel)} | {what} | {e.lang or '?'} | {_cell(e.text)} | "
            f"{_link(e.url, 'post') if e.url else ''} |"
        )
    lines.append("")
    return lines


def _corroboration(b: Brief) -> list[str]:
    """The independent sources and what more than one of them carries."""
    same_day = b.first_seen.at.date() == b.last_post_at.date()
    lines = ["## Corroboration", ""]
    if b.source_count == 1:
        lines.append(f"One independent source so far: {b.sources[0].channel}.")
    else:
        lines.append(f"{b.source_count} independent sources:")
        for s in b.sources:
            carried = f"; carried by {_carried(s.carried_by)}" if s.carried_by else ""
            lines.append(
                f"- {s.channel} — first at {_t(s.first_at, date=not same_day)}, {_link(s.first_url, 'post')}{carried}"
            )
    if b.corroborated:
        lines.append("")
        lines.append("Carried by more than one source:")
        for c in b.corroborated:
            lines.append(_claim_line(c))
    lines.append("")
    return lines


def _quotes_and_figures(b: Brief) -> list[str]:
    """Each source's quoted words and figures."""
    lines = ["## Quoted words and figures, by source", ""]
    for s in b.sources:
        lines.append(f"**{s.channel}**" + (f" ({', '.join(s.languages)})" if s.languages else ""))
        if s.quotes:
            lines.append("- quotes: " + "; ".join(f"“{q}”" for q in s.quotes))
        if s.figures:
            lines.append(
                "- figures: "
                + "; ".join(
                    f"“{f.surface}”" + (f" = {f.label}" if f.label != f.surface else "") for f in s.figures
                )
            )
        if not s.quotes and not s.figures:
            lines.append("- no quotes or figures")
        lines.append("")
    return lines


def _single_source(b: Brief) -> list[str]:
    """Figures and quotes only one source gives."""
    lines = ["## Only one source", ""]
    if b.source_count == 1:
        lines.append("Everything here rests on one source.")
    elif b.single_source:
        for c in b.single_source:
            lines.append(
                f"- {'**' + c.label + '**' if c.kind == 'figure' else '“' + c.label + '”'}"
                + (f" (“{c.surfaces[0]}”)" if c.kind == "figure" and c.surfaces[0] != c.label else "")
                + f" — only {_link(c.urls[0] or None, c.sources[0])}"
            )
    else:
        lines.append("Nothing: every figure and quoted phrase has a second source.")
    lines.append("")
    return lines


def _disagreements(b: Brief) -> list[str]:
    """Quantities on which sources give conflicting numbers."""
    lines = ["## Disagreements", ""]
    if b.disagreements:
        for d in b.disagreements:
            vals = "; ".join(
                f"{v['label']} (“{v['surface']}”, {_link(v['url'], v['source'])})" for v in d.values
            )
            lines.append(f"- {d.quantity}: {vals}")
    else:
        lines.append("None found: no two sources give conflicting numbers for the same quantity.")
    lines.append("")
    return lines


def _caveats(b: Brief) -> list[str]:
    """What stays uncertain, when the builder noted caveats."""
    if not b.caveats:
        return []
    return ["## What stays uncertain", "", *(f"- {c}" for c in b.caveats), ""]


def _provenance(b: Brief) -> list[str]:
    """Every post behind the brief, and the footer."""
    lines = ["## Provenance", ""]
    for i, p in enumerate(b.provenance, 1):
        carried = f" — carried by {_carried(p.carried_by)}" if p.carried_by else ""
        lines.append(f"{i}. {p.url or '(no link)'} — {p.channel}, {_t(p.posted_at)} ({p.role}){carried}")
    lines.append("")
    lines.append(f"_Generated {_t(b.generated_at)} by wirewatch from {b.post_count} posts._")
    return lines


def brief_json(b: Brief) -> dict[str, Any]:
    return b.to_dict()


def render_json(b: Brief) -> str:
    return orjson.dumps(b.to_dict(), option=orjson.OPT_INDENT_2).decode()
