"""Text and links that are safe to show: one place for what every renderer (the console, briefs, CLI tables) does
to names and texts that come from the platforms, and for URLs built from handles.

Names and texts are stored as published; only their rendering changes.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import quote, urlsplit

# Bidirectional controls (LRE..RLO, LRI..PDI), the Arabic letter mark and other invisible format characters
# that reorder or hide text: shown as a visible [U+XXXX] so that a handle or a text cannot pass for another.
BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c\u200b-\u200d\u2060\ufeff]")
#: C0 controls (tab, line feed and carriage return excepted) and DEL: they move a terminal's cursor or ring it.
CTRL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def inert(text: Any) -> str:
    """Text with direction overrides and other invisible controls made visible; a template or table still
    escapes it."""
    if text is None:
        return ""
    s = str(text)
    s = BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", s)
    return CTRL.sub("\ufffd", s)


def snippet_parts(snippet: str | None) -> list[tuple[str, bool]]:
    """analyst.search() marks hits with ** ... ** (and, since migration 020, nothing else in a snippet is **):
    split into inert (text, is_hit) parts for the console's template and the CLI's table."""
    if not snippet:
        return []
    pieces = snippet.split("**")
    return [(inert(p), i % 2 == 1) for i, p in enumerate(pieces) if p]


def safe_url(url: Any) -> str | None:
    """The URL when it is an absolute http(s) link with a host and no credentials or controls; else None."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or len(url) > 2048 or CTRL.search(url) or BIDI.search(url) or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username or parts.password:
        return None
    return url


# Telegram's Markdown as Telethon writes it into a message's text (Telethon dumps keep it: `**bold**`, `__italic__`,
# `~~strike~~`, `||spoiler||`, `` `code` ``, `[label](url)`; a label may end in a line break before its "]").
# The one definition of it: grouping's cleaning (ingest.events.clean) strips these, renderers show them (below);
# migration 020's analyst.snippet_text is the same in SQL.
# A link: its label, the white space before "]" (kept as text: "[объявили ](url)на" is "объявили на"), its URL.
MD_LINK = re.compile(r"\[([^\]\n]*?)(\s*)\]\(([^)\s]+)\)")
MD_MARKS = re.compile(r"\*\*|__|~~|\|\||`+")
# Marks one at a time, to pair them (a run of backticks is that many marks).
_MD = re.compile(rf"{MD_LINK.pattern}|\*\*|__|~~|\|\||`")
_MD_STYLE = {"**": "md-b", "__": "md-i", "~~": "md-s", "||": "md-sp", "`": "md-c"}


def post_text_parts(text: str | None, limit: int | None = None) -> list[tuple[str, str, str | None]]:
    """A post's text as (text, css classes, link) parts for escaped rendering: its Markdown shown as formatting
    rather than as asterisks. A mark counts only when it closes (the k-th and k+1-th of a kind pair up; one left
    over is shown as written); a link becomes its label, linked only where `safe_url` allows. `limit` cuts the text
    after that many characters with "…". Every part is `inert`."""
    if not text:
        return []
    tokens = list(_MD.finditer(text))
    count: dict[str, int] = {}
    for m in tokens:  # the marks outside link labels
        if m.group(1) is None:
            count[m.group()] = count.get(m.group(), 0) + 1
    # Marks of a kind beyond the last pair are literal.
    usable = {k: n - n % 2 for k, n in count.items()}
    seen: dict[str, int] = {}
    open_: list[str] = []
    parts: list[tuple[str, str, str | None]] = []
    size = 0

    def emit(chunk: str, href: str | None = None, extra: str = "") -> bool:
        """Add a part in the styles open now; False once `limit` is reached (that part ends in "…")."""
        nonlocal size
        if not chunk:
            return True
        fits = limit is None or size + len(chunk) <= limit
        if not fits:
            chunk = chunk[: max(0, limit - size)].rstrip() + "…"
        size += len(chunk)
        parts.append((inert(chunk), " ".join(filter(None, [*open_, extra])), href))
        return fits

    at = 0
    for m in tokens:
        if not emit(text[at : m.start()]):
            return parts
        at = m.end()
        if m.group(1) is not None:  # a link: its label without marks, linked when the URL is safe
            label = MD_MARKS.sub("", m.group(1)) or m.group(3)
            href = safe_url(m.group(3))
            if not emit(label, href, "md-a" if href else "") or not emit(m.group(2)):
                return parts
            continue
        mark = m.group()
        seen[mark] = seen.get(mark, 0) + 1
        if seen[mark] > usable.get(mark, 0):
            if not emit(mark):
                return parts
            continue
        cls = _MD_STYLE[mark]
        if cls in open_:
            open_.remove(cls)
        else:
            open_.append(cls)
    emit(text[at:])
    return parts


def url_segment(value: Any) -> str:
    """A handle (or any name) as one URL path segment: percent-encoded, so that `a/../b?x` or a space cannot
    change which page a post link opens."""
    return quote(str(value), safe="")


@functools.lru_cache(maxsize=4096)
def handle_segment(handle: str) -> str:
    """`url_segment` of a handle, remembered: a channel's posts all quote the same one."""
    return url_segment(handle)


def telegram_post_url(handle: str | None, channel_id: int | None, post_id: int) -> str | None:
    """A post's t.me link: by handle (percent-encoded: a handle from a file can hold anything), else the
    channel's private link; None when neither is known."""
    if handle:
        return f"https://t.me/{handle_segment(handle)}/{post_id}"
    return f"https://t.me/c/{channel_id}/{post_id}" if channel_id else None


def x_post_url(handle: str | None, post_id: int | str) -> str:
    """A post's x.com link: by handle (percent-encoded), else the handle-free status link."""
    return (
        f"https://x.com/{handle_segment(handle)}/status/{post_id}"
        if handle
        else f"https://x.com/i/web/status/{post_id}"
    )
