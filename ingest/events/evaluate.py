"""The grouping evaluation harness: CrisisLexT26-style event folders streamed in time order (storylines scored
with B-cubed against the folder labels) and same-story pair files (pairwise P/R/F1).

Both run the same `Grouper` the warehouse uses, in memory. Every figure comes with its throughput.

Held-out protocol: each data set is split in two by a hash of the item's id (`half="tune"` / `"heldout"`);
parameters were chosen on the tune half only, and the README reports both halves.
"""

from __future__ import annotations

import csv
import gzip
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ingest.events import rarity
from ingest.events.cluster import Grouper, Item, Params
from ingest.events.text import analyse_many, copy_keys, duplicate_key, hashtag_keys, vectorize

HALVES = ("all", "tune", "heldout")


def in_half(ident: str, half: str) -> bool:
    if half == "all":
        return True
    h = zlib.crc32(ident.encode()) % 2
    return (h == 0) if half == "tune" else (h == 1)


# ------------------------------------------------------------------------------------------------ metrics


def bcubed(pred: Mapping[Hashable, Hashable], gold: Mapping[Hashable, Hashable]) -> dict[str, float]:
    """B-cubed precision, recall and F1 (Bagga & Baldwin 1998) over the items both mappings hold."""
    items = [k for k in gold if k in pred]
    if not items:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "items": 0}
    joint: Counter = Counter((pred[k], gold[k]) for k in items)
    psize: Counter = Counter(pred[k] for k in items)
    gsize: Counter = Counter(gold[k] for k in items)
    p = sum(joint[(pred[k], gold[k])] / psize[pred[k]] for k in items) / len(items)
    r = sum(joint[(pred[k], gold[k])] / gsize[gold[k]] for k in items) / len(items)
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "items": len(items)}


def pairwise(decisions: Iterable[tuple[bool, bool]]) -> dict[str, float]:
    """Precision/recall/F1 of 'same' decisions against gold (pred, gold) pairs."""
    tp = fp = fn = tn = 0
    for pred, gold in decisions:
        if pred and gold:
            tp += 1
        elif pred:
            fp += 1
        elif gold:
            fn += 1
        else:
            tn += 1
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "precision": p,
        "recall": r,
        "f1": f,
        "pairs": tp + fp + fn + tn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


# ------------------------------------------------------------------------------------------------ CrisisLex


@dataclass
class Tweet:
    tweet_id: int
    ts: float
    text: str
    label: str


