"""Sample post pairs from ../shared/data/telegram_news_ru for hand labelling (SAME / STORY / DIFF).

Independent of wirewatch's grouping: the similarity used to stratify is scikit-learn's TF-IDF over lower-cased
word unigrams of the text with URLs, Markdown marks and each channel's most frequent last line removed
(a crude signature strip, so that pairs are not all "same channel footer"). Pairs are posts of two different
channels posted within 72 hours of each other. Strata by cosine: [0.6, 1], [0.35, 0.6), [0.2, 0.35),
[0.1, 0.2), and a uniform random stratum; the same number of pairs from each, drawn with a fixed seed.

Writes a work file with both texts (for the labellers, not committed) and prints stratum counts.
Usage: python scripts/sample_label_pairs.py OUT.jsonl [--per-stratum 100] [--seed 11]
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import re
from datetime import datetime
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "telegram_news_ru"
URL = re.compile(r"https?://\S+|t\.me/\S+")
MD = re.compile(r"[*_~`\[\]()]+")
STRATA = [(0.6, 1.01), (0.35, 0.6), (0.2, 0.35), (0.1, 0.2)]


def load() -> list[dict]:
    posts = []
    for f in sorted(DATA.glob("*.jsonl")):
        for line in f.open(encoding="utf-8"):
            r = json.loads(line)
            text = r.get("message") or ""
            if len(text.strip()) < 20:
                continue
            posts.append(
                {"channel": r["peer_id"]["channel_id"], "id": r["id"], "date": r["date"], "text": text}
            )
    return posts


def plain(posts: list[dict]) -> list[str]:
    last_lines = collections.Counter()
    for p in posts:
        lines = [x for x in p["text"].strip().splitlines() if x.strip()]
        if lines:
            last_lines[(p["channel"], lines[-1].strip())] += 1
    out = []
    for p in posts:
        lines = [x for x in p["text"].strip().splitlines() if x.strip()]
        if lines and last_lines[(p["channel"], lines[-1].strip())] >= 5:
            lines = lines[:-1]
        out.append(MD.sub(" ", URL.sub(" ", "\n".join(lines))).lower())
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--per-stratum", type=int, default=100)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    posts = load()
    ts = np.array([datetime.fromisoformat(p["date"]).timestamp() for p in posts])
    order = np.argsort(ts, kind="stable")
    posts = [posts[i] for i in order]
    ts = ts[order]
    X = TfidfVectorizer(min_df=2, max_df=0.2, sublinear_tf=True).fit_transform(plain(posts))
    ch = np.array([p["channel"] for p in posts])
    buckets: dict[int, list[tuple[int, int, float]]] = collections.defaultdict(list)
    random_pool: list[tuple[int, int, float]] = []
    n = len(posts)
    step = 2000
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        right = int(np.searchsorted(ts, ts[hi - 1] + 72 * 3600, side="right"))
        S = (X[lo:hi] @ X[lo:right].T).toarray()
        for i in range(hi - lo):
            gi = lo + i
            js = np.arange(gi + 1, right)
            if not len(js):
                continue
            js = js[(ts[js] - ts[gi] <= 72 * 3600) & (ch[js] != ch[gi])]
            sims = S[i, js - lo]
            for k, (a0, b0) in enumerate(STRATA):
                sel = js[(sims >= a0) & (sims < b0)]
                for j in sel:
                    buckets[k].append((gi, int(j), float(S[i, j - lo])))
            if len(js) and rnd.random() < 0.05:
                j = int(rnd.choice(list(js)))
                random_pool.append((gi, j, float(S[i, j - lo])))
    chosen = []
    for k in range(len(STRATA)):
        pool = buckets[k]
        print(f"stratum {STRATA[k]}: {len(pool)} candidate pairs")
        chosen += [(k, *x) for x in rnd.sample(pool, min(a.per_stratum, len(pool)))]
    print(f"random stratum: {len(random_pool)} candidate pairs")
    chosen += [(len(STRATA), *x) for x in rnd.sample(random_pool, min(a.per_stratum, len(random_pool)))]
    rnd.shuffle(chosen)
    with a.out.open("w", encoding="utf-8") as f:
        for n_, (k, i, j, s) in enumerate(chosen):
            pa, pb = posts[i], posts[j]
            f.write(
                json.dumps(
                    {
                        "pair": n_,
                        "stratum": k,
                        "sim": round(s, 3),
                        "channel_a": pa["channel"],
                        "post_a": pa["id"],
                        "date_a": pa["date"],
                        "text_a": pa["text"],
                        "channel_b": pb["channel"],
                        "post_b": pb["id"],
                        "date_b": pb["date"],
                        "text_b": pb["text"],
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    print(f"wrote {len(chosen)} pairs to {a.out}")


if __name__ == "__main__":
    main()
