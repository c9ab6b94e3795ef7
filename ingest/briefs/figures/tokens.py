"""The scanner's tokens: numbers, words, currency signs, dashes; and the look-ups that read a few tokens at once."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.briefs.figures.lexicon import CONTEXTS

_TOKEN = re.compile(
    r"""(?P<num>\d{1,3}(?:[ \u00a0\u202f,]\d{3})+(?:[.,]\d+)?(?!\d)|\d+(?:[.,]\d+)?)
      |(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)?)
      |(?P<sym>[$€£₽₴%])
      |(?P<dash>[-–—‐‑])
      |(?P<other>\S)""",
    re.X | re.U,
)


@dataclass(frozen=True, slots=True)
class Tok:
    kind: str  # num | word | sym | dash | other
    text: str
    low: str
    start: int
    end: int


def tokens(text: str) -> list[Tok]:
    return [
        Tok(m.lastgroup or "other", m.group(0), m.group(0).lower(), m.start(), m.end())
        for m in _TOKEN.finditer(text)
    ]


def number(tok: str) -> float | None:
    """'1,000' -> 1000, '1 000' -> 1000, '1.5' -> 1.5, '1,5' -> 1.5 (decimal comma), '40' -> 40."""
    t = tok.replace("\u00a0", " ").replace("\u202f", " ")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", t):  # 1,000 / 1,000.5
        return float(t.replace(",", ""))
    if re.fullmatch(r"\d{1,3}(?: \d{3})+(?:[.,]\d+)?", t):  # 1 000 / 1 000,5
        return float(t.replace(" ", "").replace(",", "."))
    try:
        return float(t.replace(",", "."))  # 1,5 (decimal comma) / 1.5 / 40
    except ValueError:
        return None


def phrase_at(toks: list[Tok], i: int, table: dict) -> tuple[str, int] | None:
    """Longest key of `table` (one or two words) starting at token i -> (key, tokens used)."""
    if toks[i].kind != "word":
        return None
    if i + 1 < len(toks) and toks[i + 1].kind == "word":
        two = f"{toks[i].low} {toks[i + 1].low}"
        if two in table:
            return two, 2
    if toks[i].low in table:
        return toks[i].low, 1
    return None


def context_after(toks: list[Tok], i: int, window: int = 4) -> str | None:
    for t in toks[i : i + window]:
        if t.kind != "word":
            continue
        for stem, ctx in CONTEXTS:
            if t.low.startswith(stem):
                return ctx
    return None


def context_around(toks: list[Tok], i: int, j: int, window: int = 6) -> str | None:
    return context_after(toks, j, window) or context_after(toks, max(0, i - window), min(window, i))
