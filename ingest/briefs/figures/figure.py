"""`Figure`: one figure as a source wrote it, its language-independent value and its English label."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ingest.briefs.figures.lexicon import CURRENCY_NAMES, MONTH_NAMES, SCALE_NAMES, unit_name


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
    # The approximation or bound written before the value, in English ("about", "nearly", "more than", "up to",
    # ...); None for a value given as it is.
    qualifier: str | None = None
    band: str | None = None  # "tens of", "several": the vague word a band came from
    context: str | None = None  # which quantity: "gdp", "summit", ...

    @property
    def approx(self) -> bool:
        return self.qualifier is not None

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
                return f"{a.day} {MONTH_NAMES[a.month - 1]} {a.year}"
            if a.month == b.month:
                return f"{a.day}–{b.day} {MONTH_NAMES[a.month - 1]} {a.year}"
            return f"{a.day} {MONTH_NAMES[a.month - 1]} – {b.day} {MONTH_NAMES[b.month - 1]} {b.year}"
        prefix = f"{self.qualifier} " if self.qualifier else ""
        if self.kind == "percent":
            both = self.lo != self.hi and not self.band  # "between 3 and 4%"
            out = f"{prefix}{_fmt(self.lo)}–{_fmt(self.hi)}%" if both else f"{prefix}{_fmt(self.lo)}%"
            return out + (f" ({self.context})" if self.context else "")
        amount = _amount_words(self.lo, self.hi, self.band)
        if self.kind == "money":
            return f"{prefix}{amount} {CURRENCY_NAMES.get(self.unit or '', self.unit or '')}".strip()
        if self.kind == "area":
            return f"{prefix}{amount} m²"
        if self.kind == "count" and self.unit:
            # Unit keys are the singular ("person", "drone"): "один человек" is 1 person, not 1 people.
            one = self.lo == self.hi == 1 and not self.band
            return f"{prefix}{amount} {self.unit if one else unit_name(self.unit)}"
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
                return f"{band} {SCALE_NAMES[scale]}s of"
            if band in ("several", "a few", "thousands of") and lo / 2 == scale:
                return f"{band} {SCALE_NAMES[scale]}"
        return band
    if lo != hi:  # a range as written ("5-7 человек", "2–3 million"): both ends, on one scale
        for scale in (1e12, 1e9, 1e6):
            if lo >= scale and _whole_hundredths(lo / scale) and _whole_hundredths(hi / scale):
                return f"{_fmt(lo / scale)}–{_fmt(hi / scale)} {SCALE_NAMES[scale]}"
        return f"{_fmt(lo)}–{_fmt(hi)}"
    for scale in (1e12, 1e9, 1e6):
        if lo >= scale and _whole_hundredths(lo / scale):
            return f"{_fmt(lo / scale)} {SCALE_NAMES[scale]}"
    return _fmt(lo)


def _whole_hundredths(x: float) -> bool:
    return x * 100 == int(x * 100)
