"""Text preparation for grouping on every core: boilerplate segments and cleaned, vectorised posts.

Both steps are pure functions of a post (and of its channel's boilerplate), so they run in worker processes a
chunk at a time while the order of the results stays that of the input; the groups are the same as one process
would make. Small batches (an hourly increment of a few hundred posts) and daemonic processes (which may not
have children) stay in-process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from ingest.events.clean import NONE, Boilerplate, Parsed, clean, parse, segments
from ingest.events.text import Vector, analyse_many, copy_keys, hashtag_keys, whole_copy_key

ChannelKey = tuple[str, int]
# (the parsed text, or the text to parse; links, posted_at as epoch seconds, channel)
PostText = tuple[Parsed | str, Sequence[str], float, ChannelKey]
# vector, duplicate key, headline key, title, (main sentence key, sentence keys), hashtag keys
Prepared = tuple[Vector, int | None, int | None, str, tuple[int | None, tuple[int, ...]], tuple[int, ...]]

TITLE_CHARS = 160  # as events.title has always been cut

CHUNK = 1000
# Below this many posts the pool costs more than it saves: it forks the grouping process and pickles every parsed
# text to a worker and every vector back. Measured on the 2-core box (2026-12-06, `bench.bench_grouping`): in one
# process the real stream's 5k increment took 3.33 s (median of 3) against 4.04 s with two workers, its 20k posts
# from scratch 13.1 s against 14.5 s, the synthetic 5k increment 5.23 s against 5.64 s; only the synthetic 100k
# regroup gained from the workers, and little (vectorising 7.5 s in one process against 6.1 s).
MIN_PARALLEL = 50_000


def workers() -> int:
    """How many cores grouping may use (WIREWATCH_GROUP_WORKERS, else up to 2)."""
    env = os.environ.get("WIREWATCH_GROUP_WORKERS")
    if env:
        return max(1, int(env))
    return min(2, os.cpu_count() or 1)


#: From this many posts a run with no stored state to load prepares them in worker processes anyway
#: (`prepare_chunks`): there the pickling is hidden behind scoring the posts already prepared. The real stream's
#: 20,091 posts from scratch (`bench.bench_grouping --stream real`, alternated): 16.9, 14.0, 13.6 s prepared first
#: in one process, 10.9, 10.6, 10.8 s side by side with two workers, the same groups.
MIN_STREAMED = 10_000


def parallel(n: int, minimum: int | None = None) -> bool:
    """Whether `n` posts are prepared in worker processes (from `minimum` posts on, MIN_PARALLEL by default)."""
    return (
        workers() >= 2
        and n >= (MIN_PARALLEL if minimum is None else minimum)
        and not multiprocessing.current_process().daemon
    )


def _pool() -> ProcessPoolExecutor:
    """Worker processes, one a core (`workers`), forked: they inherit the texts' modules and tables."""
    return ProcessPoolExecutor(workers(), mp_context=multiprocessing.get_context("fork"))


def _map(fn: Callable[[Any], list], chunks: list, n: int) -> list:
    if not parallel(n):
        return [x for c in chunks for x in fn(c)]
    with _pool() as pool:
        return [x for part in pool.map(fn, chunks) for x in part]


#: From this many posts a run that loads stored groups has worker processes prepare its posts while it reads
#: them (`Preparing`): the fork and the pickling are hidden behind reading the open events and storylines.
MIN_BESIDE = 1000


class Preparing:
    """Each post cleaned of markup and its channel's boilerplate (as learned by its time) and vectorised, in
    order (`result`). With `beside` (ask `parallel(n, MIN_BESIDE)`) worker processes start on entering, so that
    the caller can read the warehouse meanwhile, and stop on leaving (Ctrl-C included); else the posts are
    prepared when `result` is asked for (in workers for a run of `MIN_PARALLEL` posts or more)."""

    def __init__(self, posts: Sequence[PostText], boiler: Mapping[ChannelKey, Boilerplate], *, beside: bool):
        self._chunks = _chunks(posts, boiler)
        self._n = len(posts)
        self._beside = beside
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list = []

    def __enter__(self) -> Preparing:
        if self._beside:
            # Every core, though the caller works meanwhile: a real increment's read of the stored groups is
            # short, and one worker then left a core idle (its 5,000 posts: 3.80 s with one, 3.41 s with two).
            self._pool = _pool()
            self._futures = [self._pool.submit(_prepare_chunk, c) for c in self._chunks]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def result(self) -> list[Prepared]:
        if self._pool is None:
            return _map(_prepare_chunk, self._chunks, self._n)
        return [x for f in self._futures for x in f.result()]


