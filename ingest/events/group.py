"""Group the warehouse's posts into events and storylines: `group_window(conn, since, until)`.

A run groups only what is new: posts of the window with no event_posts row, or whose content_hash changed (an
edit). When they are all later than everything grouped so far (the usual hourly case) the open events and
storylines are loaded as stored and the new posts stream through the `Grouper`. When one of them is older (a
late arrival or an edit), the run replays: everything grouped from that post's time on is undone (assignments,
merges, events created since), the state just before it is rebuilt from the stored post vectors, and every
post from then on is grouped again in order. Either way the groups equal those of one full regroup of the same
posts; re-created events keep their old ids where their posts overlap.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
import psycopg

from ingest.events import prepare, rarity
from ingest.events.boilerplate import boilerplate_of
from ingest.events.boilerplate import learn as learn_boilerplate
from ingest.events.clean import Boilerplate, Parsed
from ingest.events.cluster import Cluster, Grouper, Item, Params, RunResult, note_holder
from ingest.events.prepare import Prepared, parse_all
from ingest.events.records import Key
from ingest.events.sums import Level
from ingest.events.text import Vector, vectorize
from ingest.events.threads import SCAN
from ingest.warehouse import event_replay as replay
from ingest.warehouse import event_writes as writes
from ingest.warehouse import events as store
from ingest.warehouse import rarity_days

log = logging.getLogger(__name__)

_EPOCH_MIN = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class GroupStats:
    mode: str  # noop | incremental | replay | full
    posts: int = 0
    events_created: int = 0
    events_merged: int = 0
    storylines_created: int = 0
    storylines_merged: int = 0
    replayed_from: datetime | None = None
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase of the run

    def as_dict(self) -> dict:
        return asdict(self)


def _ts(dt: datetime) -> float:
    return dt.timestamp()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def _cluster(row: store.ClusterRow, *, event: bool) -> Cluster:
    """A stored event or storyline as a Cluster."""
    i = np.asarray(row.centroid_idx, dtype=np.int32)
    v = np.asarray(row.centroid_val, dtype=np.int64)
    key = (row.first_platform, row.first_channel_id, row.first_post_id)
    return Cluster(
        row.id, row.first_ts, row.last_ts, key, row.post_count, i, v, int(np.dot(v, v)),
        storyline=row.storyline_id if event else None,
    )  # fmt: skip


def _refs(row: store.PostRow) -> tuple[tuple[str, tuple], ...]:
    platform, channel_id = row.platform, row.channel_id
    fwd_platform, fwd_channel, fwd_post = row.fwd_platform, row.fwd_channel_id, row.fwd_post_id
    rp_channel, rp_post = row.reposted_channel_id, row.reposted_post_id
    q_channel, q_post = row.quoted_channel_id, row.quoted_post_id
    reply_channel, reply_post = row.reply_to_channel_id, row.reply_to_post_id
    refs: list[tuple[str, tuple]] = []
    if fwd_channel is not None and fwd_post is not None:
        refs.append(("forward", (fwd_platform or "telegram", fwd_channel, fwd_post)))
    if rp_channel is not None and rp_post is not None:
        refs.append(("repost", (platform, rp_channel, rp_post)))
    if q_channel is not None and q_post is not None:
        refs.append(("quote", (platform, q_channel, q_post)))
    # A channel replying to its own post is following up on the same story; replies to others may drift.
    if reply_post is not None and (reply_channel is None or reply_channel == channel_id):
        refs.append(("reply", (platform, channel_id, reply_post)))
    return tuple(refs)


def _post_texts(rows: Sequence[store.PostRow], parsed: Sequence[Parsed]) -> list[prepare.PostText]:
    """Rows of `store.posts_to_group` with their parsed texts, as `ingest.events.prepare` takes them."""
    return [
        (t, r.links or (), _ts(r.posted_at), (r.platform, r.channel_id))
        for r, t in zip(rows, parsed, strict=True)
    ]


def _items(rows: Sequence[store.PostRow], prepared: Sequence[Prepared]) -> tuple[list[Item], dict[Key, str]]:
    """Rows of `store.posts_to_group` with their prepared texts (cleaned of markup and the channel's boilerplate,
    then vectorised: `ingest.events.prepare`) -> items; and each post's cleaned title, which the grouping itself
    never reads."""
    items = [_item(r, p) for r, p in zip(rows, prepared, strict=True)]
    titles = {it.key: p[3] for it, p in zip(items, prepared, strict=True)}
    return items, titles


def _item(r: store.PostRow, prepared: Prepared) -> Item:
    vec, dup, lead, _title, (main, sentences), tags = prepared
    return Item(
        (r.platform, r.channel_id, r.post_id), _ts(r.posted_at), vec, _refs(r), dup, r.content_hash, lead,
        main=main, sentences=sentences, tags=tags,
    )  # fmt: skip


#: A run that grouped this many posts refreshes the planner's statistics of the group tables before it returns:
#: after a full regroup, the next hourly increment otherwise reads with plans made for the tables' old sizes
#: (its summaries took 0.51 s instead of 0.31 s after 100k posts).
ANALYZE_AFTER_POSTS = 20_000


def group_window(
    conn: psycopg.Connection,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    params: Params | None = None,
    full: bool = False,
) -> GroupStats:
    """Group the new and edited posts of [since, until) (None: unbounded) and commit. `full` regroups every
    post from `since` on. A change of parameters since the last run forces a full regroup."""
    params = params or Params()
    started = time.perf_counter()
    with conn.transaction():
        store.lock(conn)
        stored, _ = store.get_state(conn)
        if stored is not None and stored != params.fingerprint() and store.has_groups(conn):
            log.warning(
                "grouping parameters changed (%s -> %s): regrouping everything", stored, params.fingerprint()
            )
            full, since = True, None
        with fewer_collections():
            stats = _run(conn, since, until, params, full)
        store.set_state(conn, params.fingerprint())
    if stats.posts >= ANALYZE_AFTER_POSTS:
        store.analyze(conn)
        conn.commit()
    stats.seconds = time.perf_counter() - started
    return stats


#: The cyclic collector's thresholds while a run groups (see `fewer_collections`).
GROUPING_GC_THRESHOLDS = (200_000, 10, 10)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect reference cycles less often while a run groups, then as before. A run allocates millions of
    small objects (parsed lines, vectors, candidate lists, each open event's members) while its state stays
    alive, and Python's default (a young collection every 700 allocations, survivors walked again and again)
    spent ~13 % of the 100k synthetic regroup's client CPU walking them (47.3 → 41.4 s, one run each, the
    groups identical). What a run builds holds few cycles; those it does are collected at the run's end."""
    before = gc.get_threshold()
    if before[0] >= GROUPING_GC_THRESHOLDS[0]:
        yield  # a bulk command tuned the collector already (`ingest.run.bulk`)
        return
    gc.set_threshold(*GROUPING_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


class _Clock:
    """Seconds spent per phase of a run (reported in GroupStats.phases and by the benchmark)."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self.t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = round(self.phases.get(name, 0.0) + now - self.t, 4)
        self.t = now


def _run(conn: psycopg.Connection, since, until, params: Params, full: bool) -> GroupStats:
    clock = _Clock()
    old: dict = {}
    if full:
        t0 = since or _EPOCH_MIN  # no post predates 2006 (check_post refuses them)
        old = replay.rewind(conn, t0)
        mode = "full"
        ref_time = t0
        only_dirty = False
    else:
        first, n = store.dirty_posts(conn, since, until)
        if not n:
            return GroupStats("noop")
        hw = store.high_water(conn)
        if hw is None or first > hw:
            mode, t0, only_dirty = "incremental", None, True
        else:
            mode, t0, only_dirty = "replay", first[0], False
            old = replay.rewind(conn, t0)
        ref_time = first[0]

    clock.lap("select")
    rows = list(store.posts_to_group(conn, since, until, only_dirty=only_dirty, t0=t0))
    clock.lap("read")
    # With no stored groups to load (a first grouping, a regroup from the start) and posts enough for worker
    # processes, the run scores its first posts while the workers still prepare the later ones.
    stateless = not (store.has_groups(conn) or store.has_redirects(conn))
    pipelined = stateless and prepare.parallel(len(rows), prepare.MIN_STREAMED)
    if pipelined:
        rows.sort(key=_row_order)  # the scoring order (`Item.order`), which the chunks must come in
    texts = [r.text or "" for r in rows]
    if pipelined:
        # Only the segments come back from the workers; those that prepare parse the texts again.
        parsed, segs = (), prepare.segments_all(texts)
    else:
        parsed, segs = zip(*parse_all(texts), strict=True) if rows else ((), ())
    learn_boilerplate(conn, rows, segs)
    boiler = boilerplate_of(conn, {(r.platform, r.channel_id) for r in rows})
    clock.lap("boilerplate")
    g = _grouper(conn, params)
    stats = GroupStats(mode, posts=len(rows), replayed_from=t0 if mode != "incremental" else None)
    stats.phases = clock.phases
    if pipelined:
        result, titles = _score_as_prepared(conn, g, rows, texts, boiler, params)
        clock.lap("group")  # preparing, weighing and scoring, side by side
    else:
        # With stored groups to load, worker processes prepare the posts while this one reads the open events
        # and storylines: neither needs the other.
        beside = not stateless and prepare.parallel(len(rows), prepare.MIN_BESIDE)
        with prepare.Preparing(_post_texts(rows, parsed), boiler, beside=beside) as pending:
            if beside:
                _load_clusters(conn, g, params, ref_time)
                clock.lap("state")
            items, titles = _items(rows, pending.result())
        clock.lap("vectorise")
        items, day_tags = _weigh(conn, items, params)
        clock.lap("rarity")
        if not items:
            return stats
        if not stateless:
            if not beside:
                _load_clusters(conn, g, params, ref_time)
            _load_lookups(conn, g, items, params, ref_time, day_tags)
        clock.lap("state")
        result = g.process(items)
        clock.lap("group")
    _write(conn, g, result, old, clock, titles)
    stats.events_created = len(result.events_created)
    stats.storylines_created = len(result.storylines_created)
    stats.events_merged = sum(1 for m in result.merges if m.level == "event")
    stats.storylines_merged = sum(1 for m in result.merges if m.level == "storyline")
    return stats


def _row_order(r: store.PostRow) -> tuple:
    return (_ts(r.posted_at), (r.platform, r.channel_id, r.post_id))


def _score_as_prepared(
    conn: psycopg.Connection,
    g: Grouper,
    rows: Sequence[store.PostRow],
    texts: Sequence[str],
    boiler: Mapping[tuple[str, int], Boilerplate],
    params: Params,
) -> tuple[RunResult, dict[Key, str]]:
    """The run's posts prepared by the workers a chunk at a time, weighed (`rarity.StreamWeigher`) and scored as
    the chunks come, in `rows`' order (the scoring order). The same items, weights and buckets as preparing all,
    weighing all (`_weigh`) and then scoring: only what runs beside what changes."""
    titles: dict[Key, str] = {}
    weigher = None
    own_days: set[int] = set()
    counted: set[int] = set()
    tags: dict[int, set[tuple[int, str, int]]] = {}
    if params.rarity_window_days:
        own_days = {rarity.day_of(_ts(r.posted_at)) for r in rows}
        earlier, counted, stored_tags = _stored_days(conn, own_days, params)
        tags = _uses_to_save(stored_tags, own_days | counted)
        weigher = rarity.StreamWeigher(earlier, *_rarity_args(params))
    posts = [
        (t, r.links or (), _ts(r.posted_at), (r.platform, r.channel_id))
        for r, t in zip(rows, texts, strict=True)
    ]

    def chunks() -> Iterator[list[Item]]:
        start = 0
        for part in prepare.prepare_chunks(posts, boiler):
            items = [_item(r, p) for r, p in zip(rows[start : start + len(part)], part, strict=True)]
            start += len(part)
            titles.update((it.key, p[3]) for it, p in zip(items, part, strict=True))
            if weigher is None:
                yield items
            else:
                _add_tags(tags, items)
                yield weigher.weigh(items)

    result = g.process_chunks(chunks(), len(rows))
    if weigher is not None:
        _save_days(conn, weigher.counts(), own_days | counted, tags)
    return result, titles


def _grouper(conn: psycopg.Connection, params: Params) -> Grouper:
    """A grouper for one run: new ids are temporary (negative) until the run's writes, and events and storylines
    it needs that the state did not load are read from the warehouse."""
    temp = {"e": 0, "s": 0}

    def new_event() -> int:
        temp["e"] -= 1
        return temp["e"]

    def new_storyline() -> int:
        temp["s"] -= 1
        return temp["s"]

    def load_event(eid: int) -> Cluster | None:
        rows = list(store.events_by_id(conn, [eid]))
        return _cluster(rows[0], event=True) if rows else None

    def load_storyline(sid: int) -> Cluster | None:
        rows = list(store.open_storylines(conn, datetime.max.replace(tzinfo=timezone.utc), [sid]))
        return _cluster(rows[0], event=False) if rows else None

    return Grouper(
        params, new_event_id=new_event, new_storyline_id=new_storyline, load_event=load_event,
        load_storyline=load_storyline,
    )  # fmt: skip


def _weigh(
    conn: psycopg.Connection, items: list[Item], params: Params
) -> tuple[list[Item], dict[int, rarity_days.DayTags]]:
    """The items with the event level's rarity weights (`ingest.events.rarity`), counted over the posts of the
    days before each post's day: those grouped before the run (stored per day) and the run's own; and the
    hashtag uses of those days by the posts grouped before the run, read with the counts (tag threads' rubric
    memory, `_load_lookups`). The days the run grouped posts on, and those just counted, are stored for the next
    run, with their hashtag uses."""
    if not params.rarity_window_days or not items:
        # Without the window the rubric test reads the post's own day alone (`Params.thread_days`): a channel
        # has one day at most, and no decision of `TagThreads.holders` then depends on the posts grouped before
        # the run that day, so no stored day is needed.
        return items, {}
    own_days = {rarity.day_of(it.ts) for it in items}
    earlier, counted, tags = _stored_days(conn, own_days, params)
    weighted, counts = rarity.weigh(items, earlier, *_rarity_args(params))
    saved = _uses_to_save(tags, own_days | counted)
    _add_tags(saved, items)
    _save_days(conn, counts, own_days | counted, saved)
    return weighted, tags


def _stored_days(
    conn: psycopg.Connection, own_days: set[int], params: Params
) -> tuple[dict[int, rarity.DayCounts], set[int], dict[int, rarity_days.DayTags]]:
    """The stored counts of the days that weigh a run's posts of `own_days` (and of those days themselves),
    which of them were just counted from the warehouse's posts (they are saved with the run's own), and their
    hashtag uses."""
    needed = set(rarity.needed_days(own_days, params.rarity_window_days)) | own_days
    stored, counted, tags = rarity_days.grouped_days(conn, needed)
    return {d: rarity.DayCounts(*c) for d, c in stored.items()}, counted, tags


def _rarity_args(params: Params) -> tuple:
    """(window days, full posts, anchor df, hot) as `rarity.weigh` and `rarity.StreamWeigher` take them."""
    return params.rarity_window_days, params.rarity_full_posts, params.anchor_df(), params.storyline_hot()


def _uses_to_save(
    tags: Mapping[int, rarity_days.DayTags], days: set[int]
) -> dict[int, set[tuple[int, str, int]]]:
    """The stored hashtag uses of the days a run will save (`_save_days`), which its own posts' are added to."""
    return {d: rarity_days.uses_of(tags[d]) for d in days}


