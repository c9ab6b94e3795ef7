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
  percentages the same context word, e.g. "summit", "GDP") and no value of one overlaps any value of the other.
- **Headline**: the lead sentence of the most central original post (highest cosine to the other posts'
  centroid in the grouping's representation), ties to the earliest.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections import Counter
from datetime import UTC, datetime

import numpy as np

from ingest.briefs.figures import Figure, detect_language, extract_figures, extract_quotes
from ingest.briefs.model import (
    Brief,
    ChannelInfo,
    Claim,
    Disagreement,
    EventInput,
    FigureMention,
    FirstSeen,
    PostInput,
    PostLink,
    ProvenanceEntry,
    SourceSummary,
    TimelineEntry,
)

LANGUAGE_NAMES = {"en": "English", "ru": "Russian", "uk": "Ukrainian", "es": "Spanish", "it": "Italian",
                  "tl": "Tagalog", "de": "German", "fr": "French", "pl": "Polish", None: "unknown"}  # fmt: skip
#: Share of a quoted phrase's weighted features another source's text must hold to count as carrying it.
QUOTE_COVERAGE = 0.5
_LEAD_PREFIX = re.compile(
    r"^(?:[^\w«“\"„(]+|(?:breaking|just in|update|urgent|срочно|молния|терміново|важливо|блискавка)\s*[:!—-]\s*)+",
    re.I,
)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"«“„]?[A-ZА-ЯЁІЇЄҐ0-9])")
_TRAILING_NOISE = re.compile(r"(?:\s+(?:#\w+|@\w+|https?://\S+))+\s*$")
_RT = re.compile(r"^\s*RT\s+@\w+:\s*", re.I)


def lead_sentence(text: str, limit: int = 200) -> str:
    """The first sentence of the first line that says something, without leading emoji, 'BREAKING:' or
    trailing hashtags and links."""
    text = _RT.sub("", text or "")
    line = ""
    for raw in text.splitlines():
        cand = _TRAILING_NOISE.sub("", raw.strip())
        cand = re.sub(r"^(?:(?:#\w+|@\w+|https?://\S+)\s*)+$", "", cand)
        if len(re.findall(r"[^\W\d_]{2,}", cand)) >= 2:
            line = cand
            break
    line = _LEAD_PREFIX.sub("", line).strip()
    parts = _SENTENCE_END.split(line, maxsplit=1)
    sentence = parts[0].strip() if parts else line
    sentence = re.sub(r"\s+", " ", sentence)
    if len(sentence) > limit:
        # Cut at the last clause boundary that keeps most of the sentence, else at a word boundary.
        cut = sentence[:limit]
        at = max(cut.rfind(", "), cut.rfind(" — "), cut.rfind("; "))
        cut = cut[:at] if at >= limit // 2 else cut.rsplit(" ", 1)[0]
        sentence = cut.rstrip(",;:—- ") + "…"
    return sentence


def language_of(p: PostInput) -> str | None:
    return p.lang or detect_language(p.text)


def _norm(s: str) -> str:
    return re.sub(r"[^\w]+", " ", s.lower()).strip()


# ------------------------------------------------------------------------------------------- vectors


def _vector(text: str) -> tuple[np.ndarray, np.ndarray]:
    # The grouping's cross-language representation (transliteration, consonant skeletons, concepts, numbers):
    # the brief measures closeness the same way the event was formed.
    from ingest.events.group import vector_of

    v = vector_of(text)
    return v.idx, v.val.astype(np.float64)


_PUNCT = ".,;:!?…\"'“”«»„()[]—–-"
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|\d+", re.U)
_PREFIX_MAP = str.maketrans({"c": "k", "q": "k", "w": "v", "x": "k", "h": "", "j": "y"})


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


# --------------------------------------------------------------------------------------------- sources


class _Source:
    def __init__(self, key: str, channel: ChannelInfo):
        self.key = key
        self.channel = channel
        self.originals: list[PostInput] = []
        self.carriers: list[PostInput] = []
        self.first_at: datetime | None = None
        self.first_url: str | None = None
        self.first_post_id: int | None = None

    @property
    def texts(self) -> list[PostInput]:
        return self.originals or self.carriers[:1]


