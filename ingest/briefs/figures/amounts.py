"""Amounts at a token: money, percentages, areas and counts of known things, with their approximation words,
scales and bands ("about $40bn", "десятки миллиардов долларов", "60 пожарных", "5% of GDP")."""

from __future__ import annotations

from ingest.briefs.figures.figure import Figure
from ingest.briefs.figures.lexicon import (
    APPROX_TABLE,
    AREA,
    CURRENCY_SYMBOLS,
    NUMBER_WORDS,
    PERCENT_STEMS,
    RANGE_WORDS,
    VAGUE,
    currency_word,
    scale_of,
    unit_of,
)
from ingest.briefs.figures.tokens import Tok, context_after, number, phrase_at


def parse_amount(text: str, toks: list[Tok], i: int) -> tuple[Figure, int] | None:
    """An amount starting at token i: [approx] [currency] (number | number word | vague [of]) [scale] [of]
    [currency | % | unit]. Each stage reads on from where the last one stopped (token index k)."""
    n = len(toks)
    qualifier, k = _approx_prefix(toks, i)
    if k >= n:
        return None
    currency, k = _leading_currency(toks, k)
    if k >= n:
        return None
    quantity = _word_range(toks, k) if qualifier is None else None
    quantity = quantity or _quantity(toks, k)
    if quantity is None:
        return None
    lo, hi, band, k = quantity
    scale, k = _scale(toks, k, currency, band)
    if scale is not None:
        lo, hi = lo * scale, hi * scale
    if currency is None and k < n:
        currency, k = _trailing_currency(toks, k)
    kind, unit, context, k = _kind_of_amount(text, toks, k, currency)
    if kind is None:
        if scale is not None or band is not None:
            kind = "amount"
        else:
            return None
    surface = text[toks[i].start : toks[k - 1].end]
    return (
        Figure(kind, float(lo), float(hi), unit, surface, toks[i].start, toks[k - 1].end, qualifier=qualifier,
               band=band if lo != hi else None, context=context),
        k,
    )  # fmt: skip


def _approx_prefix(toks: list[Tok], k: int) -> tuple[str | None, int]:
    """ "about", "примерно", "более", ...: what the word before the amount makes of it in English ("about",
    "more than", ...; None when there is none), and where the amount goes on."""
    ph = phrase_at(toks, k, APPROX_TABLE)
    if not ph:
        return None, k
    qualifier = APPROX_TABLE[ph[0]]
    k += ph[1]
    # "примерно на 40 млрд", "about by 5%": one short preposition may stand between.
    if k < len(toks) and toks[k].low in ("на", "в", "за", "by", "of"):
        k += 1
    return qualifier, k


def _leading_currency(toks: list[Tok], k: int) -> tuple[str | None, int]:
    """A currency before the number: "$", "€", "US$"."""
    if toks[k].kind == "sym" and toks[k].text in CURRENCY_SYMBOLS:
        return CURRENCY_SYMBOLS[toks[k].text], k + 1
    if (
        toks[k].kind == "word"
        and toks[k].low in ("us", "usd")
        and k + 1 < len(toks)
        and toks[k + 1].text == "$"
    ):
        return "USD", k + 2
    return None, k


def _word_range(toks: list[Tok], k: int) -> tuple[float, float, str | None, int] | None:
    """(low, high, None, next k) of a range written in words, "от 5 до 7", "from 10 to 12", both ends numbers."""
    end = RANGE_WORDS.get(toks[k].low) if toks[k].kind == "word" else None
    if end is None or k + 3 >= len(toks):
        return None
    a, to, b = toks[k + 1], toks[k + 2], toks[k + 3]
    if a.kind != "num" or b.kind != "num" or to.kind != "word" or to.low != end:
        return None
    lo, hi = number(a.text), number(b.text)
    if lo is None or hi is None or hi <= lo:
        return None
    return lo, hi, None, k + 4


