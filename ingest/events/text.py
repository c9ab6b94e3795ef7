"""Text features for grouping: one sparse, integer-weighted vector per post that works across English, Russian
and Ukrainian (and survives Spanish, Italian, Tagalog tweets).

Lexical methods cannot see an English and a Russian report of one event as similar, so the vector carries the
cheap cross-language bridges beside plain word stems:

- words transliterated to Latin and cut to a 6-letter stem (`w:`), so Russian/Ukrainian inflections collapse;
- a consonant skeleton of every word (`k:`): "Rutte"/"Рютте", "Ankara"/"Анкаре", "contracts"/"контракты",
  "summit"/"саммит" meet on "rt", "nkr", "kntr", "smt";
- capitalised words and hashtags as entities (`e:`, weighted up);
- numbers (`n:`), month names in any of the languages as `m:07`, a small concept lexicon (`c:`) for the news
  words that transliteration cannot bridge (billion/миллиард/мільярд, defence/оборона, ...);
- URLs (host + path) and link domains.

Weights are fixed by feature type (no corpus statistics here: the event level reweighs by rarity over the days
before a post, `ingest.events.rarity`), the vector is L2-normalised and quantised to integers
(`SCALE` = 1000), so every dot product later is an exact integer: a grouping run gives the same answer whatever
order or batch size it sums things in. Feature names are hashed with CRC32 (stable across processes).
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ingest.events.clean import is_matching_link, maybe_url
from ingest.events.lexicon import (
    CONCEPT_EXACT,
    CONCEPT_LENS,
    CONCEPT_MIN,
    CONCEPTS,
    MONTH_GUARD,
    MONTH_LENS,
    MONTHS,
    SKEL_MAP,
    STOPWORDS,
    TRANSLIT,
    VOWELS,
)

DIM_BITS = 22
DIM = 1 << DIM_BITS
SCALE = 1000  # quantisation of L2-normalised weights

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+", re.I)
_BARE_DOMAIN_URL = re.compile(
    r"\b(?:[a-z0-9-]+\.)+(?:com|org|net|ru|ua|io|me|info|news|gov|eu|uk)/[^\s<>\"')\]]*", re.I
)
_TOKEN = re.compile(r"[#@]?[^\W_]+(?:[’'][^\W_]+)?", re.U)
_TOKEN_SPLIT = re.compile(f"({_TOKEN.pattern})", re.U)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_RT_PREFIX = re.compile(r"^\s*(?:RT|MT)\s+@\w+:?\s*", re.I)
_SENT_END = re.compile(r"[.!?…:\n]\s*$")


_SKIP_HOSTS = {"t.me", "telegram.me", "x.com", "twitter.com", "mobile.twitter.com", "t.co", "bit.ly"}

W_WORD = 1.0
W_SKEL = 0.7
W_ENTITY = 2.0
W_NUMBER = 1.5
W_MONTH = 1.0
W_CONCEPT = 1.5
W_URL = 3.0
W_DOMAIN = 0.5
W_HASHTAG = 2.0
W_MENTION = 1.0


@dataclass(frozen=True, slots=True)
class Vector:
    """A post's features: sorted hashed indices and positive integer weights (L2 norm ~ SCALE)."""

    idx: np.ndarray  # int32, sorted, unique
    val: np.ndarray  # int64

    @property
    def norm2(self) -> int:
        return int(np.dot(self.val, self.val))

    def __len__(self) -> int:
        return len(self.idx)

    def __reduce__(self) -> tuple:
        # Vectors cross to and from the grouping's worker processes by the hundred thousand: as raw buffers a
        # real post's vector takes 4.2 µs to dump and 2.6 µs to load, against 9.7 and 16.3 µs through the frozen
        # dataclass's field-by-field state and numpy's array pickling.
        return _vector, (self.idx.tobytes(), self.idx.dtype.str, self.val.tobytes(), self.val.dtype.str)


def _vector(idx: bytes, idx_type: str, val: bytes, val_type: str) -> Vector:
    """A vector rebuilt from `Vector.__reduce__`'s buffers (read-only arrays: vectors are never written to)."""
    return Vector(np.frombuffer(idx, dtype=idx_type), np.frombuffer(val, dtype=val_type))


EMPTY = Vector(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64))


def translit(word: str) -> str:
    return word.translate(TRANSLIT)


def skeleton(word: str, n: int = 4) -> str:
    """Consonant skeleton of a transliterated word: 'kontrakty' -> 'kntr', 'rutte' -> 'rt'."""
    w = word.translate(SKEL_MAP)
    out: list[str] = []
    for ch in w:
        if ch in VOWELS or not ch.isalpha():
            continue
        if out and out[-1] == ch:
            continue
        out.append(ch)
        if len(out) >= n:
            break
    return "".join(out)


