"""What a brief reads from a post's text: its figures, its quoted phrases and its language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from ingest.briefs.figures.amounts import parse_amount
from ingest.briefs.figures.dates import parse_date
from ingest.briefs.figures.figure import Figure
from ingest.briefs.figures.lexicon import STARTERS
from ingest.briefs.figures.tokens import tokens

_URL = re.compile(r"(?:https?://|www\.)\S+|\b\S+\.(?:com|org|net|ru|ua|me|co)/\S*", re.I)


def extract_figures(text: str, ref: datetime | date | None = None) -> list[Figure]:
    """Every figure in `text`: amounts of money, percentages, counts of known things, areas, dates.

    `ref` (the post's time) supplies the year of a date written without one. Bare numbers with no unit, scale or
    currency ("at 10:00", "No. 3") are left out: they are not claims a second source could corroborate.
    """
    if not text:
        return []
    ref_date = ref.date() if isinstance(ref, datetime) else (ref or date.today())
    toks = tokens(text)
    out: list[Figure] = []
    i = 0
    n = len(toks)
    while i < n:
        t = toks[i]
        # Hashtags, mentions and URLs carry no figures.
        if t.kind == "other" and t.text in "#@":
            i += 2
            continue
        # Only tokens that can start a figure are tried: a number, a currency sign, or a word that begins
        # a date, an amount ("tens of", "около") or a written number.
        maybe = t.kind in ("num", "sym") or (t.kind == "word" and t.low in STARTERS)
        got = parse_date(text, toks, i, ref_date) if maybe and t.kind != "sym" else None
        if got is None and maybe:
            got = parse_amount(text, toks, i)
        if got is not None:
            fig, nxt = got
            out.append(fig)
            i = max(nxt, i + 1)
            continue
        i += 1
    return [f for f in out if not _inside_url(text, f.start)]


def _inside_url(text: str, pos: int) -> bool:
    return any(m.start() <= pos < m.end() for m in _URL.finditer(text))


# ---------------------------------------------------------------------------------------------- quotes

_QUOTES = re.compile(r"“([^”“\n]{3,400})”|«([^»«\n]{3,400})»|„([^“”„\n]{3,400})[“”]|\"([^\"\n]{3,400})\"")


@dataclass(frozen=True, slots=True)
class Quote:
    text: str
    start: int
    end: int


def extract_quotes(text: str) -> list[Quote]:
    """Phrases in quotation marks (“…”, «…», „…“, "…") of two words or more that are not names."""
    out = []
    for m in _QUOTES.finditer(text or ""):
        # The second half of a quotation split by "— said X, —" starts with its comma: «…», — сказал он, — «, будут…»
        inner = next(g for g in m.groups() if g is not None).strip().lstrip(",;: ")
        if len(inner.split()) >= 2 and not _name_like(inner):
            out.append(Quote(inner, m.start(), m.end()))
    return out


def _name_like(inner: str) -> bool:
    """A short capitalised phrase without closing punctuation: in Russian and Ukrainian news nearly always a name
    in quotation marks (a TV channel, a company, a book, a place: «Первого канала», «РИА Новости», «Кухня на районе»),
    not words someone said. Of telegram_news_ru's 3,820 two- and three-word quotations 62 % are such, and 55 of a
    read sample of 60 of those were names or titles; a brief listed «Первого канала» as words five channels
    quoted."""
    return len(inner.split()) <= 3 and inner[0].isupper() and inner[-1] not in ".!?…"


# -------------------------------------------------------------------------------------------- language

_UK_LETTERS = set("іїєґІЇЄҐ")
_RU_LETTERS = set("ыэъёЫЭЪЁ")
_EN_WORDS = frozenset(
    "the and of to in is are was for on that with says said will at by from has have".split()
)


def detect_language(text: str) -> str | None:
    """'en', 'ru', 'uk' or None, by script and a few letters and words: enough for a brief's language list when
    the platform (Telegram) gives no language."""
    if not text:
        return None
    cyr = sum(1 for c in text if "\u0400" <= c <= "\u04ff")
    lat = sum(1 for c in text if c.isascii() and c.isalpha())
    if cyr == 0 and lat == 0:
        return None
    if cyr >= lat:
        uk = sum(1 for c in text if c in _UK_LETTERS)
        ru = sum(1 for c in text if c in _RU_LETTERS)
        return "uk" if uk > ru else "ru"
    words = re.findall(r"[a-z]+", text.lower())
    if words and sum(1 for w in words if w in _EN_WORDS) >= max(1, len(words) // 25):
        return "en"
    return None