def _add_tags(tags: dict[int, set[tuple[int, str, int]]], items: Iterable[Item]) -> None:
    """Add the hashtag uses of these posts to their days' (`tags`, changed in place)."""
    for it in items:
        if it.tags:
            uses = tags.setdefault(rarity.day_of(it.ts), set())
            platform, channel = it.key[0], it.key[1]
            uses.update((tag, platform, channel) for tag in it.tags)


def _run_tags(items: Iterable[Item]) -> np.ndarray:
    """The hashtag keys the run's posts carry, sorted: the only tags whose threads the run asks about."""
    return np.unique(np.fromiter((t for it in items for t in it.tags), np.int64))


def _save_days(
    conn: psycopg.Connection,
    counts: Mapping[int, rarity.DayCounts],
    days: set[int],
    tags: Mapping[int, set[tuple[int, str, int]]],
) -> None:
    """Store the counts and hashtag uses of `days` for the next run."""
    rarity_days.save_days(
        conn,
        {d: (c.posts, c.idx, c.cnt) for d, c in counts.items() if d in days},
        {d: tags.get(d, set()) for d in counts if d in days},
    )


def _thread_days(
    g: Grouper, tags: Mapping[int, rarity_days.DayTags], first_day: int, wanted: np.ndarray
) -> None:
    """Tag threads' rubric memory: which channels used each of the `wanted` tags on the days from `first_day` on,
    over the posts grouped before the run (the stored days' uses)."""
    add = g.threads.add_day
    for day in sorted(d for d in tags if d >= first_day):
        keys, platforms, channels = tags[day]
        for i in np.flatnonzero(np.isin(keys, wanted)).tolist():
            add(int(keys[i]), day, (platforms[i], int(channels[i])))


