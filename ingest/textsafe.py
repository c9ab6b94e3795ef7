"""Text and links that are safe to show: one place for what every renderer (the console, briefs, CLI tables) does
to names and texts that come from the platforms, and for URLs built from handles.

Names and texts are stored as published; only their rendering changes.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import quote

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