def _month(stem: str) -> int | None:
    # Longest month prefix first, as a dict probe per prefix length (a scan of every prefix per word was
    # the single largest cost of grouping).
    if stem in MONTH_GUARD:
        return None
    n = len(stem)
    for k in MONTH_LENS:
        if k > n:
            continue
        m = MONTHS.get(stem[:k])
        if m is not None and (k >= 4 or n == k or n <= k + 2):
            return m
    return None


def _concept(word: str) -> str | None:
    if len(word) < CONCEPT_MIN:
        return None
    if word in CONCEPT_EXACT:
        return CONCEPTS[word]
    n = len(word)
    for k in CONCEPT_LENS:  # longest stem first; only stems longer than 3 match as prefixes
        if k <= n:
            c = CONCEPTS.get(word[:k])
            if c is not None:
                return c
    return None


def split_urls(text: str) -> tuple[str, list[str]]:
    if not maybe_url(text):
        return text, []
    urls = _URL.findall(text) + _BARE_DOMAIN_URL.findall(text)
    text = _BARE_DOMAIN_URL.sub(" ", _URL.sub(" ", text))
    return text, urls


def _url_features(url: str) -> tuple[str | None, str | None]:
    u = url.lower().rstrip(".,;:!?")
    u = re.sub(r"^(?:https?://)?(?:www\.)?", "", u)
    u = u.split("#", 1)[0].split("?", 1)[0].rstrip("/")
    host = u.split("/", 1)[0]
    if not host or "." not in host:
        return None, None
    if host in _SKIP_HOSTS:
        # A link to a post on the platform itself is specific (t.me/channel/123); a bare host, a channel page,
        # an invite or a bot is not (every post of a channel links its own page in its signature).
        if host in ("t.me", "telegram.me") and not is_matching_link(u):
            return None, None
        return (u if "/" in u else None), None
    return (u if "/" in u else None), host


def features(
    text: str, links: tuple[str, ...] | list[str] = (), hashtags: tuple[str, ...] | list[str] = ()
) -> dict[str, float]:
    """Named features of a text with their weights (before hashing); exposed for tests and debugging."""
    body, urls = split_urls(_RT_PREFIX.sub("", text or ""))
    return _features(body, urls, links, hashtags)


def _features(
    body: str, urls: list[str], links: tuple[str, ...] | list[str], hashtags: tuple[str, ...] | list[str]
) -> dict[str, float]:
    feats: dict[str, float] = {}

    def add(name: str, w: float) -> None:
        if feats.get(name, 0.0) < w:
            feats[name] = w

    for url in [*urls, *links]:
        full, host = _url_features(url)
        if full:
            add("u:" + full, W_URL)
        if host:
            add("d:" + host, W_DOMAIN)
    for tag in hashtags:
        t = translit(tag.lower().lstrip("#"))
        if t:
            add("h:" + t, W_HASHTAG)

    cache = _TOKEN_CACHE
    # [gap, token, gap, token, ..., gap]: the token pattern split with its group kept, so each token comes with
    # the text before it without a match object per token.
    parts = _TOKEN_SPLIT.split(body)
    get = feats.get
    for n in range(1, len(parts), 2):
        tok = parts[n]
        # Only a capitalised word needs to know whether it starts a sentence (entity test): the first token
        # does, and a later one when the text before it ends a sentence.
        if tok[0].isupper():
            gap = parts[n - 1]
            key = (tok, n == 1 or (bool(gap) and bool(_SENT_END.search(gap))))
        else:
            key = tok
        out = cache.get(key)
        if out is None:
            if len(cache) >= _TOKEN_CACHE_MAX:
                cache.clear()
            out = cache[key] = _token_features(tok, key is not tok and key[1])
        for name, w in out:
            if get(name, 0.0) < w:
                feats[name] = w
    return feats


# Token -> its features. Feeds repeat the same words endlessly (Zipf): caching the per-token work makes
# vectorising ~3x faster. Bounded: cleared when full.
_TOKEN_CACHE: dict = {}
_TOKEN_CACHE_MAX = 400_000


