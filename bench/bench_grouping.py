"""Grouping speed, and the size of the largest event: N posts grouped from scratch, then an hourly increment of M
posts against the 72 h window, each run in a fresh scratch database; medians over --runs runs (the machine is
shared: read the spread, not one figure). Wall seconds, the client's CPU seconds and seconds per phase.

Two synthetic streams (for speed and event sizes, not quality: they carry no gold labels):

- `mixed` (default): EN/RU/UK posts from 500 channels over 72 h, with Zipf-distributed words (function words on
  top, news words among the first few hundred, then invented words) and 3,000 named entities with Zipf
  frequencies (real places on top, in each script: Kyiv/Киев/Київ is in ~10 % of the posts); 30 % of the posts
  are reports of N/20 stories (two entities, a number and key words, within 2 h of the story), 5 % forwards.
- `legacy`: the first generator (a place from a list of 15 in every post, a 14-syllable invented vocabulary
  whose consonant skeletons collide): its unrelated posts collapse into ~20 events of ~4,500 posts each, the
  worst case for exact scoring, kept for comparison.

And one real stream:

- `real`: the 20,091 real posts of 24 Telegram news channels in ../shared/data/telegram_news_ru, imported with
  `wirewatch import`; all but the last `--increment` posts (by time) grouped from scratch, then the rest as an
  hourly increment. Its baseline, measured in the same run on the same texts: scikit-learn TF-IDF over words and
  the cosine of every pair of posts within 72 h of each other (the plain building block of lexical grouping;
  no clustering, no database): the ratio says what wirewatch's cleaning, boilerplate learning, exact
  incremental clustering and warehouse writes cost over that.

    python -m bench grouping [--quick]
    .venv/bin/python -m bench.bench_grouping [--posts 100000] [--increment 5000] [--runs 3] [--stream mixed]
    .venv/bin/python -m bench.bench_grouping --stream real [--increment 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import os
import random
import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg

from bench.common import Report, scratch_db
from ingest.events import group_window
from ingest.models import Post, PostRef
from ingest.warehouse.event_reads import largest_event_share
from ingest.warehouse.loader import Loader

START = datetime(2026, 6, 23, tzinfo=timezone.utc)
HOURS = 72.0

# ------------------------------------------------------------------------------------------------ mixed stream

# Latin syllables and their Cyrillic spellings (Russian, Ukrainian): transliteration maps each back to Latin,
# so an invented name reads the same in every script, as real names do.
_LAT = "ka ri to me sa lo ne pu vi da ste gra mon tel bor zu fa shi chu yar dol kin pe ru ma no li te go ba sel dor vak tim pol har nel fi".split()  # fmt: skip
_RU = "ка ри то ме са ло не пу ви да сте гра мон тел бор зу фа ши чу яр дол кин пе ру ма но ли те го ба сел дор вак тим пол хар нел фи".split()  # fmt: skip
_UK = "ка рі то ме са ло не пу ві да сте гра мон тел бор зу фа ши чу яр дол кін пе ру ма но лі те го ба сел дор вак тім пол хар нел фі".split()  # fmt: skip
_PLACES = [
    ("Kyiv", "Киев", "Київ"), ("Odesa", "Одесса", "Одеса"), ("Kharkiv", "Харьков", "Харків"),
    ("Dnipro", "Днепр", "Дніпро"), ("Lviv", "Львов", "Львів"), ("Moscow", "Москва", "Москва"),
    ("Belgorod", "Белгород", "Бєлгород"), ("Kursk", "Курск", "Курськ"), ("Ankara", "Анкара", "Анкара"),
    ("Warsaw", "Варшава", "Варшава"), ("Berlin", "Берлин", "Берлін"), ("Paris", "Париж", "Париж"),
    ("Kherson", "Херсон", "Херсон"), ("Sumy", "Сумы", "Суми"), ("Zaporizhzhia", "Запорожье", "Запоріжжя"),
]  # fmt: skip
_FUNCTION = [
    "the of and to in a is that for on it with as was at by from be this are have has an not but or his they which were their its said will would been".split(),
    "и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было вот от меня еще нет о из ему".split(),
    "і в на з що не до та як у за це від по для про але його її ми ви вони він вона це цей ця ці був була було були також має".split(),
]  # fmt: skip
_NEWS = [
    "army drone strike missile port bridge plant energy grid talks summit sanctions minister president oil depot fire troops border city region".split(),
    "армия дрон удар ракета порт мост завод энергетика переговоры саммит санкции министр президент нефть склад пожар войска граница город область".split(),
    "армія дрон удар ракета порт міст завод енергетика переговори саміт санкції міністр президент нафта склад пожежа війська кордон місто область".split(),
]  # fmt: skip
_VOCAB = 20_000
_ENTITIES = 3_000


def _zipf_cum(n: int, s: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (r + 1) ** s for r in range(n)))


def _lexicon() -> tuple[list[list[str]], list[tuple[str, str, str]]]:
    """Per-language vocabularies (rank order) and entities (Latin, Russian, Ukrainian spelling), fixed."""
    rng = random.Random(1234)
    scripts = (_LAT, _RU, _UK)
    vocab = []
    for lang in range(3):
        words = list(_FUNCTION[lang])
        seen = set(words)
        while len(words) < _VOCAB:
            if 100 <= len(words) < 300 and len(words) % 10 == 0:  # news words at ranks 100, 110, ... 290
                words.append(_NEWS[lang][(len(words) - 100) // 10])
                continue
            w = "".join(scripts[lang][rng.randrange(len(_LAT))] for _ in range(rng.randint(2, 4)))
            if w not in seen:
                seen.add(w)
                words.append(w)
        vocab.append(words)
    entities = list(_PLACES)
    keys = set()
    while len(entities) < _ENTITIES:
        k = tuple(rng.randrange(len(_LAT)) for _ in range(rng.randint(2, 3)))
        if k not in keys:
            keys.add(k)
            entities.append(tuple("".join(s[j] for j in k).capitalize() for s in scripts))  # type: ignore[arg-type]
    return vocab, entities


def synth_mixed(n: int, start: datetime, hours: float, seed: int, first_id: int = 1) -> list[Post]:
    vocab, entities = _lexicon()
    wcum, ecum = _zipf_cum(_VOCAB, 1.05), _zipf_cum(_ENTITIES, 1.0)
    rng = random.Random(seed)

    def words(lang: int, k: int) -> list[str]:
        return [vocab[lang][bisect.bisect_left(wcum, rng.random() * wcum[-1])] for _ in range(k)]

    def entity() -> tuple[str, str, str]:
        return entities[bisect.bisect_left(ecum, rng.random() * ecum[-1])]

    stories = []
    for _ in range(max(1, n // 20)):
        common, rare = entity(), entities[rng.randrange(len(_PLACES), _ENTITIES)]
        keywords = [[vocab[lang][rng.randrange(20, 2000)] for _ in range(4)] for lang in range(3)]
        stories.append((common, rare, keywords, rng.randint(2, 999), rng.uniform(0, hours)))
    out: list[Post] = []
    for i in range(n):
        ch = rng.randrange(500)
        lang = rng.randrange(3)
        if rng.random() < 0.3:
            common, rare, keywords, num, t = rng.choice(stories)
            at = start + timedelta(hours=min(hours - 1e-3, max(0.0, t + rng.uniform(-2, 2))))
            kw = rng.sample(keywords[lang], rng.randint(3, 4))
            ws = [*words(lang, rng.randint(2, 8)), common[lang], *kw, str(num), rare[lang]]
            ws += words(lang, rng.randint(0, 8))
        else:
            at = start + timedelta(hours=rng.uniform(0, hours))
            ws = words(lang, rng.randint(8, 30))
            for _ in range(1 + (rng.random() < 0.3)):
                if rng.random() < 0.8:
                    ws.insert(rng.randrange(1, len(ws)), entity()[lang])
            if rng.random() < 0.5:
                ws.insert(rng.randrange(1, len(ws)), str(rng.randint(1, 10**6)))
        text = " ".join(ws)
        text = text[0].upper() + text[1:]
        fwd = None
        if out and rng.random() < 0.05:
            src = rng.choice(out[-200:])
            if src.posted_at < at:
                fwd = PostRef("telegram", src.channel_id, src.post_id, posted_at=src.posted_at)
                text = src.text
        out.append(Post(platform="telegram", channel_id=10_000 + ch, post_id=first_id + i, posted_at=at, text=text,
                        forwarded_from=fwd, source="bench"))  # fmt: skip
    return out


# ------------------------------------------------------------------------------------------------ legacy stream

WORDS_EN = "army drone strike missile port bridge plant energy grid talks summit sanctions minister president oil depot fire troops border city region".split()  # fmt: skip
WORDS_RU = "армия дрон удар ракета порт мост завод энергетика переговоры саммит санкции министр президент нефть склад пожар войска граница город область".split()  # fmt: skip
WORDS_UK = "армія дрон удар ракета порт міст завод енергетика переговори саміт санкції міністр президент нафта склад пожежа війська кордон місто область".split()  # fmt: skip
PLACES = "Kyiv Odesa Kharkiv Dnipro Lviv Moscow Belgorod Kursk Ankara Warsaw Berlin Paris Tikhoretsk Kherson Sumy".split()


def _vocab(rng: random.Random, syllables: list[str], k: int) -> list[str]:
    return ["".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(k)]


def synth_legacy(n: int, start: datetime, hours: float, seed: int, first_id: int = 1) -> list[Post]:
    rng = random.Random(seed)
    vocab = random.Random(99)
    langs = [
        WORDS_EN + _vocab(vocab, "ka ri to me sa lo ne pu vi da ste gra mon tel".split(), 6000),
        WORDS_RU + _vocab(vocab, "ка ри то ме са ло не пу ви да сте гра мон тел".split(), 6000),
        WORDS_UK + _vocab(vocab, "ка рі то ме са ло не пу ві да сте гра мон тел".split(), 6000),
    ]
    stories = [
        (rng.sample(PLACES, 2), rng.sample(WORDS_EN, 4), rng.randint(2, 999), rng.uniform(0, hours))
        for _ in range(max(1, n // 20))
    ]
    out: list[Post] = []
    for i in range(n):
        ch = rng.randrange(500)
        if rng.random() < 0.3:
            places, words, num, t = rng.choice(stories)
            at = start + timedelta(hours=min(hours - 1e-3, max(0.0, t + rng.uniform(-2, 2))))
            lang = rng.choice(langs)
            text = f"{places[0]}: {' '.join(rng.sample(lang, 5))} {num} {' '.join(words)} {places[1]}"
        else:
            at = start + timedelta(hours=rng.uniform(0, hours))
            lang = rng.choice(langs)
            text = (
                " ".join(rng.choices(lang[20:], k=rng.randint(8, 30)))
                + f" {rng.choice(PLACES)} {rng.randint(1, 10**6)}"
            )
        fwd = None
        if out and rng.random() < 0.05:
            src = rng.choice(out[-200:])
            if src.posted_at < at:
                fwd = PostRef("telegram", src.channel_id, src.post_id, posted_at=src.posted_at)
                text = src.text
        out.append(Post(platform="telegram", channel_id=10_000 + ch, post_id=first_id + i, posted_at=at, text=text,
                        forwarded_from=fwd, source="bench"))  # fmt: skip
    return out


STREAMS = {"mixed": synth_mixed, "legacy": synth_legacy}


# ------------------------------------------------------------------------------------------------ the runs


def one_run(stream: str, n: int, m: int, seed: int) -> dict:
    synth = STREAMS[stream]
    with scratch_db("ww_bench_grp") as dsn, psycopg.connect(dsn) as conn:
        Loader(conn).load(synth(n, START, HOURS, seed))
        conn.commit()
        conn.execute("ANALYZE posts")  # what autovacuum does after a bulk load; not timed
        conn.commit()
        t, c = time.perf_counter(), time.process_time()
        s1 = group_window(conn)
        full_s, full_cpu = time.perf_counter() - t, time.process_time() - c
        share = largest_event_share(conn)
        end = START + timedelta(hours=HOURS)
        Loader(conn).load(synth(m, end, 1.0, seed + 1, first_id=n + 1))
        conn.commit()
        t, c = time.perf_counter(), time.process_time()
        s2 = group_window(conn, since=end + timedelta(hours=1) - timedelta(hours=72))
        inc_s, inc_cpu = time.perf_counter() - t, time.process_time() - c
        conn.commit()
    if s1.posts != n or s2.posts != m or s2.mode != "incremental":
        raise RuntimeError(f"unexpected runs: {s1} {s2}")
    return {
        "full_s": full_s, "full_cpu_s": full_cpu, "full_phases": s1.phases, "events": s1.events_created,
        "increment_s": inc_s, "increment_cpu_s": inc_cpu, "increment_phases": s2.phases, "day_share": share,
    }  # fmt: skip


REAL = Path(os.environ.get("WIREWATCH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def real_run(m: int) -> dict:
    """The real stream: every post grouped from scratch; then, in a second database, all but the last m posts
    from scratch and the last m as an increment."""
    from ingest.run.imports import import_files
    from ingest.warehouse.event_reads import largest_window_shares

    with scratch_db("ww_bench_grp_real_all") as dsn, psycopg.connect(dsn) as conn:
        import_files(conn, [REAL / "telegram_news_ru"])
        conn.commit()
        conn.execute("ANALYZE posts")
        conn.commit()
        t, c = time.perf_counter(), time.process_time()
        s0 = group_window(conn)
        all_s, all_cpu = time.perf_counter() - t, time.process_time() - c
    with scratch_db("ww_bench_grp_real") as dsn, psycopg.connect(dsn) as conn:
        import_files(conn, [REAL / "telegram_news_ru"])
        conn.commit()
        conn.execute("ANALYZE posts")
        conn.commit()
        total = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        cut = conn.execute(
            "SELECT posted_at FROM posts ORDER BY posted_at DESC, channel_id DESC, post_id DESC OFFSET %s LIMIT 1",
            (m,),
        ).fetchone()[0]
        t, c = time.perf_counter(), time.process_time()
        s1 = group_window(conn, until=cut)
        full_s, full_cpu = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        s2 = group_window(conn)
        inc_s, inc_cpu = time.perf_counter() - t, time.process_time() - c
        shares = largest_window_shares(conn)
        texts = [r[0] for r in conn.execute("SELECT text FROM posts ORDER BY posted_at")]
        times = [r[0].timestamp() for r in conn.execute("SELECT posted_at FROM posts ORDER BY posted_at")]
    t = time.perf_counter()
    _tfidf_window_baseline(texts, times)
    base_s = time.perf_counter() - t
    return {
        "all_posts": s0.posts, "all_s": all_s, "all_cpu_s": all_cpu, "all_phases": s0.phases,
        "posts": total, "full_posts": s1.posts, "full_s": full_s, "full_cpu_s": full_cpu, "full_phases": s1.phases,
        "increment_posts": s2.posts, "increment_s": inc_s, "increment_cpu_s": inc_cpu,
        "increment_phases": s2.phases, "baseline_s": base_s, "shares": shares,
    }  # fmt: skip


def _tfidf_window_baseline(texts: list[str], times: list[float], window_s: float = 72 * 3600) -> int:
    """TF-IDF over words, then the cosine of every post with the posts of the next 72 h (sparse products in
    blocks): how many pairs reach 0.3."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(min_df=2, sublinear_tf=True).fit_transform(texts)
    ts = np.array(times)
    hits = 0
    for lo in range(0, len(texts), 2000):
        hi = min(len(texts), lo + 2000)
        right = int(np.searchsorted(ts, ts[hi - 1] + window_s, side="right"))
        sims = (x[lo:hi] @ x[lo:right].T).tocoo()
        keep = (sims.col + lo > sims.row + lo) & (sims.data >= 0.3)
        hits += int(keep.sum())
    return hits