def _ref_dt(ref_time):
    """The run's reference time (the first post's, or where a replay starts) as an aware datetime."""
    return _dt(_ts(ref_time)) if isinstance(ref_time, datetime) else ref_time


def _load_clusters(conn: psycopg.Connection, g: Grouper, params: Params, ref_time) -> None:
    """What the run needs of earlier groups before its posts are prepared: redirects, and the events and
    storylines open at the first post's time (`ref_time`)."""
    ev_redirects, st_redirects = store.redirects(conn)
    g.events.merged.update(ev_redirects)
    g.storylines.merged.update(st_redirects)
    t_ref = _ref_dt(ref_time)
    # An open event whose first post is more than the span before the run's first post cannot take any of the
    # run's posts by similarity (`Params.event_bar`); it is loaded only if a post links to it (a forward, a
    # reply, a copy: `Grouper._ensure_event`). An hour of margin: loading one more changes nothing.
    young = t_ref - timedelta(hours=params.event_max_span_hours + 1) if params.event_max_span_hours else None
    for row in store.open_events(conn, t_ref - timedelta(hours=params.window_hours), young):
        g.add_event(_cluster(row, event=True))
    wanted = {
        g.storylines.resolve(c.storyline) for c in g.events.clusters.values() if c.storyline is not None
    }
    for row in store.open_storylines(
        conn, t_ref - timedelta(hours=params.storyline_window_hours), sorted(wanted)
    ):
        g.add_storyline(_cluster(row, event=False))


