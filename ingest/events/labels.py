"""Score a grouped warehouse against hand-labelled post pairs (`wirewatch eval grouping --labels FILE.tsv`).

A labels file is a TSV with a header and the columns `channel_a post_a channel_b post_b label` (optionally a
`platform` column; Telegram otherwise), label `SAME` (same event), `STORY` (same storyline, another event) or
`DIFF`. A channel is its numeric id (also as the Bot API's `-100…` or a Desktop export's `channel…`) or its handle
(`@name` or `name`, current or past, looked up in the warehouse); blank lines and lines starting with `#` are skipped. Scores: event-level pair precision and recall (SAME against "in one event"), storyline recall over
SAME+STORY pairs, the share of DIFF pairs that share a storyline, how many labelled pairs are near-verbatim copies
and how many of those share an event, and the largest event and storyline shares of the grouped posts.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from ingest.events.clean import strip_markup
from ingest.normalize.telegram.fields import written_channel
from ingest.warehouse import event_reads as store
from ingest.warehouse.console import find_channel

LABELS = ("SAME", "STORY", "DIFF")
Key = tuple[str, int, int]


class LabelsError(ValueError):
    """A labels file that cannot be read (says which line and why)."""


@dataclass(frozen=True)
class LabelledPair:
    a: Key  # (platform, channel id, post id); the channel is a handle (str) until `resolve` looks it up
    b: Key
    label: str


def _channel(value: str | None) -> int | str:
    channel = written_channel(value)
    if channel is None:
        raise ValueError(f"channel {(value or '').strip()!r} is neither a numeric id nor a handle")
    return channel


def read_labels(path: Path) -> list[LabelledPair]:
    out: list[LabelledPair] = []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        need = {"channel_a", "post_a", "channel_b", "post_b", "label"}
        if not reader.fieldnames or not need <= set(reader.fieldnames):
            raise LabelsError(f"{path}: header must name the columns {' '.join(sorted(need))}")
        for n, row in enumerate(reader, start=2):
            first = (row.get(reader.fieldnames[0]) or "").strip()
            if first.startswith("#") or not any(
                (v or "").strip() for v in row.values() if isinstance(v, str)
            ):
                continue
            label = (row.get("label") or "").strip().upper()
            if label not in LABELS:
                raise LabelsError(f"{path}:{n}: label {row.get('label')!r} is not one of {', '.join(LABELS)}")
            platform = (row.get("platform") or "telegram").strip()
            try:
                a = (platform, _channel(row["channel_a"]), int(row["post_a"]))
                b = (platform, _channel(row["channel_b"]), int(row["post_b"]))
            except (TypeError, ValueError) as exc:
                raise LabelsError(
                    f"{path}:{n}: a channel is a numeric id or a handle, a post an integer id ({exc})"
                ) from exc
            out.append(LabelledPair(a, b, label))
    return out


_WORD = re.compile(r"[^\W_]+", re.U)


def _shingles(text: str) -> set[str]:
    """Word 3-shingles of the text with markup and URLs removed (independent of the grouping's cleaning)."""
    plain, _ = strip_markup(re.sub(r"https?://\S+|t\.me/\S+", " ", text or ""))
    words = [w.lower() for w in _WORD.findall(plain)]
    return {" ".join(words[i : i + 3]) for i in range(max(len(words) - 2, 0))}


def is_copy(text_a: str, text_b: str, threshold: float = 0.6) -> bool:
    """Near-verbatim: most of the shorter text's word 3-shingles appear in the other (a footer or emoji more or
    less does not matter)."""
    a, b = _shingles(text_a), _shingles(text_b)
    if len(a) < 4 or len(b) < 4:
        return False
    return len(a & b) / min(len(a), len(b)) >= threshold


@dataclass
class LabelScores:
    pairs: int = 0
    missing: int = 0  # pairs with a post not grouped in the warehouse
    counts: dict[str, int] = field(default_factory=dict)
    event_precision: float = 0.0
    event_recall: float = 0.0
    event_f1: float = 0.0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    storyline_recall: float = 0.0  # SAME+STORY pairs that share a storyline
    diff_sharing_storyline: float = 0.0  # DIFF pairs that share a storyline
    copies: int = 0  # labelled SAME pairs that are near-verbatim copies
    copies_together: float = 0.0
    # The counts behind the ratios, over the pairs whose posts are grouped (what pooling several files adds up).
    story_pairs: int = 0
    story_shared: int = 0
    diff_pairs: int = 0
    diff_shared: int = 0
    copies_joined: int = 0
    shares: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def _take_ratios(s: LabelScores) -> None:
    """Every ratio from its counts."""
    s.event_precision = _ratio(s.tp, s.tp + s.fp)
    s.event_recall = _ratio(s.tp, s.tp + s.fn)
    pr = s.event_precision + s.event_recall
    s.event_f1 = round(2 * s.event_precision * s.event_recall / pr, 4) if pr else 0.0
    s.storyline_recall = _ratio(s.story_shared, s.story_pairs)
    s.diff_sharing_storyline = _ratio(s.diff_shared, s.diff_pairs)
    s.copies_together = _ratio(s.copies_joined, s.copies)


#: The counts of `LabelScores` that add up over files, or over the parts of a cut stream (`pool`).
POOLED = (
    "pairs", "missing", "tp", "fp", "fn", "story_pairs", "story_shared", "diff_pairs", "diff_shared", "copies",
    "copies_joined",
)  # fmt: skip


def pool(scores: Iterable[Mapping[str, Any]]) -> LabelScores:
    """Several scores (`LabelScores.as_dict()`: of several label files, or of several warehouses) as one: their
    counts added and every ratio taken over the sums, not a mean of the ratios. The largest shares and the
    errors stay with each score."""
    out = LabelScores()
    for d in scores:
        for k in POOLED:
            setattr(out, k, getattr(out, k) + d[k])
        for label, n in d["counts"].items():
            out.counts[label] = out.counts.get(label, 0) + n
    _take_ratios(out)
    return out


def resolve(conn: psycopg.Connection, pairs: list[LabelledPair]) -> list[LabelledPair]:
    """Pairs with channels given by handle looked up in the warehouse (one it does not know stays a handle: the
    pair then counts as missing)."""
    names = {(k[0], k[1]) for p in pairs for k in (p.a, p.b) if isinstance(k[1], str)}
    if not names:
        return pairs
    ids = {name: find_channel(conn, *name) for name in names}  # a labels file names a few channels

    def key(k: Key) -> Key:
        return (k[0], ids.get((k[0], k[1])) or k[1], k[2]) if isinstance(k[1], str) else k

    return [LabelledPair(key(p.a), key(p.b), p.label) for p in pairs]


def score(conn: psycopg.Connection, pairs: list[LabelledPair], *, errors: bool = False) -> LabelScores:
    pairs = resolve(conn, pairs)
    events = store.partition(conn)
    stories = store.storyline_partition(conn)
    s = LabelScores(pairs=len(pairs))
    s.counts = {lab: sum(1 for p in pairs if p.label == lab) for lab in LABELS}
    texts = store.post_texts(conn, sorted({k for p in pairs for k in (p.a, p.b) if isinstance(k[1], int)}))
    tp = fp = fn = 0
    story_hit = story_all = diff_story = diff_all = copies = copies_hit = 0
    for p in pairs:
        if p.a not in events or p.b not in events:
            s.missing += 1
            continue
        same_event = events[p.a] == events[p.b]
        same_story = stories.get(p.a) == stories.get(p.b)
        gold = p.label == "SAME"
        tp += same_event and gold
        fp += same_event and not gold
        fn += gold and not same_event
        if p.label in ("SAME", "STORY"):
            story_all += 1
            story_hit += same_story
        else:
            diff_all += 1
            diff_story += same_story
        if gold and p.a in texts and p.b in texts and is_copy(texts[p.a][0], texts[p.b][0]):
            copies += 1
            copies_hit += same_event
        if errors and (same_event != gold):
            s.errors.append(
                {"label": p.label, "same_event": same_event, "a": p.a, "b": p.b,
                 "text_a": texts.get(p.a, ("", None))[0][:300], "text_b": texts.get(p.b, ("", None))[0][:300]}
            )  # fmt: skip
    s.tp, s.fp, s.fn = tp, fp, fn
    s.story_pairs, s.story_shared, s.diff_pairs, s.diff_shared = story_all, story_hit, diff_all, diff_story
    s.copies, s.copies_joined = copies, copies_hit
    _take_ratios(s)
    # Over the whole stream, over any 4-day window of at least 500 posts, and over the dense multi-channel
    # windows (at least 2,000 posts in 4 days, ~500 a day).
    s.shares = store.largest_window_shares(conn, days=4, min_posts=(500, 2000))
    return s