def _quantity(toks: list[Tok], k: int) -> tuple[float, float, str | None, int] | None:
    """(low, high, band, next k) of a number, a numeric range, a number word or a vague quantity ("tens of")."""
    n = len(toks)
    band = None
    t = toks[k]
    if t.kind == "num":
        # A bare 4-digit year is not an amount ("in 2026"), unless money follows.
        lo = hi = number(t.text)
        k += 1
        if lo is None:
            return None
        # "1.5-2 billion", "10–15 drones": a numeric range.
        if (
            k + 1 < n
            and toks[k].kind == "dash"
            and toks[k + 1].kind == "num"
            and toks[k].start == toks[k - 1].end
        ):
            v2 = number(toks[k + 1].text)
            if v2 is not None and v2 > lo:
                hi = v2
                k += 2
    else:
        vague = phrase_at(toks, k, VAGUE)
        word = phrase_at(toks, k, NUMBER_WORDS)
        if vague:
            lo, hi, band = VAGUE[vague[0]]
            k += vague[1]
            if k < n and toks[k].low in ("of",):
                k += 1
        elif word:
            lo = hi = NUMBER_WORDS[word[0]]
            k += word[1]
        else:
            return None
    if lo is None or hi is None:
        return None
    return lo, hi, band, k


def _scale(toks: list[Tok], k: int, currency: str | None, band: str | None) -> tuple[float | None, int]:
    """A scale word after the number: "billion", "bn", "млрд", "миллиардов"; also glued: "40bn" arrives as
    num + word."""
    n = len(toks)
    scale = None
    if k < n and toks[k].kind == "word":
        scale = scale_of(toks[k].low)
        if scale is not None and toks[k].low in ("m", "b", "k") and currency is None:
            scale = None  # "5 m" is metres, "5 k" is nothing we know: only "$5m" is money
        if scale is not None:
            k += 1
            if k < n and toks[k].text == ".":
                k += 1
            if k < n and toks[k].low == "of":
                k += 1
    if band and scale is None and toks[k - 1].low == "of":
        k -= 1  # "tens of" without a scale: "tens of drones" -> count band
    return scale, k


def _trailing_currency(toks: list[Tok], k: int) -> tuple[str | None, int]:
    """A currency after the number: a symbol, or a currency word ("US dollars", "американских долларов",
    "доларів США": the last with the currency word first)."""
    n = len(toks)
    if toks[k].kind == "sym" and toks[k].text in CURRENCY_SYMBOLS:
        return CURRENCY_SYMBOLS[toks[k].text], k + 1
    if toks[k].kind == "word":
        j = k + 1 if toks[k].low in ("us", "american", "американских", "американських") and k + 1 < n else k
        code = currency_word(toks[j].low)
        if code:
            k = j + 1
            if k < n and toks[k].low in ("сша", "us"):
                k += 1
            return code, k
    return None, k


_PREPOSITIONS = frozenset(
    "в во на по за из с со у к о об от для при над под про без через "  # Russian
    "з із від до під "  # Ukrainian, beyond those
    "in on at of for from to by with into over under".split()
)


def _kind_of_amount(
    text: str, toks: list[Tok], k: int, currency: str | None
) -> tuple[str | None, str | None, str | None, int]:
    """(kind, unit, context, next k): money, a percentage, an area or a count of a known thing; kind None when
    the number names none of them."""
    n = len(toks)
    if currency:
        return "money", currency, None, k
    if k < n and (
        toks[k].text == "%"
        or any(toks[k].low.startswith(s) for s in PERCENT_STEMS)
        or (toks[k].low == "per" and k + 1 < n and toks[k + 1].low == "cent")
    ):
        k += 2 if toks[k].low == "per" else 1
        return "percent", None, context_after(toks, k, 4), k
    rest = text[toks[k - 1].end :]
    m = AREA.match(rest.lstrip()) if rest[:1].isspace() or rest[:1] in "мm" else None
    if m is not None:
        end_char = toks[k - 1].end + (len(rest) - len(rest.lstrip())) + m.end()
        while k < n and toks[k].start < end_char:
            k += 1
        return "area", "m2", None, k
    if k < n and toks[k].kind == "word":
        # A count: the noun right after the number ("60 firefighters", "60 пожарных"), or after an adjective
        # ("12 Shahed drones", "5 российских беспилотников").
        # Not across a preposition: "83 миллиона в стране" is 83 million in the country, not 83 million countries.
        ahead = (k,) if toks[k].low in _PREPOSITIONS else (k, k + 1)
        for j in ahead:
            if j < n and toks[j].kind == "word":
                u = unit_of(toks[j].low)
                if u is not None:
                    return "count", u, None, j + 1
    return None, None, None, k