def _load_lookups(
    conn: psycopg.Connection,
    g: Grouper,
    items: list[Item],
    params: Params,
    ref_time,
    day_tags: Mapping[int, rarity_days.DayTags],
) -> None:
    """What stage 0 needs of earlier groups for the run's prepared posts: the events of referenced posts, of
    earlier forwards of them, and of copies and excerpts."""
    t_ref = _ref_dt(ref_time)
    # stage 0 lookups: the events of referenced posts, of earlier forwards of the same original, of copies
    refs = {ref for it in items for _k, ref in it.refs} | {it.key for it in items}
    g.post_event.update(store.events_of_posts(conn, sorted(refs)))
    for ref, eid in store.events_of_referrers(conn, sorted(refs)).items():
        g.ref_event.setdefault(ref, eid)
    dups = sorted({k for it in items for k in (it.dup, it.lead) if k is not None})
    for dup, eid in store.events_of_duplicates(conn, dups, t_ref - timedelta(hours=params.window_hours)):
        note_holder(g.dup_event, dup, eid)
    # Tag threads (`ingest.events.threads`), for the tags the run's posts carry (no other is asked about): their
    # latest uses within the thread's reach, and the channels that used them on the days of the rubric test
    # (read with the days' rarity counts, `_weigh`).
    wanted = _run_tags(items) if params.thread_hours else ()
    if len(wanted):
        since = t_ref - timedelta(hours=params.thread_hours)
        for tag, at, storyline, platform, channel in store.tag_uses(
            conn, since, t_ref, SCAN, wanted.tolist()
        ):
            g.threads.add_use(tag, _ts(at), storyline, (platform, channel))
        first_day = min(rarity.day_of(it.ts) for it in items) - params.thread_days()
        _thread_days(g, day_tags, first_day, wanted)
    # Excerpt joins reach events begun at most `excerpt_hours` before a post, so their holders were posted
    # since then: the run's first post less those hours bounds the read.
    if params.excerpt_hours and items:
        mains = sorted({it.main for it in items if it.main is not None})
        sentences = sorted({k for it in items for k in it.sentences})
        since = _dt(min(it.ts for it in items)) - timedelta(hours=params.excerpt_hours)
        for kind, key, eid in store.events_of_sentences(conn, mains, sentences, since):
            note_holder(g.sentence_event if kind == "sentence" else g.main_event, key, eid)


