"""Text as grouping and briefs see it: markup, decoration and each channel's boilerplate removed.

`posts.text` stays as published; this module derives a cleaned copy for matching:

- Markdown and entity markup (`**bold**`, `__italic__`, `~~strike~~`, `||spoiler||`, back-ticks) is dropped and a
  `[label](url)` link becomes its label (the URL is kept aside as a link);
- decoration emoji (pictographs, dingbats, arrows, geometric marks, variation selectors, keycaps) are removed;
- lines, leading and trailing segments that the channel repeats across its posts (signatures, "subscribe" and
  "send us news" calls, sponsor lines, fixed hashtags) are removed when the channel's learned boilerplate
  (`Boilerplate`) holds them;
- links that are never evidence of an event are dropped: invite links (`t.me/+…`, `t.me/joinchat/…`), links to a
  channel or bot rather than to a post, and links inside removed boilerplate.

Boilerplate is learned from the channel's own posts (`segments` gives what is counted per post; the warehouse
keeps the counts, see `ingest.warehouse.boilerplate`), so it follows a channel that changes its signature.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# [label](url): the label is text, the url a link. Labels may hold brackets of emoji but no newline.
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s]+)\)")
_MD_MARKS = re.compile(r"\*\*|__|~~|\|\||`+")
# Decoration: pictographs and symbols, dingbats, arrows, geometric shapes, stars, keycaps, ZWJ, selectors.
_EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, supplemental symbols, flags (regional ind.)
    "\u2190-\u21ff"  # arrows
    "\u2300-\u23ff"  # technical (⌚ ⏰ ⏩)
    "\u2460-\u24ff"  # enclosed alphanumerics
    "\u25a0-\u27bf"  # geometric shapes, misc symbols, dingbats (▪ ☀ ✅ ❗ ❤ ➡)
    "\u2900-\u297f"  # supplemental arrows
    "\u2b00-\u2bff"  # misc symbols and arrows (⬆ ⭐)
    "\u3030\u303d\u3297\u3299"
    "\ufe00-\ufe0f"  # variation selectors
    "\u200d\u20e3\u200b\u2060"  # zero-width joiner, keycap, zero-width space, word joiner
    "\U000e0020-\U000e007f"  # tag characters (subdivision flags)
    "]+"
)
_SPACES = re.compile(r"[ \t\u00a0\u2009\u202f]+")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+|\bt\.me/[^\s<>\"')\]]+", re.I)
# A segment boundary inside a line: sentence end or a separator that signatures use ("text. Subscribe", "a | b").
_SEGMENT_SPLIT = re.compile(r"(?<=[.!?…])\s+|\s+[|•·—–]\s+")
_KEY_DROP = re.compile(r"[\W_]+", re.U)

# t.me paths that are not a post: invites, bots, boosts, channel pages, add-stickers, proxies.
_TME = re.compile(r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/(.*)$", re.I)
_TME_POST = re.compile(r"^(?:s/)?[A-Za-z][\w]{3,}/\d+(?:[/?#].*)?$|^c/\d+/\d+")


@dataclass(frozen=True, slots=True)
class Boilerplate:
    """A channel's learned boilerplate: segment key (see `segment_key`) -> the time (epoch seconds) from which
    posts are cleaned of it."""

    keys: Mapping[int, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def at(self, ts: float | None) -> frozenset[int] | Mapping[int, float]:
        """The keys in force for a post at `ts` (None: every key learned so far)."""
        if ts is None:
            return self.keys
        return frozenset(k for k, since in self.keys.items() if since <= ts)


NONE = Boilerplate()


def strip_markup(text: str) -> tuple[str, list[str]]:
    """Markdown and decoration removed; returns the text and the URLs of `[label](url)` links."""
    if not text:
        return "", []
    links: list[str] = []
    if "](" in text:

        def _label(m: re.Match) -> str:
            links.append(m.group(2))
            return m.group(1)

        text = _MD_LINK.sub(_label, text)
    text = _MD_MARKS.sub("", text)
    text = _EMOJI.sub(" ", text)
    return text, links


def _norm_line(line: str) -> str:
    return _SPACES.sub(" ", line).strip()


def segment_key(segment: str) -> int | None:
    """Hash of a segment with case, punctuation, digits-only tokens kept, spacing removed; None when empty."""
    k = _KEY_DROP.sub(" ", segment.lower()).strip()
    if not k:
        return None
    return zlib.crc32(k.encode("utf-8"))


def _lines(text: str) -> list[str]:
    return [s for s in (_norm_line(x) for x in text.splitlines()) if s]


def _edges(line: str) -> tuple[str | None, str | None]:
    """The leading and trailing segment of a line when it has more than one."""
    parts = [p for p in _SEGMENT_SPLIT.split(line) if p and p.strip()]
    if len(parts) < 2:
        return None, None
    return parts[0].strip(), parts[-1].strip()


# Signatures, calls to subscribe and sponsor lines are short; a longer line is news and is not counted (it would
# only grow the stored counts).
MAX_SEGMENT = 160


def segments(text: str) -> dict[int, str]:
    """What one post contributes to its channel's boilerplate counts: the keys (with their text) of its lines
    and of the leading segment of its first line and the trailing segment of its last line (a signature glued
    to the text)."""
    plain, _ = strip_markup(text)
    lines = _lines(plain)
    out: dict[int, str] = {}
    for line in lines:
        if len(line) > MAX_SEGMENT:
            continue
        k = segment_key(line)
        if k is not None:
            out.setdefault(k, line)
    if lines:
        lead, _ = _edges(lines[0])
        _, tail = _edges(lines[-1])
        for seg in (lead, tail):
            if seg and len(seg) <= MAX_SEGMENT:
                k = segment_key(seg)
                if k is not None:
                    out.setdefault(k, seg)
    return out


def is_matching_link(url: str) -> bool:
    """Whether a link can be evidence of an event: not an invite, bot, boost, or a bare channel page."""
    m = _TME.match(url.strip())
    if not m:
        return True
    path = m.group(1)
    if not path or path.startswith(("+", "joinchat", "addstickers", "proxy", "boost", "addlist", "socks")):
        return False
    return bool(_TME_POST.match(path))


@dataclass(frozen=True, slots=True)
class Cleaned:
    text: str  # cleaned text, lines joined with newlines
    links: tuple[str, ...]  # links that can be matching features


def clean(
    text: str, boiler: Boilerplate = NONE, links: Iterable[str] = (), at: float | None = None
) -> Cleaned:
    """The text grouping and briefs use. `links` are the post's own link entities (kept unless never evidence
    or found inside removed boilerplate); `at` is the post's time (epoch seconds): only boilerplate learned by
    then is removed (None: all learned so far)."""
    plain, md_links = strip_markup(text or "")
    dropped: set[str] = set()
    kept: list[str] = []
    lines = _lines(plain)
    keys = boiler.at(at) if boiler else ()
    for n, line in enumerate(lines):
        k = segment_key(line)
        if k is None:
            continue
        if k in keys:
            dropped.update(_URL.findall(line))
            continue
        if keys and (n == 0 or n == len(lines) - 1):
            lead, tail = _edges(line)
            if n == 0 and lead and segment_key(lead) in keys:
                dropped.update(_URL.findall(lead))
                line = line[len(lead) :].lstrip(" |•·—–")
            if n == len(lines) - 1 and tail and segment_key(tail) in keys and line.endswith(tail):
                dropped.update(_URL.findall(tail))
                line = line[: -len(tail)].rstrip(" |•·—–")
            if segment_key(line) is None:
                continue
        kept.append(line)
    body = "\n".join(kept)
    # Links of the markdown labels that survived, then the post's own entity links.
    body_urls = set(_URL.findall(body))
    out_links: list[str] = []
    for url in md_links:
        if url in dropped or not is_matching_link(url):
            continue
        # a markdown link whose label was dropped with its line is gone; keep the others
        out_links.append(url)
    for url in links:
        if url in dropped or url in out_links or not is_matching_link(url):
            continue
        out_links.append(url)
    # Bare links in the body that are never evidence (invites, channel pages) leave the text too.
    for url in body_urls:
        if not is_matching_link(url):
            body = body.replace(url, " ")
    return Cleaned(body.strip(), tuple(out_links))