def read_crisislex(directory: Path, *, mask_keywords: bool = False) -> list[Tweet]:
    """Labelled tweets of every event folder under `directory`, with times from `tweet_times_utc.csv.gz`
    (tweets without a time are left out). `mask_keywords` blanks each event's collection keywords out of the
    text, to show how much of a score the collection's own keywords carry."""
    import json
    import re

    times: dict[int, float] = {}
    tfile = directory / "tweet_times_utc.csv.gz"
    with gzip.open(tfile, "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                times[int(row["tweet_id"])] = datetime.fromisoformat(
                    row["created_at_utc"].replace("Z", "+00:00")
                ).timestamp()
            except (KeyError, ValueError):
                continue
    pattern = None
    out: list[Tweet] = []
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        files = list(folder.glob("*-tweets_labeled.csv"))
        if not files:
            continue
        if mask_keywords:
            desc = next(folder.glob("*-event_description.json"), None)
            words = json.loads(desc.read_text(encoding="utf-8")).get("keywords", []) if desc else []
            pattern = (
                re.compile(
                    "|".join(
                        re.escape(w).replace(r"\ ", r"\s*") for w in sorted(words, key=len, reverse=True)
                    ),
                    re.I,
                )
                if words
                else None
            )
        with files[0].open(encoding="utf-8", errors="replace", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            for row in reader:
                if len(row) < 2:
                    continue
                try:
                    tid = int(row[0].strip().strip('"'))
                except ValueError:
                    continue
                if tid not in times:
                    continue
                text = row[1]
                if mask_keywords and pattern is not None:
                    text = pattern.sub(" ", text)
                out.append(Tweet(tid, times[tid], text, folder.name))
    out.sort(key=lambda t: (t.ts, t.tweet_id))
    return out


@dataclass
class GroupingScore:
    level: str
    metrics: dict[str, float]
    items: int
    seconds: float
    clusters: int
    extra: dict = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {"level": self.level, **self.metrics, "clusters": self.clusters, "items": self.items,
                "seconds": round(self.seconds, 3), "posts_per_second": round(self.per_second, 1), **self.extra}  # fmt: skip


def overlay(tweets: list[Tweet]) -> list[Tweet]:
    """Shift every event so that all start at the same instant: the crises then run concurrently and only the
    text can tell them apart (the original stream barely overlaps in time, which flatters any grouper)."""
    first: dict[str, float] = {}
    for t in tweets:
        first[t.label] = min(first.get(t.label, t.ts), t.ts)
    base = min(first.values()) if first else 0.0
    out = [Tweet(t.tweet_id, t.ts - first[t.label] + base, t.text, t.label) for t in tweets]
    out.sort(key=lambda t: (t.ts, t.tweet_id))
    return out


def eval_crisislex(
    directory: Path,
    params: Params | None = None,
    *,
    half: str = "all",
    mask_keywords: bool = False,
    overlaid: bool = False,
) -> dict[str, GroupingScore]:
    """Stream the tweets in time order through the grouper; score storylines and events against the labels."""
    tweets = [
        t for t in read_crisislex(directory, mask_keywords=mask_keywords) if in_half(str(t.tweet_id), half)
    ]
    if overlaid:
        tweets = overlay(tweets)
    t0 = time.perf_counter()
    analysed = analyse_many([(t.text, (), ()) for t in tweets])
    # CrisisLex's files name no author: each tweet counts as its own source (a keyword collection's tweets
    # come from about as many accounts), which is what the tag threads' "another source" reads.
    items = [
        Item(
            _tweet_key(t), t.ts, vec, dup=dup, lead=lead, main=main, sentences=sentences,
            tags=hashtag_keys(t.text),
        )
        for t, (vec, dup), (lead, (main, sentences)) in zip(
            tweets, analysed, map(copy_keys, (t.text for t in tweets)), strict=True
        )
    ]  # fmt: skip
    params = params or Params()
    items, _ = rarity.weigh(
        items, None, params.rarity_window_days, params.rarity_full_posts,
        params.anchor_df(), params.storyline_hot(),
    )  # fmt: skip
    g = Grouper(params)
    res = g.process(items)
    seconds = time.perf_counter() - t0
    gold = {_tweet_key(t): t.label for t in tweets}
    story = {a.key: g.storylines.resolve(_story_of(g, a.event)) for a in res.assignments}
    event = {a.key: g.events.resolve(a.event) for a in res.assignments}
    day_share = _max_day_share(tweets, event)
    return {
        "storyline": GroupingScore(
            "storyline", bcubed(story, gold), len(items), seconds, len(set(story.values()))
        ),
        "event": GroupingScore(
            "event",
            bcubed(event, gold),
            len(items),
            seconds,
            len(set(event.values())),
            {"max_day_share": day_share},
        ),
    }


def _tweet_key(t: Tweet) -> tuple[str, int, int]:
    return ("x", t.tweet_id, t.tweet_id)


def _story_of(g: Grouper, event_id: int) -> int:
    return g.events.clusters[g.events.resolve(event_id)].storyline


def _max_day_share(tweets: list[Tweet], event: Mapping, min_day_posts: int = 100) -> dict:
    """The largest share of one day's posts that a single event holds (days with >= min_day_posts posts)."""
    by_day: dict[int, Counter] = defaultdict(Counter)
    for t in tweets:
        by_day[int(t.ts // 86400)][event[_tweet_key(t)]] += 1
    worst = (0.0, None, 0)
    for day, c in by_day.items():
        n = sum(c.values())
        if n < min_day_posts:
            continue
        share = c.most_common(1)[0][1] / n
        if share > worst[0]:
            worst = (share, day, n)
    return {"share": round(worst[0], 4), "day_posts": worst[2], "min_day_posts": min_day_posts}


# ------------------------------------------------------------------------------------------------ pairs

LEAD_CHARS = 300  # an article is reduced to headline + lead, what a news channel's post carries


def read_pairs(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _article(title: str | None, text: str | None, lead: int) -> str:
    body = (text or "")[:lead] if lead else (text or "")
    return f"{title}\n{body}" if title else body


def eval_pairs(
    paths: Iterable[Path], params: Params | None = None, *, half: str = "all", lead: int = LEAD_CHARS
) -> GroupingScore:
    """Same-story decisions: both texts go through a fresh grouper (same time); same event = 'same story'."""
    decisions: list[tuple[bool, bool]] = []
    t0 = time.perf_counter()
    n = 0
    for path in paths:
        for k, row in enumerate(read_pairs(Path(path))):
            gold = (row.get("GOLDEN:quality") or "").strip().upper()
            if gold not in ("OK", "BAD"):
                continue
            ident = f"{Path(path).name}:{k}"
            if not in_half(ident, half):
                continue
            a = _article(row.get("INPUT:first_title"), row.get("INPUT:first_text"), lead)
            b = _article(row.get("INPUT:second_title"), row.get("INPUT:second_text"), lead)
            g = Grouper(params)
            items = [
                Item(("x", 1, 1), 0.0, vectorize(a), dup=duplicate_key(a)),
                Item(("x", 2, 2), 1.0, vectorize(b), dup=duplicate_key(b)),
            ]
            g.process(items)
            decisions.append((g.event_of(("x", 1, 1)) == g.event_of(("x", 2, 2)), gold == "OK"))
            n += 2
    seconds = time.perf_counter() - t0
    return GroupingScore("pairs", pairwise(decisions), n, seconds, 0)
