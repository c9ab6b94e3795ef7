"""Figures, dates and quoted phrases in English, Russian and Ukrainian text, normalised so that the same figure
written in two languages compares equal.

"tens of billions of dollars", "десятки миллиардов долларов" and "десятки мільярдів доларів" all become
`Figure(kind="money", unit="USD", lo=1e10, hi=1e11)`; "7-8 July", "July 7–8" and "7–8 июля" all become
`Figure(kind="date", lo=2026-07-07, hi=2026-07-08)`. A figure's `key` is what corroboration compares; its
`surface` is the exact text a source wrote, which a brief quotes.

Pure functions, no I/O. The parser is a hand-written scanner over tokens, not one large regular expression:
each language writes amounts in a different order ("$40bn", "40 млрд долларов", "40 billion dollars").

Modules, one concern each: `lexicon` (the words: months, scales, currencies, units, number words, and their
look-ups), `tokens` (the scanner's tokens), `figure` (`Figure` and its English label), `amounts` and `dates`
(the two parsers), `extract` (`extract_figures`, `extract_quotes`, `detect_language`).
"""

from ingest.briefs.figures.extract import Quote, detect_language, extract_figures, extract_quotes
from ingest.briefs.figures.figure import Figure

__all__ = ["Figure", "Quote", "detect_language", "extract_figures", "extract_quotes"]
