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

# The marks: ingest.textsafe's definition of Telegram's Markdown.
from ingest.textsafe import MD_MARKS

# [label](url): the label is text, the url a link. Labels may hold brackets of emoji but no newline; the spaces
# before "]" stay with the label ("[объявили ](url)на" reads "объявили на").
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s]+)\)")

# Telethon's Markdown puts an entity's trailing line break inside the link ("[фальсифицируют \n](url)"): the
# break is moved after the link so that the link sits on one line.
_MD_LINK_BROKEN = re.compile(r"\[([^\]\n]*?)(\s*\n\s*)\]\(([^)\s]+)\)")
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
# A line can hold what _EMOJI removes only if it has a character from U+2190 on (where its blocks start; such a
# line goes through the class) or one of the four below it (tests/events/test_clean.py checks against the class).
_MAYBE_DECORATION = re.compile("[\u2190-\U0010ffff\u200b\u200d\u2060\u20e3]")
_SPACES = re.compile(r"[ \t\u00a0\u2009\u202f]+")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+|\bt\.me/[^\s<>\"')\]]+", re.I)
_WWW = re.compile(r"www\.", re.I)


def maybe_url(text: str) -> bool:
    """Whether `text` may hold a URL (`_URL` or `text.split_urls`): every one holds a "/" or a "www." of any case.
    Substring tests first: most texts hold neither, and they cost a tenth of a regex search."""
    return "/" in text or (("w" in text or "W" in text) and _WWW.search(text) is not None)


# A segment boundary inside a line: sentence end, a separator that signatures use ("text. Subscribe", "a | b"),
# or the space before a line's last word when that is an @-mention: channels sign each post with their handle
# ("… впервые с 29 марта 2022 года @banksta"), glued to the news without a full stop.
_SEGMENT_SPLIT = re.compile(r"(?<=[.!?…])\s+|\s+[|•·—–]\s+|\s+(?=@\w{4,32}\s*$)")
_KEY_DROP = re.compile(r"[\W_]+", re.U)

