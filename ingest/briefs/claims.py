"""Corroboration: which figures and quoted phrases each source carries, which claims several sources share, and
where sources disagree.

- **Figures** are compared by value, not by words (see `figures`).
- **Quoted phrases** match across sources when one source's text covers the phrase: same words, same figures,
  or (across languages) most of its weighted features in the grouping's cross-language representation.
- **Disagreements**: two sources give values for one quantity and no value of one overlaps any value of the other;
  a quantity that one source itself gives non-overlapping values for (several things, or a value that moves) is
  not compared.
"""

from __future__ import annotations

import functools
import re

from ingest.briefs.figures import Figure, extract_figures, extract_quotes
from ingest.briefs.model import Claim, Disagreement, PostInput
from ingest.briefs.sources import Source

#: Share of a quoted phrase's weighted features another source's text must hold to count as carrying it.
QUOTE_COVERAGE = 0.5
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|\d+", re.U)
_PREFIX_MAP = str.maketrans({"c": "k", "q": "k", "w": "v", "x": "k", "h": "", "j": "y"})


def _norm(s: str) -> str:
    return re.sub(r"[^\w]+", " ", s.lower()).strip()


@functools.lru_cache(maxsize=65536)
def _word_keys(word: str) -> frozenset[str]:
    """Keys under which one word can meet its counterpart in another text or language: its first four
    transliterated letters ("активно" and "actively" both give "akti") and the grouping's concepts and numbers
    ("боевого" and "combat" both give c:combat; "опыта" and "experience" c:experience)."""
    from ingest.events.text import features, translit

    low = word.lower()
    keys = {"p:" + translit(low).translate(_PREFIX_MAP)[:4]}
    for name in features(word):
        if name.startswith(("c:", "n:", "m:")):
            keys.add(name)
    return frozenset(keys)


def _units(text: str) -> list[frozenset[str]]:
    """One key set per content word (stop words dropped)."""
    from ingest.events.text import STOPWORDS

    return [
        _word_keys(w)
        for w in _WORD.findall(text)
        if w.lower() not in STOPWORDS and (len(w) > 2 or w.isdigit())
    ]


def _covers(part: list[frozenset[str]], whole: set[str]) -> bool:
    """Does a text with keys `whole` carry the phrase with units `part`? At least half its content words, and
    at least two of them, find a counterpart."""
    if not part:
        return False
    hit = sum(1 for u in part if u & whole)
    return hit >= min(2, len(part)) and hit / len(part) >= QUOTE_COVERAGE


#: Per source key: its figures (each once) and the post that carries each.
SourceFigures = dict[str, list[tuple[Figure, PostInput]]]
#: Per source key: its quoted phrases (each once) and the post that carries each.
SourceQuotes = dict[str, list[tuple[str, PostInput]]]


def figures_and_quotes(ordered: list[Source]) -> tuple[SourceFigures, SourceQuotes]:
    """Figures and quotes per source, from its own posts (a source seen only through forwards, from those)."""
    figs: SourceFigures = {}
    quotes: SourceQuotes = {}
    for s in ordered:
        seen_f: set = set()
        seen_q: set = set()
        for p in s.texts:
            for f in extract_figures(p.text, p.posted_at):
                if f.key not in seen_f:
                    seen_f.add(f.key)
                    figs.setdefault(s.key, []).append((f, p))
            for q in extract_quotes(p.text):
                if _norm(q.text) not in seen_q:
                    seen_q.add(_norm(q.text))
                    quotes.setdefault(s.key, []).append((q.text, p))
    return figs, quotes


def figure_claims(ordered: list[Source], figs: SourceFigures, names: dict[str, str]) -> list[Claim]:
    claims: dict[tuple, Claim] = {}
    for s in ordered:
        for f, p in figs.get(s.key, []):
            c = claims.get(f.key)
            if c is None:
                c = claims[f.key] = Claim("figure", f.label, [], [], [])
            if f.surface not in c.surfaces:
                c.surfaces.append(f.surface)
            if names[s.key] not in c.sources:
                c.sources.append(names[s.key])
                c.urls.append(p.url or "")
    return list(claims.values())