def _token_features(tok: str, sentence_start: bool) -> tuple[tuple[str, float], ...]:
    """The features of one token (in the order they are added; the caller keeps each name's largest weight)."""
    out: list[tuple[str, float]] = []
    add = out.append
    if tok[0] in "#@":
        word = translit(tok[1:].lower())
        if not word:
            return ()
        if tok[0] == "#":
            add(("h:" + word, W_HASHTAG))
            add(("e:" + skeleton(word, 5), W_ENTITY * 0.5))
        else:
            add(("a:" + word, W_MENTION))
        return tuple(out)
    if _NUMBER.fullmatch(tok):
        digits = tok.replace(",", "").replace(".", "")
        add((_number_name(digits.lstrip("0")[:12] or "0"), W_NUMBER if len(digits) > 1 else W_NUMBER * 0.6))
        return tuple(out)
    if any(c.isdigit() for c in tok):
        # 30bn, 7-8, f16: the digits and the letters both count.
        for d in re.findall(r"\d+", tok):
            add((_number_name(d.lstrip("0") or "0"), W_NUMBER))
        letters = re.sub(r"\d+", "", tok.lower())
        c = _concept(translit(letters)) if letters else None
        if c:
            add(("c:" + c, W_CONCEPT))
        return tuple(out)
    low = tok.lower()
    if low in STOPWORDS:
        return ()
    word = translit(low).replace("’", "").replace("'", "")
    if len(word) < 2:
        return ()
    stem = word[:6]
    mon = _month(stem)
    if mon is not None:
        return ((f"m:{mon:02d}", W_MONTH),)
    c = _concept(word)
    if c:
        add(("c:" + c, W_CONCEPT))
    if len(word) >= 3:
        add(("w:" + stem, W_WORD))
        sk = skeleton(word)
        if len(sk) >= 2:
            add(("k:" + sk, W_SKEL))
    is_entity = (tok[0].isupper() and not sentence_start and len(word) >= 3) or (
        len(tok) >= 2 and tok.isupper() and tok.isalpha()
    )
    if is_entity:
        sk = skeleton(word, 5)
        if len(sk) >= 2:
            add(("e:" + sk, W_ENTITY))
    return tuple(out)


# Figures (numbers of two digits or more that are not years) hash into the top of the space, so that grouping
# can tell which features of a centroid are figures (`figures_of`): "the dollar above 106" and "above 109" are
# two moments of one story, not one event.
FIGURE_BITS = 16
FIGURE_BASE = DIM - (1 << FIGURE_BITS)
# Names (entities, hashtags' skeletons) and concepts hash into the range just below the figures, so that the
# storylines' burst test can tell them from plain words (`rarity.hot_features`): a developing situation bursts
# in its names (a city, a named cyclone, a person) or a concept (the dollar, a ceasefire), while the daily beats
# (tomorrow's weather, the night's drone count) burst in common words when the weather or the target changes.
NAMED_BITS = 20
NAMED_BASE = FIGURE_BASE - (1 << NAMED_BITS)
_NAMED_PREFIXES = ("e:", "c:")


def _number_name(digits: str) -> str:
    if len(digits) >= 2 and not (len(digits) == 4 and 1900 <= int(digits) <= 2100):
        return "N:" + digits
    return "n:" + digits


def _hash(name: str) -> int:
    if name.startswith("N:"):
        return FIGURE_BASE + (zlib.crc32(name.encode("utf-8")) & ((1 << FIGURE_BITS) - 1))
    if name.startswith(_NAMED_PREFIXES):
        return NAMED_BASE + (zlib.crc32(name.encode("utf-8")) & ((1 << NAMED_BITS) - 1))
    return zlib.crc32(name.encode("utf-8")) % NAMED_BASE


def figures_of(idx: np.ndarray) -> np.ndarray:
    """The figure features among sorted feature indices."""
    return idx[int(np.searchsorted(idx, FIGURE_BASE)) :]


_HASH_CACHE: dict[str, int] = {}


def _accumulate(feats: dict[str, float]) -> tuple[list[int], list[float], float]:
    """Hashed indices (sorted), their summed weights and the L2 norm, in a fixed summation order."""
    hashes = _HASH_CACHE
    if len(hashes) >= _TOKEN_CACHE_MAX:
        hashes.clear()
    acc: dict[int, float] = {}
    for name, w in feats.items():
        h = hashes.get(name)
        if h is None:
            h = hashes[name] = _hash(name)
        acc[h] = acc.get(h, 0.0) + w
    norm = math.sqrt(sum(w * w for w in acc.values()))
    keys = sorted(acc)
    return keys, [acc[k] for k in keys], norm


def vectorize(
    text: str, links: tuple[str, ...] | list[str] = (), hashtags: tuple[str, ...] | list[str] = ()
) -> Vector:
    """The post's quantised, L2-normalised feature vector."""
    feats = features(text, links, hashtags)
    if not feats:
        return EMPTY
    keys, weights, norm = _accumulate(feats)
    idx = np.array(keys, dtype=np.int32)
    # np.rint rounds half to even like round(); same float operations, so the same integers.
    val = np.rint(SCALE * np.array(weights, dtype=np.float64) / norm).astype(np.int64)
    np.maximum(val, 1, out=val)
    return Vector(idx, val)