def main_real(a: argparse.Namespace) -> None:
    if not (REAL / "telegram_news_ru").is_dir():
        print(f"  skipped: {REAL / 'telegram_news_ru'} not found (set WIREWATCH_SHARED_DATA)")
        return
    report = Report("grouping_real")
    runs = [real_run(a.increment) for _ in range(a.runs)]
    for n, r in enumerate(runs):
        report.add(run=n, all_s=round(r["all_s"], 2), all_cpu_s=round(r["all_cpu_s"], 2), full_s=round(r["full_s"], 2),
                   increment_s=round(r["increment_s"], 2), increment_cpu_s=round(r["increment_cpu_s"], 2),
                   baseline_s=round(r["baseline_s"], 2))  # fmt: skip
        print(f"    phases, every post from scratch: {r['all_phases']}")
        print(f"    phases from scratch: {r['full_phases']}")
        print(f"    phases of the increment: {r['increment_phases']}")
    every = statistics.median(r["all_s"] for r in runs)
    full = statistics.median(r["full_s"] for r in runs)
    inc = statistics.median(r["increment_s"] for r in runs)
    base = statistics.median(r["baseline_s"] for r in runs)
    r = runs[0]
    print(
        f"{r['all_posts']} real posts from scratch: median {every:.1f} s (target <= 20 s); TF-IDF window baseline "
        f"{base:.1f} s: ratio {every / base:.1f}x; runs {[round(x['all_s'], 1) for x in runs]}"
    )
    print(f"{r['full_posts']} real posts from scratch (before the increment): median {full:.1f} s")
    print(
        f"{r['increment_posts']}-post increment: median {inc:.2f} s (target <= 5 s); "
        f"runs {[round(x['increment_s'], 2) for x in runs]}, client CPU {[round(x['increment_cpu_s'], 2) for x in runs]}"
    )
    print(f"  client CPU, every post from scratch: {[round(x['all_cpu_s'], 1) for x in runs]}; load average now "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    for k, v in r["shares"].items():
        if v:
            print(f"{k}: {v['share']:.2%} ({v['posts']} of {v['total']} posts)")
    report.rows.append(
        {"median_all_s": every, "median_full_s": full, "median_increment_s": inc, "median_baseline_s": base}
    )
    print(f"  saved {report.save()}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--increment", type=int, default=5_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--stream", choices=[*sorted(STREAMS), "real"], default="mixed")
    ap.add_argument("--quick", action="store_true", help="20k posts, a 1k increment, one run (a smoke run)")
    a = ap.parse_args(argv)
    if a.quick:
        a.posts, a.increment, a.runs = 20_000, 1_000, 1
    if a.stream == "real":
        main_real(a)
        return
    print(f"grouping benchmark: {a.stream} stream, {a.posts:,} posts over {HOURS:.0f} h, then {a.increment:,} in "
          f"the next hour; {a.runs} run(s); load average at start {os.getloadavg()[0]:.1f}")  # fmt: skip
    report = Report(f"grouping_{a.stream}")
    runs = []
    for seed in range(a.runs):
        r = one_run(a.stream, a.posts, a.increment, seed)
        runs.append(r)
        sh = r["day_share"]
        report.add(
            run=seed, full_s=round(r["full_s"], 2), full_cpu_s=round(r["full_cpu_s"], 2),
            increment_s=round(r["increment_s"], 2), increment_cpu_s=round(r["increment_cpu_s"], 2),
            events=r["events"], largest_event_day_share=sh["share"] if sh else None,
        )  # fmt: skip
        print(f"    phases from scratch: {r['full_phases']}")
        print(f"    phases of the increment: {r['increment_phases']}")
    full = statistics.median(r["full_s"] for r in runs)
    inc = statistics.median(r["increment_s"] for r in runs)
    print(f"{a.posts} posts from scratch: median {full:.1f} s ({a.posts / full:,.0f} posts/s) over {a.runs} runs; "
          f"runs {[round(r['full_s'], 1) for r in runs]}, client CPU {[round(r['full_cpu_s'], 1) for r in runs]}")  # fmt: skip
    print(f"{a.increment}-post increment against the 72 h window: median {inc:.2f} s over {a.runs} runs; "
          f"runs {[round(r['increment_s'], 2) for r in runs]}, client CPU {[round(r['increment_cpu_s'], 2) for r in runs]}")  # fmt: skip
    shares = [r["day_share"] for r in runs if r["day_share"]]
    if shares:
        worst = max(shares, key=lambda s: s["share"])
        print(f"largest event: {worst['share']:.1%} of a day's posts ({worst['event_posts']} of {worst['day_posts']} "
              f"on {worst['day']}; target <= 5 %)")  # fmt: skip
    report.rows.append(
        {"median_full_s": full, "median_increment_s": inc, "posts": a.posts, "increment": a.increment}
    )
    print(f"  saved {report.save()}")


if __name__ == "__main__":
    main()