def _final_ids(
    created: list[int],
    current_of: dict[int, int],
    members: dict[int, list],
    old_of,
    existing: set[int],
    next_id: int,
) -> dict[int, int]:
    """Temporary (negative) ids -> stored ids: a re-created cluster takes the old id most of its posts had
    (when that id is free), everything else a fresh id in creation order."""
    votes: Counter = Counter()
    for tmp in created:
        if current_of.get(tmp, tmp) != tmp:
            continue
        for key in members.get(tmp, ()):
            o = old_of(key)
            if o is not None and o not in existing:
                votes[(tmp, o)] += 1
    out: dict[int, int] = {}
    used: set[int] = set()
    for (tmp, o), _n in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0][1], -kv[0][0])):
        if tmp in out or o in used:
            continue
        out[tmp] = o
        used.add(o)
    for tmp in sorted(created, reverse=True):  # -1, -2, ...: creation order
        if tmp not in out:
            next_id += 1
            out[tmp] = next_id
    return out


def _write(
    conn: psycopg.Connection, g: Grouper, res: RunResult, old: dict, clock: _Clock, titles: Mapping[Key, str]
) -> None:
    ev, st = g.events, g.storylines
    fe, fs = _stored_ids(conn, g, res, old)
    touched_s = (
        res.storylines_changed
        | res.storylines_created
        | {m.from_id for m in res.merges if m.level == "storyline"}
    )
    writes.write_storylines(
        conn,
        [(fs(sid), _dt(c.first_ts), _dt(c.last_ts), *c.first_key, *_centroid(c, merged), fs(merged))
         for sid, c, merged in _touched(st, touched_s)],
    )  # fmt: skip
    touched_e = (
        res.events_changed | res.events_created | {m.from_id for m in res.merges if m.level == "event"}
    )
    writes.write_events(
        conn,
        [(fe(eid), fs(st.resolve(c.storyline)), fs(c.storyline), _dt(c.first_ts), _dt(c.last_ts), *c.first_key,
          *_centroid(c, merged), fe(merged))
         for eid, c, merged in _touched(ev, touched_e)],
    )  # fmt: skip
    writes.write_event_posts(
        conn,
        (
            (*a.key, fe(ev.resolve(a.event)), fe(a.event), _dt(a.ts), a.role, a.joined_by, a.similarity,
             a.content_hash, a.dup, a.lead, a.vec.idx, a.vec.val, None if a.svec is None else a.svec.val,
             titles.get(a.key), a.main, list(a.sentences) or None, list(a.tags))
            for a in res.assignments
        ),
    )  # fmt: skip
    writes.write_redirects(
        conn,
        [(fe(m.from_id), fe(m.to_id), _dt(m.ts)) for m in res.merges if m.level == "event"],
        [(fs(m.from_id), fs(m.to_id), _dt(m.ts)) for m in res.merges if m.level == "storyline"],
    )
    live_e = sorted({fe(ev.resolve(e)) for e in touched_e})
    live_s = sorted({fs(st.resolve(s)) for s in touched_s} | {fs(st.resolve(c.storyline)) for e in touched_e
                    if (c := ev.clusters.get(ev.resolve(e))) is not None})  # fmt: skip
    clock.lap("write")
    writes.refresh_summaries(conn, live_e, live_s)
    clock.lap("summaries")