def analyse_many(
    posts: Sequence[tuple[str, Sequence[str], Sequence[str]]],
) -> list[tuple[Vector, int | None]]:
    """`(vectorize(text, links, hashtags), duplicate_key(text))` for many posts at once: the text is cleaned
    once for both, and the quantisation runs as one array operation for the whole batch."""
    out_dup: list[int | None] = []
    all_keys: list[int] = []
    all_w: list[float] = []
    norms: list[float] = []
    lens: list[int] = []
    for text, links, hashtags in posts:
        body, urls = split_urls(_RT_PREFIX.sub("", text or ""))
        out_dup.append(_duplicate_key(body))
        feats = _features(body, urls, links or (), hashtags or ())
        if not feats:
            lens.append(0)
            norms.append(1.0)
            continue
        keys, weights, norm = _accumulate(feats)
        all_keys += keys
        all_w += weights
        norms.append(norm)
        lens.append(len(keys))
    counts = np.array(lens, dtype=np.int64)
    idx = np.array(all_keys, dtype=np.int32)
    val = np.rint(SCALE * np.array(all_w, dtype=np.float64) / np.repeat(np.array(norms), counts)).astype(
        np.int64
    )
    np.maximum(val, 1, out=val)
    ends = np.cumsum(counts).tolist()
    out: list[tuple[Vector, int | None]] = []
    lo = 0
    for n, hi, dup in zip(lens, ends, out_dup, strict=True):
        out.append((Vector(idx[lo:hi], val[lo:hi]) if n else EMPTY, dup))
        lo = hi
    return out


_DUP_TOKEN = re.compile(r"[^\W_]+", re.U)
#: Short words a headline or sentence key keeps: negations change what is claimed. Other words of one or two
#: letters without a digit (prepositions, conjunctions, "РФ" after "Минобороны") are left out of those keys, as
#: channels add or drop them when they re-type a headline ("Минпросвещения РФ установило …").
_KEY_SHORT_KEPT = frozenset(("не", "ни", "no"))


def _key_words(toks: list[str]) -> list[str]:
    """Lower-cased tokens for a headline or sentence key, short words other than negations left out. (Tokens hold
    no space: lower-casing them joined is lower-casing each, at one call.)"""
    return [
        t for t in " ".join(toks).lower().split(" ") if len(t) > 2 or t in _KEY_SHORT_KEPT or not t.isalpha()
    ]


def duplicate_key(text: str) -> int | None:
    """A hash of the text with case, punctuation, links and an 'RT @user:' prefix removed; None when the text
    is too short for a copy to mean anything (a one-word post is not a near-duplicate of another)."""
    body, _ = split_urls(_RT_PREFIX.sub("", text or ""))
    return _duplicate_key(body)


def lead_key(text: str) -> int | None:
    """A hash of the text's first line (its headline) when it has at least 8 words: two channels that open
    with the same headline report the same thing, however differently they go on. None otherwise."""
    return _lead_key(_body(text))


def _body(text: str | None) -> str:
    """The text that copy keys read: an 'RT @user:' prefix and URLs gone."""
    return split_urls(_RT_PREFIX.sub("", text or ""))[0]


def _key64(data: bytes) -> int:
    """A signed 64-bit key of bytes (CRC-32 and Adler-32 side by side), as every copy key is stored."""
    return int.from_bytes(
        zlib.crc32(data).to_bytes(4, "big") + zlib.adler32(data).to_bytes(4, "big"), "big", signed=True
    )


def _lead_key(body: str) -> int | None:
    for line in body.splitlines():
        toks = _DUP_TOKEN.findall(line)
        if not toks:
            continue
        if len(toks) < 8:
            return None
        return _key64(("lead\x00" + " ".join(_key_words(toks[:40]))).encode("utf-8"))
    return None


#: Words a post that is all boilerplate needs for its whole text to be a copy key (a signature or a one-line call
#: is shorter; the advertisements channels repeat run to dozens of words).
WHOLE_COPY_WORDS = 20


_HASHTAG = re.compile(r"(?<![\w#])#([^\W_][\w]*)", re.U)


def hashtag_keys(text: str) -> tuple[int, ...]:
    """The keys of the hashtags a (cleaned) text carries, case folded, sorted and unique: what tag threads
    (`Params.thread_hours`) follow. A tag of digits alone (`#1`, `#2024`) names no topic and is left out."""
    if "#" not in (text or ""):
        return ()
    tags = {t.casefold() for t in _HASHTAG.findall(text) if not t.isdigit()}
    return tuple(sorted(_key64(b"#" + t.encode()) for t in tags))