# t.me paths that are not a post: invites, bots, boosts, channel pages, add-stickers, proxies.
_TME = re.compile(r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/(.*)$", re.I)
_TME_POST = re.compile(r"^(?:s/)?[A-Za-z][\w]{3,}/\d+(?:[/?#].*)?$|^c/\d+/\d+")


def _mend_links(text: str) -> str:
    return _MD_LINK_BROKEN.sub(r"[\1](\3)\2", text) if "\n" in text else text


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
        text = _mend_links(text)

        def _label(m: re.Match) -> str:
            links.append(m.group(2))
            return m.group(1)

        text = _MD_LINK.sub(_label, text)
    text = MD_MARKS.sub("", text)
    text = _EMOJI.sub(" ", text)
    return text, links


def _norm_line(line: str) -> str:
    # Substring tests first: most lines hold single spaces only, which the substitution would copy for nothing.
    if "  " in line or "\t" in line or "\xa0" in line or "\u2009" in line or "\u202f" in line:
        line = _SPACES.sub(" ", line)
    return line.strip()


def segment_key(segment: str) -> int | None:
    """Hash of a segment with case, punctuation, digits-only tokens kept, spacing removed; None when empty."""
    k = _KEY_DROP.sub(" ", segment.lower()).strip()
    if not k:
        return None
    return zlib.crc32(k.encode("utf-8"))


def _edges(line: str) -> tuple[str | None, str | None]:
    """The leading and trailing segment of a line when it has more than one."""
    parts = [p for p in _SEGMENT_SPLIT.split(line) if p and p.strip()]
    if len(parts) < 2:
        return None, None
    return parts[0].strip(), parts[-1].strip()


# Signatures, calls to subscribe and sponsor lines are short; a longer line is news and is not counted (it would
# only grow the stored counts).
MAX_SEGMENT = 160
# The key of a longer line that has a word: no segment key (a CRC-32, never negative), so never boilerplate. Its
# segment key is not worth taking: a third of parsing went into lower-casing and hashing news paragraphs.
LONG_LINE = -1
_HAS_WORD = re.compile(r"[^\W_]")


@dataclass(frozen=True, slots=True)
class Line:
    text: str  # markup and decoration removed, spacing normalised
    # segment_key(text); for a line longer than MAX_SEGMENT, which is never counted as boilerplate, only whether
    # it has a word: LONG_LINE, or None.
    key: int | None
    links: tuple[tuple[str, str], ...]  # (label, url) of the line's [label](url) links


@dataclass(frozen=True, slots=True)
class Parsed:
    """A post split once into what boilerplate counting and cleaning both read: its non-empty lines, and the
    leading segment of the first line and the trailing segment of the last, with their keys."""

    lines: tuple[Line, ...]
    lead: tuple[str, int | None] | None
    tail: tuple[str, int | None] | None
    orphan_links: tuple[str, ...]  # links of lines that are empty once markup and emoji are gone

    def __reduce__(self) -> tuple:
        # Parsed texts cross to and from the grouping's worker processes by the hundred thousand: as plain
        # tuples they pickle several times faster than through the frozen dataclasses' field-by-field state
        # (~60 µs a real post there and back).
        return _parsed, (
            tuple((ln.text, ln.key, ln.links) for ln in self.lines),
            self.lead,
            self.tail,
            self.orphan_links,
        )


def _parsed(lines: tuple, lead: tuple | None, tail: tuple | None, orphan_links: tuple[str, ...]) -> Parsed:
    """A parsed text rebuilt from `Parsed.__reduce__`."""
    return Parsed(tuple(Line(*ln) for ln in lines), lead, tail, orphan_links)


def parse(text: str) -> Parsed:
    """Markup and decoration removed line by line, each line's links and key kept with it."""
    lines: list[Line] = []
    orphans: list[str] = []
    text = _mend_links(text) if text and "](" in text else text
    for raw in (text or "").splitlines():
        links: list[tuple[str, str]] = []
        if "](" in raw:

            def _label(m: re.Match, links: list = links) -> str:
                links.append((m.group(1), m.group(2)))
                return m.group(1)

            raw = _MD_LINK.sub(_label, raw)
        # Cheap tests first: most lines hold no mark, and no character at or above the first decoration block
        # (Cyrillic, dashes, quotes, "…", "№" and "₽" are all below it) nor one of the four joiners and spaces
        # below it; a one-range search costs less than half of the decoration class's substitution.
        if "*" in raw or "_" in raw or "~" in raw or "|" in raw or "`" in raw:
            raw = MD_MARKS.sub("", raw)
        if _MAYBE_DECORATION.search(raw):
            raw = _EMOJI.sub(" ", raw)
        plain = _norm_line(raw)
        if plain:
            if len(plain) <= MAX_SEGMENT:
                key = segment_key(plain)
            else:
                key = LONG_LINE if _HAS_WORD.search(plain) else None
            lines.append(Line(plain, key, tuple(links)))
        else:
            orphans.extend(url for _, url in links)
    lead = tail = None
    if lines:
        first, _ = _edges(lines[0].text)
        _, last = _edges(lines[-1].text)
        lead = (first, segment_key(first)) if first else None
        tail = (last, segment_key(last)) if last else None
    return Parsed(tuple(lines), lead, tail, tuple(orphans))


def segments(text: str | Parsed) -> dict[int, str]:
    """What one post contributes to its channel's boilerplate counts: the keys (with their text) of its lines
    and of the leading segment of its first line and the trailing segment of its last line (a signature glued
    to the text)."""
    parsed = text if isinstance(text, Parsed) else parse(text)
    out: dict[int, str] = {}
    for line in parsed.lines:
        if line.key is not None and len(line.text) <= MAX_SEGMENT:
            out.setdefault(line.key, line.text)
    for edge in (parsed.lead, parsed.tail):
        if edge and edge[1] is not None and len(edge[0]) <= MAX_SEGMENT:
            out.setdefault(edge[1], edge[0])
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
    text: str | Parsed, boiler: Boilerplate = NONE, links: Iterable[str] = (), at: float | None = None
) -> Cleaned:
    """The text grouping and briefs use. `links` are the post's own link entities (kept unless never evidence
    or found inside removed boilerplate); `at` is the post's time (epoch seconds): only boilerplate learned by
    then is removed (None: all learned so far). `text` may come already parsed (`parse`)."""
    parsed = text if isinstance(text, Parsed) else parse(text)
    dropped: set[str] = set()
    md_links: list[str] = list(parsed.orphan_links)
    kept: list[str] = []
    keys = boiler.at(at) if boiler else ()
    last = len(parsed.lines) - 1
    for n, ln in enumerate(parsed.lines):
        line = ln.text
        if ln.key is None:
            continue
        if ln.key in keys:
            # The whole line is boilerplate: its bare and its Markdown links go with it.
            dropped.update(_URL.findall(line))
            dropped.update(url for _, url in ln.links)
            continue
        gone: list[str] = []
        if keys and n == 0 and parsed.lead and parsed.lead[1] in keys:
            gone.append(parsed.lead[0])
            line = line[len(parsed.lead[0]) :].lstrip(" |•·—–")
        if keys and n == last and parsed.tail and parsed.tail[1] in keys and line.endswith(parsed.tail[0]):
            gone.append(parsed.tail[0])
            line = line[: -len(parsed.tail[0])].rstrip(" |•·—–")
        for seg in gone:
            dropped.update(_URL.findall(seg))
            dropped.update(url for label, url in ln.links if label.strip() and label.strip() in seg)
        md_links.extend(url for _, url in ln.links)
        if gone and segment_key(line) is None:
            continue
        kept.append(line)
    body = "\n".join(kept)
    # Links of the Markdown labels that survived, then the post's own entity links.
    body_urls = set(_URL.findall(body)) if maybe_url(body) else set()
    out_links: list[str] = []
    for url in [*md_links, *links]:
        if url in dropped or url in out_links or not is_matching_link(url):
            continue
        out_links.append(url)
    # Bare links in the body that are never evidence (invites, channel pages) leave the text too.
    for url in body_urls:
        if not is_matching_link(url):
            body = body.replace(url, " ")
    return Cleaned(body.strip(), tuple(out_links))