def _origin_channel(p: PostInput, posts: list[PostInput]) -> tuple[str, ChannelInfo, str | None, int | None]:
    """The source a post counts for: (source key, channel, origin url, origin post id)."""
    if p.is_forward:
        ch = p.forwarded_from or ChannelInfo("telegram", None, title="hidden forward origin")
        if ch.channel_id is not None:
            key = ch.key
        elif ch.handle:  # a t.me/s page names the origin by handle only
            key = f"{ch.platform}:@{ch.handle.lower()}"
        else:  # a forward from a hidden user: Telegram gives a display name
            key = f"name:{ch.title}"
        return key, ch, p.fwd_url, p.fwd_post_id
    if p.is_repost:
        ch = p.reposted_from or ChannelInfo(p.platform, None)
        return ch.key, ch, p.reposted_url, p.reposted_post_id
    if p.joined_by == "duplicate" and p.dup_key is not None:
        for q in posts:
            if q is p:
                break
            if q.dup_key == p.dup_key and q.joined_by != "duplicate" and q.channel.key != p.channel.key:
                return q.channel.key, q.channel, q.url, q.post_id
    return p.channel.key, p.channel, None, None


def _is_carrier(p: PostInput, own_key: str, source_key: str) -> bool:
    return source_key != own_key or p.is_forward or p.is_repost


# ------------------------------------------------------------------------------------------------ build


def build_brief(ev: EventInput, *, generated_at: datetime | None = None) -> Brief:
    posts = sorted(ev.posts, key=lambda p: (p.posted_at, p.key))
    if not posts:
        raise ValueError(f"event {ev.event_id} has no posts")
    by_key = {p.key: p for p in posts}
    langs = {p.key: language_of(p) for p in posts}

    # Sources: every post counts for its origin's channel.
    sources: dict[str, _Source] = {}
    carrier_of: dict[tuple, tuple[str, str | None, int | None]] = {}
    for p in posts:
        skey, ch, origin_url, origin_post = _origin_channel(p, posts)
        src = sources.get(skey)
        if src is None:
            src = sources[skey] = _Source(skey, ch)
        if _is_carrier(p, p.channel.key, skey):
            src.carriers.append(p)
            carrier_of[p.key] = (skey, origin_url, origin_post)
        else:
            src.originals.append(p)
    for src in sources.values():
        if src.originals:
            p = src.originals[0]
            src.first_at, src.first_url, src.first_post_id = p.posted_at, p.url, p.post_id
        else:
            # Known only through forwards or reposts: the earliest origin time they record.
            c = min(src.carriers, key=lambda c: (c.fwd_posted_at or c.posted_at, c.posted_at))
            _, url, opost = carrier_of[c.key]
            src.first_at, src.first_url, src.first_post_id = c.fwd_posted_at or c.posted_at, url, opost
    ordered = sorted(sources.values(), key=lambda s: (s.first_at, s.key))

    # Figures and quotes per source (from its own posts; a source seen only through forwards, from those).
    figs: dict[str, list[tuple[Figure, PostInput]]] = {}
    quotes: dict[str, list[tuple[str, PostInput]]] = {}
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

    multi = len(ordered) > 1
    names = {s.key: s.channel.name for s in ordered}
    figure_claims = _figure_claims(ordered, figs, names)
    quote_claims = _quote_claims(ordered, quotes, figs, names)
    corroborated = [c for c in figure_claims + quote_claims if len(c.sources) > 1]
    single = [c for c in figure_claims + quote_claims if len(c.sources) == 1] if multi else []
    disagreements = _disagreements(ordered, figs, names)

    originals = [p for s in ordered for p in s.originals] or posts
    # The headline comes from a post that says something: not a one-liner or a quote fragment, when the event
    # has a fuller one.
    headline_post = _most_central([p for p in originals if _informative(p.text)] or originals)
    first_seen = _first_seen(ordered, posts)
    timeline = _timeline(posts, by_key, carrier_of, sources, langs, first_seen)
    summaries = _summaries(ordered, figs, quotes, carrier_of, langs)
    provenance = _provenance(ordered, carrier_of)
    languages = Counter(LANGUAGE_NAMES.get(langs[p.key], langs[p.key]) for p in posts)
    caveats = _caveats(ordered, figure_claims, single, disagreements, posts, names)

    return Brief(
        event_id=ev.event_id,
        storyline_id=ev.storyline_id,
        headline=lead_sentence(headline_post.text) or (ev.title or ""),
        headline_url=headline_post.url,
        first_seen=first_seen,
        post_count=len(posts),
        source_count=len(ordered),
        platforms=sorted({p.platform for p in posts}),
        languages=dict(languages.most_common()),
        timeline=timeline,
        sources=summaries,
        corroborated=sorted(corroborated, key=lambda c: (-len(c.sources), c.kind, c.label)),
        single_source=single,
        disagreements=disagreements,
        caveats=caveats,
        provenance=provenance,
        last_post_at=max(p.posted_at for p in posts),
        generated_at=generated_at or datetime.now(UTC),
        digest=ev.digest,
    )


