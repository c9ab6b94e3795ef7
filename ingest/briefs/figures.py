"""Figures, dates and quoted phrases in English, Russian and Ukrainian text, normalised so that the same figure
written in two languages compares equal.

"tens of billions of dollars", "десятки миллиардов долларов" and "десятки мільярдів доларів" all become
`Figure(kind="money", unit="USD", lo=1e10, hi=1e11)`; "7-8 July", "July 7–8" and "7–8 июля" all become
`Figure(kind="date", lo=2026-07-07, hi=2026-07-08)`. A figure's `key` is what corroboration compares; its
`surface` is the exact text a source wrote, which a brief quotes.

Pure functions, no I/O. The parser is a hand-written scanner over tokens, not one large regular expression:
each language writes amounts in a different order ("$40bn", "40 млрд долларов", "40 billion dollars").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

# ----------------------------------------------------------------------------------------------- lexicon

# Month names: English words and abbreviations exactly; Russian and Ukrainian by stem (every case form), matched
# only beside a day number ("7–8 июля", "26 червня"), so "липкий" or "март" in another sense cannot misfire alone.
_MONTH_EXACT = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_MONTH_STEMS: tuple[tuple[str, int], ...] = (
    ("январ", 1), ("феврал", 2), ("март", 3), ("апрел", 4), ("мая", 5), ("май", 5), ("июн", 6), ("июл", 7),
    ("август", 8), ("сентябр", 9), ("октябр", 10), ("ноябр", 11), ("декабр", 12),
    ("січ", 1), ("лют", 2), ("берез", 3), ("квіт", 4), ("трав", 5), ("черв", 6), ("лип", 7), ("серп", 8),
    ("верес", 9), ("жовт", 10), ("листопад", 11), ("груд", 12),
)  # fmt: skip
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")  # fmt: skip

_SCALES: dict[str, float] = {
    "thousand": 1e3, "thousands": 1e3, "k": 1e3, "тыс": 1e3, "тис": 1e3,
    "million": 1e6, "millions": 1e6, "mn": 1e6, "mln": 1e6, "m": 1e6, "млн": 1e6,
    "billion": 1e9, "billions": 1e9, "bn": 1e9, "bln": 1e9, "b": 1e9, "млрд": 1e9,
    "trillion": 1e12, "trillions": 1e12, "tn": 1e12, "trn": 1e12, "трлн": 1e12,
}  # fmt: skip
# Inflected scale words by stem: тысяча/тысяч/тысячи, миллион/миллионов, мільярд/мільярдів, ...
_SCALE_STEMS = (
    ("тысяч", 1e3),
    ("тисяч", 1e3),
    ("миллион", 1e6),
    ("мільйон", 1e6),
    ("милион", 1e6),
    ("миллиард", 1e9),
    ("мільярд", 1e9),
    ("милиард", 1e9),
    ("триллион", 1e12),
    ("трильйон", 1e12),
)
_SCALE_NAMES = {1e3: "thousand", 1e6: "million", 1e9: "billion", 1e12: "trillion"}

_CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "₽": "RUB", "₴": "UAH"}
_CURRENCY_WORDS = {"usd": "USD", "us$": "USD", "eur": "EUR", "gbp": "GBP", "rub": "RUB", "uah": "UAH",
                   "грн": "UAH", "руб": "RUB"}  # fmt: skip
_CURRENCY_STEMS = (("dollar", "USD"), ("доллар", "USD"), ("долар", "USD"), ("euro", "EUR"), ("евро", "EUR"),
                   ("євро", "EUR"), ("pound", "GBP"), ("фунт", "GBP"), ("ruble", "RUB"), ("rouble", "RUB"),
                   ("рубл", "RUB"), ("рубл", "RUB"), ("hryvn", "UAH"), ("гривн", "UAH"), ("гривен", "UAH"),
                   ("гривень", "UAH"), ("гривн", "UAH"))  # fmt: skip
_CURRENCY_NAMES = {"USD": "dollars", "EUR": "euros", "GBP": "pounds", "RUB": "roubles", "UAH": "hryvnias"}

_PERCENT_STEMS = ("percent", "процент", "відсот", "pct")

# Number words (the ones news writes out); Russian and Ukrainian in their common case forms.
_NUMBER_WORDS: dict[str, float] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "hundred": 100, "a hundred": 100, "dozen": 12, "a dozen": 12,
    "один": 1, "одна": 1, "одного": 1, "два": 2, "две": 2, "двух": 2, "дві": 2, "двох": 2, "три": 3, "трех": 3,
    "трёх": 3, "трьох": 3, "четыре": 4, "четырех": 4, "чотири": 4, "пять": 5, "пяти": 5, "п'ять": 5, "п’ять": 5,
    "шесть": 6, "шість": 6, "семь": 7, "сім": 7, "восемь": 8, "вісім": 8, "девять": 9, "дев'ять": 9,
    "дев’ять": 9, "десять": 10, "десяти": 10, "двадцать": 20, "двадцять": 20, "тридцать": 30, "тридцять": 30,
    "сорок": 40, "пятьдесят": 50, "п'ятдесят": 50, "сто": 100, "сотня": 100, "дюжина": 12,
}  # fmt: skip
# Vague multipliers: "tens of billions" = [1e10, 1e11). (lo, hi) with hi exclusive.
_VAGUE: dict[str, tuple[float, float, str]] = {
    "tens of": (10, 100, "tens of"), "dozens of": (10, 100, "dozens of"), "hundreds of": (100, 1000, "hundreds of"),
    "thousands of": (1e3, 1e4, "thousands of"), "several": (2, 10, "several"), "a few": (2, 10, "a few"),
    "десятки": (10, 100, "tens of"), "десятков": (10, 100, "tens of"), "десятках": (10, 100, "tens of"),
    "десятків": (10, 100, "tens of"), "сотни": (100, 1000, "hundreds of"), "сотен": (100, 1000, "hundreds of"),
    "сотні": (100, 1000, "hundreds of"), "сотень": (100, 1000, "hundreds of"),
    "тысячи": (1e3, 1e4, "thousands of"), "тысяч": (1e3, 1e4, "thousands of"), "тисячі": (1e3, 1e4, "thousands of"),
    "тисяч": (1e3, 1e4, "thousands of"),
    "несколько": (2, 10, "several"), "нескольких": (2, 10, "several"), "кілька": (2, 10, "several"),
    "декілька": (2, 10, "several"), "кількох": (2, 10, "several"),
}  # fmt: skip
# Words that say a figure is approximate or a bound; kept in the surface, flagged `approx`.
_APPROX = {
    "about", "around", "approximately", "roughly", "nearly", "almost", "some", "over", "up to", "more than",
    "at least", "less than", "under", "около", "примерно", "приблизительно", "почти", "порядка", "более", "свыше",
    "до", "не менее", "менее", "близько", "приблизно", "майже", "понад", "більше", "щонайменше",
}  # fmt: skip
_APPROX_TABLE = dict.fromkeys(_APPROX, 1)

# Units for counts and measures: stem -> (unit key, English name). Stems cover RU/UK inflections.
_UNITS: tuple[tuple[str, str, str], ...] = (
    ("firefight", "firefighter", "firefighters"), ("fire fighter", "firefighter", "firefighters"),
    ("пожарн", "firefighter", "firefighters"), ("пожежн", "firefighter", "firefighters"),
    ("rescuer", "firefighter", "firefighters"), ("спасател", "firefighter", "firefighters"),
    ("рятувальн", "firefighter", "firefighters"),
    ("drone", "drone", "drones"), ("uav", "drone", "drones"), ("бпла", "drone", "drones"),
    ("беспилотник", "drone", "drones"), ("безпілотник", "drone", "drones"), ("дрон", "drone", "drones"),
    ("missile", "missile", "missiles"), ("ракет", "missile", "missiles"),
    ("people", "person", "people"), ("person", "person", "people"), ("человек", "person", "people"),
    ("людей", "person", "people"), ("осіб", "person", "people"), ("особи", "person", "people"),
    ("dead", "killed", "killed"), ("killed", "killed", "killed"), ("погиб", "killed", "killed"),
    ("загинул", "killed", "killed"), ("загибл", "killed", "killed"), ("убит", "killed", "killed"),
    ("injur", "injured", "injured"), ("wounded", "injured", "injured"), ("ранен", "injured", "injured"),
    ("поранен", "injured", "injured"), ("пострадав", "injured", "injured"), ("постраждал", "injured", "injured"),
    ("soldier", "soldier", "soldiers"), ("troop", "soldier", "soldiers"), ("военнослужащ", "soldier", "soldiers"),
    ("солдат", "soldier", "soldiers"), ("військовослужбов", "soldier", "soldiers"),
    ("tank", "tank", "tanks"), ("танк", "tank", "tanks"),
    ("aircraft", "aircraft", "aircraft"), ("plane", "aircraft", "aircraft"), ("самолет", "aircraft", "aircraft"),
    ("самолёт", "aircraft", "aircraft"), ("літак", "aircraft", "aircraft"),
    ("countr", "country", "countries"), ("стран", "country", "countries"), ("країн", "country", "countries"),
    ("member", "member", "members"), ("ally", "ally", "allies"), ("allies", "ally", "allies"),
    ("союзник", "ally", "allies"),
    ("contract", "contract", "contracts"), ("контракт", "contract", "contracts"),
    ("home", "home", "homes"), ("house", "home", "homes"), ("дом", "home", "homes"), ("будин", "home", "homes"),
    ("settlement", "settlement", "settlements"), ("населенн", "settlement", "settlements"),
    ("населен", "settlement", "settlements"),
    ("km", "km", "km"), ("kilomet", "km", "km"), ("км", "km", "km"), ("кілометр", "km", "km"),
    ("километр", "km", "km"),
    ("hectare", "ha", "hectares"), ("гектар", "ha", "hectares"), ("га", "ha", "hectares"),
    ("tonne", "t", "tonnes"), ("ton", "t", "tonnes"), ("тонн", "t", "tonnes"),
    ("year", "year", "years"), ("лет", "year", "years"), ("год", "year", "years"), ("рок", "year", "years"),
    ("day", "day", "days"), ("дн", "day", "days"), ("сут", "day", "days"),
    ("hour", "hour", "hours"), ("час", "hour", "hours"), ("годин", "hour", "hours"),
)  # fmt: skip
_AREA = re.compile(
    r"(?:кв\.?\s*(?:м|метр\w*)\b|м²|m²|m2\b|sq\.?\s*m\b|square\s+met(?:re|er)s?\b|квадратн\w*\s+метр\w*)",
    re.I,
)

# Words after a percentage or a date that say which quantity it is (so "5% of GDP" and "2% of GDP" are one
# quantity, "7-8 July" for the summit another than "26 June" the report date).
_CONTEXTS: tuple[tuple[str, str], ...] = (
    ("gdp", "gdp"), ("ввп", "gdp"), ("summit", "summit"), ("саммит", "summit"), ("саміт", "summit"),
    ("talks", "talks"), ("переговор", "talks"), ("election", "election"), ("выбор", "election"),
    ("вибор", "election"), ("vote", "vote"), ("голосован", "vote"), ("голосуван", "vote"),
    ("inflation", "inflation"), ("инфляц", "inflation"), ("інфляц", "inflation"), ("rate", "rate"),
    ("ставк", "rate"), ("turnout", "turnout"), ("явк", "turnout"), ("meeting", "meeting"), ("встреч", "meeting"),
    ("зустріч", "meeting"), ("visit", "visit"), ("визит", "visit"), ("візит", "visit"),
)  # fmt: skip

# First words of everything that can start a figure: the scanner tries no other word.
_STARTERS = frozenset(k.split()[0] for k in (*_APPROX, *_VAGUE, *_NUMBER_WORDS, *_MONTH_EXACT, "us", "usd"))

# ---------------------------------------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""(?P<num>\d{1,3}(?:[ \u00a0\u202f,]\d{3})+(?:[.,]\d+)?(?!\d)|\d+(?:[.,]\d+)?)
      |(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)?)
      |(?P<sym>[$€£₽₴%])
      |(?P<dash>[-–—‐‑])
      |(?P<other>\S)""",
    re.X | re.U,
)


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # num | word | sym | dash | other
    text: str
    low: str
    start: int
    end: int


