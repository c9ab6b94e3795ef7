"""Dates at a token: '7–8 July', '7-8 июля', 'July 7–8', '26 June 2026', 'June 26'."""

from __future__ import annotations

import re
from datetime import date

from ingest.briefs.figures.figure import Figure
from ingest.briefs.figures.lexicon import DATE_RANGE_WORDS, MONTH_EXACT, month_of
from ingest.briefs.figures.tokens import Tok, context_around


def _day(tok: Tok) -> int | None:
    if tok.kind == "num" and tok.text.isdigit() and 1 <= int(tok.text) <= 31 and len(tok.text) <= 2:
        return int(tok.text)
    return None


def parse_date(text: str, toks: list[Tok], i: int, ref: date) -> tuple[Figure, int] | None:
    """'7–8 July', '7-8 июля', 'July 7–8', '26 June 2026', 'June 26', 'с 7 по 8 июля' at token i -> (Figure, next
    index)."""
    n = len(toks)

    def year_at(k0: int) -> tuple[int | None, int]:
        k = k0
        if k < n and toks[k].kind == "other" and toks[k].text == "," and k + 1 < n:
            k += 1
        if k < n and toks[k].kind == "num" and re.fullmatch(r"(19|20)\d\d", toks[k].text):
            k2 = k + 1
            if k2 < n and toks[k2].low in ("года", "году", "року", "р", "г"):
                k2 += 1
                if k2 < n and toks[k2].text == ".":
                    k2 += 1
            return int(toks[k].text), k2
        return None, k0

    d1 = _day(toks[i])
    if d1 is not None:
        k = i + 1
        d2 = None
        if k + 1 < n and toks[k].kind == "dash" and _day(toks[k + 1]) is not None:
            d2 = _day(toks[k + 1])
            k += 2
        if k < n and toks[k].kind == "word":
            month = month_of(toks[k].low)
            if month is not None:
                year, end = year_at(k + 1)
                return _date_figure(text, toks, i, end, d1, d2, month, year, ref), end
        return None
    if toks[i].kind == "word" and toks[i].low in DATE_RANGE_WORDS and i + 4 < n:
        # "с 20 по 28 ноября", "з 7 по 8 липня", "from 7 to 8 July", "between 7 and 8 July": one month.
        d1, d2 = _day(toks[i + 1]), _day(toks[i + 3])
        month = month_of(toks[i + 4].low) if toks[i + 4].kind == "word" else None
        if (
            d1 is not None
            and d2 is not None
            and month is not None
            and toks[i + 2].low in DATE_RANGE_WORDS[toks[i].low]
        ):
            year, end = year_at(i + 5)
            return _date_figure(text, toks, i, end, d1, d2, month, year, ref), end
    if toks[i].kind == "word":
        month = MONTH_EXACT.get(toks[i].low)  # "July 7–8": English order only
        if month is None or i + 1 >= n:
            return None
        k = i + 1
        d1 = _day(toks[k])
        if d1 is None:
            return None
        k += 1
        if k < n and toks[k].kind == "word" and toks[k].low in ("st", "nd", "rd", "th"):
            k += 1
        d2 = None
        if k + 1 < n and toks[k].kind == "dash" and _day(toks[k + 1]) is not None:
            d2 = _day(toks[k + 1])
            k += 2
        # "May 5" is a date; "may 5 people" is not: a lower-case short month needs a year or a dash range.
        if toks[i].low in ("may", "march", "mar") and toks[i].text[0].islower():
            return None
        year, end = year_at(k)
        return _date_figure(text, toks, i, end, d1, d2, month, year, ref), end
    return None


def _date_figure(
    text: str,
    toks: list[Tok],
    i: int,
    end: int,
    d1: int,
    d2: int | None,
    month: int,
    year: int | None,
    ref: date,
) -> Figure:
    y = year or ref.year
    try:
        a = date(y, month, d1)
        b = date(y, month, d2) if d2 else a
    except ValueError:
        a = b = date(y, month, 1)
    if b < a:
        a, b = b, a
    return Figure(
        "date", float(a.toordinal()), float(b.toordinal()), None, text[toks[i].start : toks[end - 1].end], toks[i].start,
        toks[end - 1].end, context=context_around(toks, i, end),
    )  # fmt: skip