def whole_copy_key(lines: Sequence) -> int | None:
    """The copy key of a post whose cleaned text is empty (every line its channel's boilerplate): `duplicate_key`
    of its whole text as published, markup and decoration gone (`lines` are `clean.Line`s), when it has at least
    `WHOLE_COPY_WORDS` words. An advertisement that one channel repeats so often that it is learned as
    boilerplate thus meets its copy in a sister channel, whether that copy is all boilerplate there too or not."""
    body, _ = split_urls(_RT_PREFIX.sub("", "\n".join(ln.text for ln in lines)))
    if len(_DUP_TOKEN.findall(body)) < WHOLE_COPY_WORDS:
        return None
    return _duplicate_key(body)


def _duplicate_key(body: str) -> int | None:
    # Channels append their own signature: the first 40 tokens decide, so a long post is read no further.
    toks: list[str] = []
    for m in _DUP_TOKEN.finditer(body):
        t = m.group()
        if len(t) > 1 or not t.isdigit():
            toks.append(t)
            if len(toks) == 40:
                break
    if len(toks) < 6:
        return None
    # Lower-casing the joined tokens is lower-casing each: the separator is a space, which no case rule reads
    # past (Greek final sigma included).
    return _key64(" ".join(toks).lower().encode("utf-8"))


#: Where one sentence ends and the next begins, besides a line break: a full stop, question or exclamation mark,
#: ellipsis or semicolon before a space, and a spaced dash (the attribution of a statement: "…, — Putin").
_SENTENCE_BREAKS = (". ", "! ", "? ", "… ", "; ", " — ", " – ")
#: Words a sentence needs to be a key: shorter ones ("Putin:", "Details:", "Air-raid alert in Kyiv") recur.
SENTENCE_WORDS = 8
#: The share of a post's words its main sentence holds: the post says that one thing (a statement and its
#: attribution), not a list of them.
MAIN_SHARE = 0.7


def sentence_keys(text: str) -> tuple[int | None, tuple[int, ...]]:
    """(main key, sentence keys) of a cleaned text: a hash of each sentence of at least `SENTENCE_WORDS` words
    (case, punctuation, links and list markers gone), sorted, and the key of the sentence that holds at least
    `MAIN_SHARE` of the text's words, if one does. A channel posting one statement ("Kyiv has more than once
    tried to strike Moscow, — Putin") and another listing it among the statements of the same press conference
    share that sentence: the main key of the one is a sentence key of the other (`Grouper._excerpt_events`).
    Words are counted between spaces, and a sentence is hashed from its word tokens only if it has enough of
    them: string methods rather than a regular expression over every text (25 against 31 µs a real post)."""
    return _sentence_keys(_body(text))


def copy_keys(text: str) -> tuple[int | None, tuple[int | None, tuple[int, ...]]]:
    """`(lead_key(text), sentence_keys(text))`, the text's prefix and URLs removed once for both."""
    body = _body(text)
    return _lead_key(body), _sentence_keys(body)


def _sentence_keys(body: str) -> tuple[int | None, tuple[int, ...]]:
    if body.count(" ") + body.count("\xa0") < SENTENCE_WORDS - 1:
        return None, ()  # too few words for any sentence to be a key
    body = body.replace("\xa0", " ")  # Russian typography puts a no-break space before a dash
    for brk in _SENTENCE_BREAKS:
        if brk in body:
            body = body.replace(brk, "\n")
    total = 0
    long: list[tuple[int, str]] = []
    for part in body.split("\n"):
        n = len(part.split())
        total += n
        if n >= SENTENCE_WORDS:
            long.append((n, part))
    main = None
    keys: set[int] = set()
    for n, part in long:
        toks = _DUP_TOKEN.findall(part)
        if len(toks) < SENTENCE_WORDS:
            continue  # words of punctuation or emoji alone
        key = _key64(("sentence\x00" + " ".join(_key_words(toks[:40]))).encode("utf-8"))
        keys.add(key)
        if n >= MAIN_SHARE * total:
            main = key
    return main, tuple(sorted(keys))


def title_of(text: str, limit: int = 120) -> str:
    """A one-line title: the first line (or sentence) of the text, shortened at a word boundary."""
    text = _RT_PREFIX.sub("", text or "").strip()
    for line in text.splitlines():
        line = line.strip()
        if len(_DUP_TOKEN.findall(line)) >= 2:
            text = line
            break
    text = re.sub(r"\s+", " ", text)
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"