def _tokens(text: str) -> list[_Tok]:
    return [
        _Tok(m.lastgroup or "other", m.group(0), m.group(0).lower(), m.start(), m.end())
        for m in _TOKEN.finditer(text)
    ]


def _number(tok: str) -> float | None:
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


# --------------------------------------------------------------------------------------------- figures


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure as a source wrote it, with a language-independent value.

    `lo`/`hi`: the value or the band it names (inclusive lo, hi equal to lo for a point value; for a band such as
    "tens of billions" hi is the exclusive upper bound). Dates use ordinal days (`date.toordinal()`).
    """

    kind: str  # money | percent | count | area | amount | date
    lo: float
    hi: float
    unit: str | None  # currency code, unit key ("firefighter", "m2"), None
    surface: str  # the words as written
    start: int
    end: int
    approx: bool = False
    band: str | None = None  # "tens of", "several": the vague word a band came from
    context: str | None = None  # which quantity: "gdp", "summit", ...

    @property
    def key(self) -> tuple:
        """Equal keys = the same figure, in whatever language or format."""
        return (self.kind, self.unit, self.lo, self.hi)

    @property
    def quantity(self) -> tuple:
        """Figures with equal quantities measure the same thing and can disagree."""
        return (self.kind, self.unit, self.context)

    @property
    def is_point(self) -> bool:
        return self.lo == self.hi

    def overlaps(self, other: Figure) -> bool:
        a_hi = self.hi if self.is_point else self.hi - 1e-9 * max(abs(self.hi), 1)
        b_hi = other.hi if other.is_point else other.hi - 1e-9 * max(abs(other.hi), 1)
        return self.lo <= b_hi and other.lo <= a_hi

    @property
    def label(self) -> str:
        """The figure in plain English: 'tens of billions of dollars', '40 billion dollars', '7–8 July 2026'."""
        if self.kind == "date":
            a, b = date.fromordinal(int(self.lo)), date.fromordinal(int(self.hi))
            if a == b:
                return f"{a.day} {_MONTH_NAMES[a.month - 1]} {a.year}"
            if a.month == b.month:
                return f"{a.day}–{b.day} {_MONTH_NAMES[a.month - 1]} {a.year}"
            return f"{a.day} {_MONTH_NAMES[a.month - 1]} – {b.day} {_MONTH_NAMES[b.month - 1]} {b.year}"
        prefix = "about " if self.approx else ""
        if self.kind == "percent":
            out = f"{prefix}{_fmt(self.lo)}%"
            return out + (f" ({self.context})" if self.context else "")
        amount = _amount_words(self.lo, self.hi, self.band)
        if self.kind == "money":
            return f"{prefix}{amount} {_CURRENCY_NAMES.get(self.unit or '', self.unit or '')}".strip()
        if self.kind == "area":
            return f"{prefix}{amount} m²"
        if self.kind == "count" and self.unit:
            return f"{prefix}{amount} {_unit_name(self.unit)}"
        return f"{prefix}{amount}"


def _fmt(x: float) -> str:
    if x == int(x):
        return f"{int(x):,}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def _amount_words(lo: float, hi: float, band: str | None) -> str:
    if lo != hi and band:
        for scale in (1e12, 1e9, 1e6, 1e3):
            base = lo / (10 if band in ("tens of", "dozens of") else 100 if band == "hundreds of" else 1)
            if band in ("tens of", "dozens of", "hundreds of") and base == scale:
                return f"{band} {_SCALE_NAMES[scale]}s of"
            if band in ("several", "a few", "thousands of") and lo / 2 == scale:
                return f"{band} {_SCALE_NAMES[scale]}"
        return band
    for scale in (1e12, 1e9, 1e6):
        if lo >= scale and (lo / scale) * 100 == int((lo / scale) * 100):
            return f"{_fmt(lo / scale)} {_SCALE_NAMES[scale]}"
    return _fmt(lo)


def _unit_name(unit: str) -> str:
    for _, key, name in _UNITS:
        if key == unit:
            return name
    return unit


def _scale_of(low: str) -> float | None:
    w = low.rstrip(".")
    if w in _SCALES:
        return _SCALES[w]
    for stem, value in _SCALE_STEMS:
        if w.startswith(stem):
            return value
    return None


def _currency_word(low: str) -> str | None:
    if low in _CURRENCY_WORDS:
        return _CURRENCY_WORDS[low]
    for stem, code in _CURRENCY_STEMS:
        if low.startswith(stem):
            return code
    return None


def _month_of(low: str) -> int | None:
    if low in _MONTH_EXACT:
        return _MONTH_EXACT[low]
    for stem, month in _MONTH_STEMS:
        if low.startswith(stem):
            return month
    return None


def _unit_of(low: str) -> str | None:
    for stem, key, _ in _UNITS:
        if len(stem) <= 3:
            if low == stem:
                return key
        elif low.startswith(stem):
            return key
    return None


def _context_after(toks: list[_Tok], i: int, window: int = 4) -> str | None:
    for t in toks[i : i + window]:
        if t.kind != "word":
            continue
        for stem, ctx in _CONTEXTS:
            if t.low.startswith(stem):
                return ctx
    return None


def _context_around(toks: list[_Tok], i: int, j: int, window: int = 6) -> str | None:
    return _context_after(toks, j, window) or _context_after(toks, max(0, i - window), min(window, i))


def _day(tok: _Tok) -> int | None:
    if tok.kind == "num" and tok.text.isdigit() and 1 <= int(tok.text) <= 31 and len(tok.text) <= 2:
        return int(tok.text)
    return None


def _parse_date(text: str, toks: list[_Tok], i: int, ref: date) -> tuple[Figure, int] | None:
    """'7–8 July', '7-8 июля', 'July 7–8', '26 June 2026', 'June 26' at token i -> (Figure, next index)."""
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
            month = _month_of(toks[k].low)
            if month is not None:
                year, end = year_at(k + 1)
                return _date_figure(text, toks, i, end, d1, d2, month, year, ref), end
        return None
    if toks[i].kind == "word":
        month = _MONTH_EXACT.get(toks[i].low)  # "July 7–8": English order only
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
    toks: list[_Tok],
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
        toks[end - 1].end, context=_context_around(toks, i, end),
    )  # fmt: skip


def _phrase_at(toks: list[_Tok], i: int, table: dict) -> tuple[str, int] | None:
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


def _parse_amount(text: str, toks: list[_Tok], i: int) -> tuple[Figure, int] | None:
    """An amount starting at token i: [approx] [currency] (number | number word | vague [of]) [scale] [of]
    [currency | % | unit]. Each stage reads on from where the last one stopped (token index k)."""
    n = len(toks)
    approx, k = _approx_prefix(toks, i)
    if k >= n:
        return None
    currency, k = _leading_currency(toks, k)
    if k >= n:
        return None
    quantity = _quantity(toks, k)
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
        Figure(kind, float(lo), float(hi), unit, surface, toks[i].start, toks[k - 1].end, approx=approx,
               band=band if lo != hi else None, context=context),
        k,
    )  # fmt: skip


def _approx_prefix(toks: list[_Tok], k: int) -> tuple[bool, int]:
    """ "about", "примерно", ...: whether the amount is approximate, and where it goes on."""
    ph = _phrase_at(toks, k, _APPROX_TABLE)
    if not ph:
        return False, k
    k += ph[1]
    # "примерно на 40 млрд", "about by 5%": one short preposition may stand between.
    if k < len(toks) and toks[k].low in ("на", "в", "за", "by", "of"):
        k += 1
    return True, k


def _leading_currency(toks: list[_Tok], k: int) -> tuple[str | None, int]:
    """A currency before the number: "$", "€", "US$"."""
    if toks[k].kind == "sym" and toks[k].text in _CURRENCY_SYMBOLS:
        return _CURRENCY_SYMBOLS[toks[k].text], k + 1
    if (
        toks[k].kind == "word"
        and toks[k].low in ("us", "usd")
        and k + 1 < len(toks)
        and toks[k + 1].text == "$"
    ):
        return "USD", k + 2
    return None, k


def _quantity(toks: list[_Tok], k: int) -> tuple[float, float, str | None, int] | None:
    """(low, high, band, next k) of a number, a numeric range, a number word or a vague quantity ("tens of")."""
    n = len(toks)
    band = None
    t = toks[k]
    if t.kind == "num":
        # A bare 4-digit year is not an amount ("in 2026"), unless money follows.
        lo = hi = _number(t.text)
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
            v2 = _number(toks[k + 1].text)
            if v2 is not None and v2 > lo:
                hi = v2
                k += 2
    else:
        vague = _phrase_at(toks, k, _VAGUE)
        word = _phrase_at(toks, k, _NUMBER_WORDS)
        if vague:
            lo, hi, band = _VAGUE[vague[0]]
            k += vague[1]
            if k < n and toks[k].low in ("of",):
                k += 1
        elif word:
            lo = hi = _NUMBER_WORDS[word[0]]
            k += word[1]
        else:
            return None
    if lo is None or hi is None:
        return None
    return lo, hi, band, k


def _scale(toks: list[_Tok], k: int, currency: str | None, band: str | None) -> tuple[float | None, int]:
    """A scale word after the number: "billion", "bn", "млрд", "миллиардов"; also glued: "40bn" arrives as
    num + word."""
    n = len(toks)
    scale = None
    if k < n and toks[k].kind == "word":
        scale = _scale_of(toks[k].low)
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


def _trailing_currency(toks: list[_Tok], k: int) -> tuple[str | None, int]:
    """A currency after the number: a symbol, or a currency word ("US dollars", "американских долларов",
    "доларів США": the last with the currency word first)."""
    n = len(toks)
    if toks[k].kind == "sym" and toks[k].text in _CURRENCY_SYMBOLS:
        return _CURRENCY_SYMBOLS[toks[k].text], k + 1
    if toks[k].kind == "word":
        j = k + 1 if toks[k].low in ("us", "american", "американских", "американських") and k + 1 < n else k
        code = _currency_word(toks[j].low)
        if code:
            k = j + 1
            if k < n and toks[k].low in ("сша", "us"):
                k += 1
            return code, k
    return None, k


def _kind_of_amount(
    text: str, toks: list[_Tok], k: int, currency: str | None
) -> tuple[str | None, str | None, str | None, int]:
    """(kind, unit, context, next k): money, a percentage, an area or a count of a known thing; kind None when
    the number names none of them."""
    n = len(toks)
    if currency:
        return "money", currency, None, k
    if k < n and (
        toks[k].text == "%"
        or any(toks[k].low.startswith(s) for s in _PERCENT_STEMS)
        or (toks[k].low == "per" and k + 1 < n and toks[k + 1].low == "cent")
    ):
        k += 2 if toks[k].low == "per" else 1
        return "percent", None, _context_after(toks, k, 4), k
    rest = text[toks[k - 1].end :]
    m = _AREA.match(rest.lstrip()) if rest[:1].isspace() or rest[:1] in "мm" else None
    if m is not None:
        end_char = toks[k - 1].end + (len(rest) - len(rest.lstrip())) + m.end()
        while k < n and toks[k].start < end_char:
            k += 1
        return "area", "m2", None, k
    if k < n and toks[k].kind == "word":
        # A count: the noun right after the number ("60 firefighters", "60 пожарных"), or after an adjective
        # ("12 Shahed drones", "5 российских беспилотников").
        for j in (k, k + 1):
            if j < n and toks[j].kind == "word":
                u = _unit_of(toks[j].low)
                if u is not None:
                    return "count", u, None, j + 1
    return None, None, None, k


def extract_figures(text: str, ref: datetime | date | None = None) -> list[Figure]:
    """Every figure in `text`: amounts of money, percentages, counts of known things, areas, dates.

    `ref` (the post's time) supplies the year of a date written without one. Bare numbers with no unit, scale or
    currency ("at 10:00", "No. 3") are left out: they are not claims a second source could corroborate.
    """
    if not text:
        return []
    ref_date = ref.date() if isinstance(ref, datetime) else (ref or date.today())
    toks = _tokens(text)
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
        maybe = t.kind in ("num", "sym") or (t.kind == "word" and t.low in _STARTERS)
        got = _parse_date(text, toks, i, ref_date) if maybe and t.kind != "sym" else None
        if got is None and maybe:
            got = _parse_amount(text, toks, i)
        if got is not None:
            fig, nxt = got
            out.append(fig)
            i = max(nxt, i + 1)
            continue
        i += 1
    return [f for f in out if not _inside_url(text, f.start)]


_URL = re.compile(r"(?:https?://|www\.)\S+|\b\S+\.(?:com|org|net|ru|ua|me|co)/\S*", re.I)


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
    """Phrases in quotation marks (“…”, «…», „…“, "…") of two words or more."""
    out = []
    for m in _QUOTES.finditer(text or ""):
        inner = next(g for g in m.groups() if g is not None).strip()
        if len(inner.split()) >= 2:
            out.append(Quote(inner, m.start(), m.end()))
    return out


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