def quote_claims(
    ordered: list[Source], quotes: SourceQuotes, figs: SourceFigures, names: dict[str, str]
) -> list[Claim]:
    """Group quoted phrases across sources; a source also carries a phrase its own text covers."""
    if not quotes:
        return []
    src_keys: dict[str, set[str]] = {}
    src_text: dict[str, str] = {}
    src_figs: dict[str, set] = {}
    for s in ordered if len(ordered) > 1 else ():  # one source: nothing to match against
        text = "\n".join(p.text for p in s.texts)
        src_text[s.key] = _norm(text)
        src_keys[s.key] = set().union(*_units(text)) if text.strip() else set()
        src_figs[s.key] = {f.key for f, _ in figs.get(s.key, [])}
    claims: list[tuple[Claim, str, set, list]] = []  # claim, normalised first phrase, figure keys, units
    for s in ordered:
        for qtext, p in quotes.get(s.key, []):
            qn = _norm(qtext)
            qfigs = {f.key for f in extract_figures(qtext, p.posted_at)}
            qunits = _units(qtext) if len(ordered) > 1 else []
            home = None
            for c, cn, cf, cu in claims:
                same_figs = bool(qfigs) and qfigs == cf
                if (
                    qn == cn
                    or same_figs
                    or (
                        not qfigs
                        and not cf
                        and _covers(qunits, set().union(*cu) if cu else set())
                        and _covers(cu, set().union(*qunits) if qunits else set())
                    )
                ):
                    home = c
                    break
            if home is None:
                home = Claim("quote", qtext, [], [], [])
                claims.append((home, qn, qfigs, qunits))
            if qtext not in home.surfaces:
                home.surfaces.append(qtext)
            if names[s.key] not in home.sources:
                home.sources.append(names[s.key])
                home.urls.append(p.url or "")
    # Sources that say the same thing without quotation marks, or in another language.
    for c, cn, cf, cu in claims if len(ordered) > 1 else ():
        for s in ordered:
            if names[s.key] in c.sources:
                continue
            if (
                cn in src_text[s.key]
                or (cf and cf <= src_figs[s.key])
                or (not cf and _covers(cu, src_keys[s.key]))
            ):
                c.sources.append(names[s.key])
                c.urls.append(s.texts[0].url or "")
    return [c for c, _, _, _ in claims]


def disagreements(ordered: list[Source], figs: SourceFigures, names: dict[str, str]) -> list[Disagreement]:
    by_quantity: dict[tuple, dict[str, list[tuple[Figure, PostInput]]]] = {}
    for s in ordered:
        for f, p in figs.get(s.key, []):
            if f.kind == "amount" or (f.kind in ("date", "percent") and f.context is None):
                continue
            by_quantity.setdefault(f.quantity, {}).setdefault(s.key, []).append((f, p))
    out = []
    for quantity, per_source in by_quantity.items():
        keys = list(per_source)
        if any(_several_values(per_source[k]) for k in keys):
            # One source giving two values that do not overlap (the dollar above 105 roubles and the euro above
            # 110; the rate at 105, then at 107 an hour later) shows several things or a value that moves: a
            # third source's 106 disagrees with nobody.
            continue
        clash = any(
            not any(fa.overlaps(fb) for fa, _ in per_source[a] for fb, _ in per_source[b])
            for i, a in enumerate(keys)
            for b in keys[i + 1 :]
        )
        if not clash:
            continue
        kind, unit, context = quantity
        what = kind + (f" ({unit})" if unit else "") + (f", {context}" if context else "")
        values = [
            {"source": names[k], "label": f.label, "surface": f.surface, "url": p.url}
            for k in keys
            for f, p in per_source[k]
        ]
        out.append(Disagreement(what, values))
    return out


def _several_values(figs: list[tuple[Figure, PostInput]]) -> bool:
    return any(not fa.overlaps(fb) for i, (fa, _) in enumerate(figs) for fb, _ in figs[i + 1 :])