def _figure_claims(ordered: list[_Source], figs: dict, names: dict) -> list[Claim]:
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


def _quote_claims(ordered: list[_Source], quotes: dict, figs: dict, names: dict) -> list[Claim]:
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


def _disagreements(ordered: list[_Source], figs: dict, names: dict) -> list[Disagreement]:
    by_quantity: dict[tuple, dict[str, list[tuple[Figure, PostInput]]]] = {}
    for s in ordered:
        for f, p in figs.get(s.key, []):
            if f.kind == "amount" or (f.kind in ("date", "percent") and f.context is None):
                continue
            by_quantity.setdefault(f.quantity, {}).setdefault(s.key, []).append((f, p))
    out = []
    for quantity, per_source in by_quantity.items():
        keys = list(per_source)
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


def _first_seen(ordered: list[_Source], posts: list[PostInput]) -> FirstSeen:
    s = ordered[0]
    if s.originals and s.originals[0].posted_at == s.first_at:
        p = s.originals[0]
        return FirstSeen(s.channel.name, s.channel.platform, p.post_id, p.posted_at, p.url)
    # Known only through a forward or repost: the origin's time is the carrier's record of it.
    carrier = s.carriers[0]
    return FirstSeen(
        s.channel.name, s.channel.platform, s.first_post_id, s.first_at or carrier.posted_at, s.first_url,
        via=f"{'repost' if carrier.is_repost else 'forward'} by {carrier.channel.name}: {carrier.url}",
    )  # fmt: skip


def _version_change(old: str, new: str, at: datetime) -> str:
    """What an edit changed: figures added or removed, else the words it inserted or deleted."""
    fo = {f.key: f for f in extract_figures(old, at)}
    fn = {f.key: f for f in extract_figures(new, at)}
    added = [f"“{fn[k].surface}”" for k in fn if k not in fo]
    removed = [f"“{fo[k].surface}”" for k in fo if k not in fn]
    ow, nw = old.split(), new.split()
    # Compare words without their punctuation: "summit" and "summit," are the same word.
    on, nn = [w.strip(_PUNCT).lower() for w in ow], [w.strip(_PUNCT).lower() for w in nw]
    ins: list[str] = []
    dels: list[str] = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(a=on, b=nn, autojunk=False).get_opcodes():
        if op in ("insert", "replace"):
            ins.append(" ".join(nw[b1:b2]).strip(" ,.;:"))
        if op in ("delete", "replace"):
            dels.append(" ".join(ow[a1:a2]).strip(" ,.;:"))

    def short(spans: list[str]) -> list[str]:
        return [f"“{x if len(x) <= 80 else x[:77] + '…'}”" for x in spans if x][:3]

    parts = []
    if added:
        parts.append("adds figure " + ", ".join(added))
    if removed:
        parts.append("drops figure " + ", ".join(removed))
    if short(ins):
        parts.append("inserts " + ", ".join(short(ins)))
    if short(dels):
        parts.append("deletes " + ", ".join(short(dels)))
    return "; ".join(parts) or "media changed"


def _timeline(posts, by_key, carrier_of, sources, langs, first_seen: FirstSeen) -> list[TimelineEntry]:
    out: list[TimelineEntry] = []
    for p in posts:
        text = p.versions[0].text if len(p.versions) > 1 else p.text
        of = None
        if p.is_forward:
            what = "forward"
            origin = by_key.get((p.forwarded_from.platform, p.forwarded_from.channel_id, p.fwd_post_id)) if (
                p.forwarded_from and p.fwd_post_id) else None  # fmt: skip
            of = (p.forwarded_from.short if p.forwarded_from else "hidden origin") + (
                f" {p.fwd_post_id}" if p.fwd_post_id else "")  # fmt: skip
            if origin is not None:
                of = f"{origin.channel.short} {origin.post_id}"
        elif p.is_repost:
            what = "repost"
            of = (p.reposted_from.short if p.reposted_from else "?") + f" {p.reposted_post_id}"
        elif p.key in carrier_of:
            what = "copy"
            skey, _, opost = carrier_of[p.key]
            of = f"{sources[skey].channel.short} {opost}" if opost else sources[skey].channel.short
        elif first_seen.post_id == p.post_id and first_seen.platform == p.platform and first_seen.via is None:
            what = "first report"
        elif p.reply_to_post_id is not None and (p.platform, p.channel_id, p.reply_to_post_id) in by_key:
            what = "follow-up"
            of = f"reply to {p.channel.short} {p.reply_to_post_id}"
        elif p.quoted_post_id is not None:
            what = "quote"
        else:
            what = "report"
        out.append(
            TimelineEntry(
                p.posted_at,
                what,
                p.channel.name,
                p.platform,
                p.post_id,
                p.url,
                langs[p.key],
                lead_sentence(text),
                of,
            )  # fmt: skip
        )
        for prev, cur in zip(p.versions, p.versions[1:], strict=False):
            out.append(
                TimelineEntry(cur.version_at, "edit", p.channel.name, p.platform, p.post_id, p.url, langs[p.key],
                              _version_change(prev.text, cur.text, cur.version_at), f"{p.channel.short} {p.post_id}")
            )  # fmt: skip
    out.sort(key=lambda e: (e.at, e.post_id))
    return out


