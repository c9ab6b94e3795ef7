"""Text preparation for grouping on every core: boilerplate segments and cleaned, vectorised posts.

Both steps are pure functions of a post (and of its channel's boilerplate), so they run in worker processes a
chunk at a time while the order of the results stays that of the input; the groups are the same as one process
would make. Small batches (an hourly increment of a few hundred posts) and daemonic processes (which may not
have children) stay in-process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from ingest.events.clean import NONE, Boilerplate, Parsed, clean, parse, segments
from ingest.events.text import Vector, analyse_many, copy_keys, whole_copy_key

ChannelKey = tuple[str, int]
# (the parsed text, links, posted_at as epoch seconds, channel)
PostText = tuple[Parsed, Sequence[str], float, ChannelKey]
# vector, duplicate key, headline key, title, (main sentence key, sentence keys)
Prepared = tuple[Vector, int | None, int | None, str, tuple[int | None, tuple[int, ...]]]

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


def _map(fn: Callable[[Any], list], chunks: list, n: int) -> list:
    n_workers = workers()
    if n_workers < 2 or n < MIN_PARALLEL or multiprocessing.current_process().daemon:
        return [x for c in chunks for x in fn(c)]
    with ProcessPoolExecutor(n_workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return [x for part in pool.map(fn, chunks) for x in part]


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


def _prepare_chunk(args: tuple[list[PostText], Mapping[ChannelKey, Boilerplate]]) -> list[Prepared]:
    posts, boiler = args
    cleaned = [clean(parsed, boiler.get(ch, NONE), links, at) for parsed, links, at, ch in posts]
    # Hashtags count as they appear in the cleaned text: a channel's fixed tags went with its boilerplate.
    analysed = analyse_many([(c.text, c.links, ()) for c in cleaned])
    out: list[Prepared] = []
    for post, c, (vec, dup) in zip(posts, cleaned, analysed, strict=True):
        if c.text or len(vec):
            lead, sentences = copy_keys(c.text)
            out.append((vec, dup, lead, title_of(c.text) or _plain_title(post[0]), sentences))
        else:
            # All boilerplate (no text, no link left): nothing to match on but the whole text as published, so
            # that a long advertisement its channels repeat is one event with its copies elsewhere
            # (`whole_copy_key`; the grouper bounds such an event's span, `Grouper._linked_event`).
            out.append((vec, whole_copy_key(post[0].lines), None, _plain_title(post[0]), _NO_SENTENCES))
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


def prepare_all(posts: Sequence[PostText], boiler: Mapping[ChannelKey, Boilerplate]) -> list[Prepared]:
    """Each post cleaned of markup and its channel's boilerplate (as learned by its time) and vectorised."""
    chunks = []
    for i in range(0, len(posts), CHUNK):
        part = list(posts[i : i + CHUNK])
        chans = {p[3] for p in part}
        chunks.append((part, {c: b for c, b in boiler.items() if c in chans}))
    return _map(_prepare_chunk, chunks, len(posts))