IdMap = Callable[[int | None], int | None]


def _stored_ids(conn: psycopg.Connection, g: Grouper, res: RunResult, old: dict) -> tuple[IdMap, IdMap]:
    """The run's event and storyline ids (temporary negative ones included) -> the ids they are stored under."""
    ev, st = g.events, g.storylines
    max_event, max_story = store.max_ids(conn)
    created_e = sorted(res.events_created, reverse=True)
    created_s = sorted(res.storylines_created, reverse=True)
    ev_members: dict[int, list] = {}
    st_members: dict[int, list] = {}
    for a in res.assignments:
        cur_e = ev.resolve(a.event)
        ev_members.setdefault(cur_e, []).append(a.key)
        c = ev.clusters.get(cur_e) or ev.retired.get(cur_e)
        st_members.setdefault(st.resolve(c.storyline), []).append(a.key)
    old_ids = [o[0] for o in old.values()]
    old_st = [o[1] for o in old.values() if o[1] is not None]
    # Fresh ids start above every id ever handed out, so none collides with an old id being reused.
    max_event = max([max_event, *old_ids])
    max_story = max([max_story, *old_st])
    exist_e, exist_s = store.existing_ids(conn, old_ids, old_st) if old else (set(), set())
    emap = _final_ids(
        created_e, {t: ev.resolve(t) for t in created_e}, ev_members,
        lambda k: old.get(k, (None, None))[0], exist_e, max_event,
    )  # fmt: skip
    smap = _final_ids(
        created_s, {t: st.resolve(t) for t in created_s}, st_members,
        lambda k: old.get(k, (None, None))[1], exist_s, max_story,
    )  # fmt: skip

    def fe(i: int | None) -> int | None:
        return None if i is None else emap.get(i, i)

    def fs(i: int | None) -> int | None:
        return None if i is None else smap.get(i, i)

    return fe, fs


def _touched(level: Level, ids: set[int]) -> Iterator[tuple[int, Cluster, int | None]]:
    """(id, cluster, id merged into) of the clusters a run touched, those it created first; ids the level no
    longer knows are passed over."""
    for cid in sorted(ids, key=lambda x: (x >= 0, abs(x))):
        c = level.clusters.get(cid) or level.retired.get(cid)
        if c is not None:
            yield cid, c, level.merged.get(cid)


def _centroid(c: Cluster, merged: int | None) -> tuple:
    """A cluster's centroid as stored: emptied once it is merged into another."""
    return (c.idx, c.val) if merged is None else ((), ())


def vector_of(text: str) -> Vector:
    return vectorize(text)
