"""Build a Brief from an event's posts: who said it first, who corroborates, which words and figures each source
carries, what only one source says, where sources disagree, and links to every original post.

Pure: `build_brief(EventInput) -> Brief`, no database. Rules, in the order the brief uses them:

- **Independent sources.** A source is a channel or account with an original post in the event. A forward
  (Telegram), a repost (X) and a verbatim copy (grouping's `duplicate`) carry their origin's words, so they count
  for the origin's channel, once: the forward of Intel Slava's post by another channel adds no source.
- **Figures** are compared by value, not by words (see `figures`): "tens of billions of dollars" and "десятки
  миллиардов долларов" corroborate each other; "about $40 billion" is another figure (a point inside that band),
  so a single source carrying it is reported as such, and not as a disagreement.
- **Quoted phrases** match across sources when one source's text covers the phrase: same words, same figures,
  or (across languages) most of its weighted features in the grouping's cross-language representation.
- **Disagreements**: two sources give values for one quantity (same kind and unit, and for dates and
  percentages the same context word, e.g. "summit", "GDP") and no value of one overlaps any value of the other;
  not for a quantity that one source itself gives non-overlapping values for (a rate that moves, two currencies).
- **Headline**: the lead sentence of the most central original post (highest cosine to the other posts'
  centroid in the grouping's representation), ties to the earliest.

Modules: `sources` (independent sources), `claims` (figures and quotes per source, corroboration,
disagreements), `sections` (timeline, source summaries, provenance, caveats), `text` (lead sentence, language);
here, the headline and the assembly.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

import numpy as np

from ingest.briefs import claims, sections
from ingest.briefs.model import Brief, EventInput, PostInput
from ingest.briefs.sources import find_sources, first_seen
from ingest.briefs.text import LANGUAGE_NAMES, language_of, lead_sentence


def build_brief(ev: EventInput, *, generated_at: datetime | None = None) -> Brief:
    posts = sorted(ev.posts, key=lambda p: (p.posted_at, p.key))
    if not posts:
        raise ValueError(f"event {ev.event_id} has no posts")
    by_key = {p.key: p for p in posts}
    langs = {p.key: language_of(p) for p in posts}
    ordered, sources, carrier_of = find_sources(posts)
    figs, quotes = claims.figures_and_quotes(ordered)

    multi = len(ordered) > 1
    names = {s.key: s.channel.name for s in ordered}
    figure_claims = claims.figure_claims(ordered, figs, names)
    quote_claims = claims.quote_claims(ordered, quotes, figs, names)
    corroborated = [c for c in figure_claims + quote_claims if len(c.sources) > 1]
    single = [c for c in figure_claims + quote_claims if len(c.sources) == 1] if multi else []
    disagreements = claims.disagreements(ordered, figs, names)

    originals = [p for s in ordered for p in s.originals] or posts
    # The headline comes from a post that says something: not a one-liner or a quote fragment, when the event
    # has a fuller one.
    headline_post = _most_central([p for p in originals if _informative(p.text)] or originals)
    first = first_seen(ordered, posts)
    languages = Counter(LANGUAGE_NAMES.get(langs[p.key], langs[p.key]) for p in posts)

    return Brief(
        event_id=ev.event_id,
        storyline_id=ev.storyline_id,
        headline=lead_sentence(headline_post.text) or (ev.title or ""),
        headline_url=headline_post.url,
        first_seen=first,
        post_count=len(posts),
        source_count=len(ordered),
        platforms=sorted({p.platform for p in posts}),
        languages=dict(languages.most_common()),
        timeline=sections.timeline(posts, by_key, carrier_of, sources, langs, first),
        sources=sections.summaries(ordered, figs, quotes, langs),
        corroborated=sorted(corroborated, key=lambda c: (-len(c.sources), c.kind, c.label)),
        single_source=single,
        disagreements=disagreements,
        caveats=sections.caveats(ordered, figure_claims, single, disagreements, posts),
        provenance=sections.provenance(ordered, carrier_of),
        last_post_at=max(p.posted_at for p in posts),
        generated_at=generated_at or datetime.now(UTC),
        digest=ev.digest,
    )


# --------------------------------------------------------------------------------------------- headline


def _vector(text: str) -> tuple[np.ndarray, np.ndarray]:
    # The grouping's cross-language representation (transliteration, consonant skeletons, concepts, numbers):
    # the brief measures closeness the same way the event was formed.
    from ingest.events.group import vector_of

    v = vector_of(text)
    return v.idx, v.val.astype(np.float64)


_QUOTE_OPENERS = ("«", '"', "“", "„", "'", "‘")


def _informative(text: str) -> bool:
    """A post that can carry a headline: at least eight words, not opening inside a quotation."""
    body = text.lstrip(" -—–•*_>")
    return len(re.findall(r"[^\W\d_]{2,}", body)) >= 8 and not body.startswith(_QUOTE_OPENERS)


def _most_central(candidates: list[PostInput]) -> PostInput:
    """The post closest (cosine) to the centroid of all the others; ties go to the earliest."""
    cands = [p for p in candidates if p.text.strip()]
    if not cands:
        return candidates[0]
    if len(cands) == 1:
        return cands[0]
    from scipy import sparse

    vecs = [_vector(p.text) for p in cands]
    cols = np.concatenate([idx for idx, _ in vecs])
    if len(cols) == 0:
        return cands[0]
    uniq, inverse = np.unique(cols, return_inverse=True)
    rows = np.repeat(np.arange(len(vecs)), [len(idx) for idx, _ in vecs])
    m = sparse.csr_matrix(
        (np.concatenate([val for _, val in vecs]), (rows, inverse)), shape=(len(vecs), len(uniq))
    )
    centroid = np.asarray(m.sum(axis=0)).ravel()
    dot_c = m @ centroid  # row · centroid
    sq = np.asarray(m.multiply(m).sum(axis=1)).ravel()  # |row|²
    # cos(row, centroid - row) without building each difference vector.
    rest_sq = np.maximum(float(centroid @ centroid) - 2 * dot_c + sq, 0.0)
    denom = np.sqrt(sq * rest_sq)
    score = np.divide(dot_c - sq, denom, out=np.zeros_like(denom), where=denom > 0)
    return cands[int(np.argmax(score))]  # argmax: the first (earliest) of equal scores