def _link(p: PostInput) -> PostLink:
    return PostLink(p.channel.name, p.channel.short, p.platform, p.post_id, p.posted_at, p.url)


def _summaries(ordered, figs, quotes, carrier_of, langs) -> list[SourceSummary]:
    out = []
    for s in ordered:
        seen_l = list(dict.fromkeys(LANGUAGE_NAMES.get(langs[p.key], langs[p.key]) for p in s.texts))
        out.append(
            SourceSummary(
                key=s.key,
                channel=s.channel.name,
                platform=s.channel.platform,
                channel_url=s.channel.url,
                first_at=s.first_at,
                first_url=s.first_url,
                posts=[_link(p) for p in s.originals],
                carried_by=[_link(p) for p in s.carriers],
                languages=seen_l,
                quotes=[q for q, _ in quotes.get(s.key, [])],
                figures=[FigureMention(f.label, f.surface, f.kind, p.url) for f, p in figs.get(s.key, [])],
            )  # fmt: skip
        )
    return out


def _provenance(ordered: list[_Source], carrier_of) -> list[ProvenanceEntry]:
    entries: list[ProvenanceEntry] = []
    index: dict[tuple[str, int | None], ProvenanceEntry] = {}
    for s in ordered:
        for i, p in enumerate(s.originals):
            first = s.first_post_id == p.post_id and i == 0
            role = "first report" if (entries == [] and first) else ("report" if i == 0 else "follow-up")
            e = ProvenanceEntry(p.url, s.channel.name, p.platform, p.post_id, p.posted_at, role)
            entries.append(e)
            index[(s.key, p.post_id)] = e
    for s in ordered:
        for c in s.carriers:
            _, url, opost = carrier_of[c.key]
            e = index.get((s.key, opost)) or (
                index.get((s.key, s.originals[0].post_id)) if s.originals else None
            )
            if e is None:
                # The origin is not in the warehouse: list it from what the carrier says about it.
                e = ProvenanceEntry(url, s.channel.name, s.channel.platform, opost or 0,
                                    c.fwd_posted_at or c.posted_at, "origin (seen through a forward)")  # fmt: skip
                entries.append(e)
                index[(s.key, opost)] = e
            e.carried_by.append(_link(c))
    entries.sort(key=lambda e: (e.posted_at, e.post_id))
    return entries


def _caveats(
    ordered, figure_claims: list[Claim], single: list[Claim], disagreements, posts, names
) -> list[str]:
    out = []
    if len(ordered) == 1:
        out.append(f"One independent source so far ({ordered[0].channel.name}).")
    bands = [
        c
        for c in figure_claims
        if re.match(r"(about )?(tens|dozens|hundreds|thousands|several|a few)\b", c.label)
    ]
    for c in bands:
        out.append(
            f"“{c.label}” is a band, not a number ({len(c.sources)} source{'s' if len(c.sources) > 1 else ''})."
        )
    for c in single:
        if c.kind == "figure":
            out.append(f"{c.label} rests on one source: {c.sources[0]}.")
    for d in disagreements:
        out.append(
            f"Sources disagree on {d.quantity}: "
            + "; ".join(f"{v['label']} ({v['source']})" for v in d.values)
        )
    for p in posts:
        if len(p.versions) > 1:
            out.append(
                f"{p.channel.name} edited post {p.post_id} "
                f"{len(p.versions) - 1} time{'s' if len(p.versions) > 2 else ''} "
                f"(last at {p.versions[-1].version_at:%H:%M:%S} UTC)."
            )
    return out