def prepare_chunks(
    posts: Sequence[PostText], boiler: Mapping[ChannelKey, Boilerplate]
) -> Iterator[list[Prepared]]:
    """`Preparing`'s results a chunk of `CHUNK` posts at a time, in order, as the worker processes finish them,
    for a run that scores its first posts while later ones are still being prepared (the caller has asked
    `parallel` whether workers may start). Workers at a lower priority, niceness 10, made no measurable difference
    to the 100k synthetic regroup (56.3 and 57.3 s against 52.1 and 60.3 s, alternated)."""
    chunks = _chunks(posts, boiler)
    pool = _pool()
    try:
        yield from pool.map(_prepare_chunk, chunks)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _parse_chunk(texts: list[str]) -> list[tuple[Parsed, dict[int, str]]]:
    out = []
    for t in texts:
        parsed = parse(t)
        out.append((parsed, segments(parsed)))
    return out


def parse_all(texts: Sequence[str]) -> list[tuple[Parsed, dict[int, str]]]:
    """Every text parsed once (`clean.parse`), with its boilerplate segments, in order: counting boilerplate
    and cleaning both read the parsed form."""
    chunks = [list(texts[i : i + CHUNK]) for i in range(0, len(texts), CHUNK)]
    return _map(_parse_chunk, chunks, len(texts))


def _segments_chunk(texts: list[str]) -> list[dict[int, str]]:
    return [segments(parse(t)) for t in texts]


def segments_all(texts: Sequence[str]) -> list[dict[int, str]]:
    """Every text's boilerplate segments (`clean.segments`), in order, without the parsed texts: for a run whose
    workers parse again when they prepare (`prepare_chunks` of texts). Measured on 5,000 real posts: a parsed
    text with its segments takes the grouping process 14.9 µs to unpickle and 9.1 µs to send back, the segments
    alone 2.8 µs."""
    chunks = [list(texts[i : i + CHUNK]) for i in range(0, len(texts), CHUNK)]
    return _map(_segments_chunk, chunks, len(texts))


def _prepare_chunk(args: tuple[list[PostText], Mapping[ChannelKey, Boilerplate]]) -> list[Prepared]:
    posts, boiler = args
    # A post may come as its text, to be parsed here (`segments_all`), rather than parsed.
    posts = [p if isinstance(p[0], Parsed) else (parse(p[0]), *p[1:]) for p in posts]
    cleaned = [clean(parsed, boiler.get(ch, NONE), links, at) for parsed, links, at, ch in posts]
    # Hashtags count as they appear in the cleaned text: a channel's fixed tags went with its boilerplate.
    analysed = analyse_many([(c.text, c.links, ()) for c in cleaned])
    out: list[Prepared] = []
    for post, c, (vec, dup) in zip(posts, cleaned, analysed, strict=True):
        if c.text or len(vec):
            lead, sentences = copy_keys(c.text)
            title = title_of(c.text) or _plain_title(post[0])
            out.append((vec, dup, lead, title, sentences, hashtag_keys(c.text)))
        else:
            # All boilerplate (no text, no link left): nothing to match on but the whole text as published, so
            # that a long advertisement its channels repeat is one event with its copies elsewhere
            # (`whole_copy_key`; the grouper bounds such an event's span, `Grouper._linked_event`).
            out.append((vec, whole_copy_key(post[0].lines), None, _plain_title(post[0]), _NO_SENTENCES, ()))
    return out


_NO_SENTENCES: tuple[int | None, tuple[int, ...]] = (None, ())


def _plain_title(parsed: Parsed) -> str:
    """The title of a post that is all boilerplate (it stays alone in its event): its first line without markup
    and decoration."""
    return parsed.lines[0].text[:TITLE_CHARS] if parsed.lines else ""


def title_of(cleaned: str) -> str:
    """A cleaned text's title: its first non-blank line, cut to TITLE_CHARS ('' when nothing is left)."""
    for line in cleaned.splitlines():
        line = line.strip()
        if line:
            return line[:TITLE_CHARS]
    return ""


def _chunks(
    posts: Sequence[PostText], boiler: Mapping[ChannelKey, Boilerplate]
) -> list[tuple[list[PostText], dict[ChannelKey, Boilerplate]]]:
    """The posts `CHUNK` at a time, each with the boilerplate of its channels only."""
    chunks = []
    for i in range(0, len(posts), CHUNK):
        part = list(posts[i : i + CHUNK])
        chans = {p[3] for p in part}
        chunks.append((part, {c: b for c, b in boiler.items() if c in chans}))
    return chunks
