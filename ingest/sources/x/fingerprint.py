"""Units of X API v2 pages (live, twarc2 files, replays): one tweet with every part of the page its post is made
from (author, referenced tweets, the first version of an edit, media, polls, the page's `__twarc`), so that a
page with one edited tweet normalises that tweet alone. See `ingest.sources.fingerprint`.

Only what the normaliser joins by id is covered; a page with `errors` (page-level rejects) and a repost whose
original is missing (its author is looked up among all of the page's users) are handled whole-page or with every
user in the hash: when in doubt a tweet makes no unit and is normalised as before."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ingest.models import RawRecord
from ingest.normalize.x.compliance import compliance_event
from ingest.normalize.x.fields import PAGE_KEYS, observed_at
from ingest.sources.fingerprint import Fingerprinter, Unit, int_id, raw_hash

PLATFORM = "x"
#: Part of every hash: raise it when `ingest.normalize.x` makes something else of the same tweet.
SALT = "x-page-1"


class _Page:
    """A page's tweets and includes, indexed the way the normaliser indexes them (includes: first object of an
    id wins; data: last; a tweet in data and includes is the data one)."""

    def __init__(self, payload: dict):
        data = payload.get("data")
        self.data: list = [data] if isinstance(data, dict) else data if isinstance(data, list) else []
        includes = payload["includes"] if isinstance(payload.get("includes"), dict) else {}
        self.includes = includes
        self.included_list: list = includes.get("tweets") if isinstance(includes.get("tweets"), list) else []
        self.included = _index(self.included_list, "id")
        self.users = _index(includes.get("users"), "id")
        self.media = _index(includes.get("media"), "media_key")
        self.polls = _index(includes.get("polls"), "id")
        self.data_by_id: dict[str, dict] = {}
        self.dupes: set[str] = set()
        for t in self.data:
            if isinstance(t, dict) and "id" in t:
                tid = str(t["id"])
                if tid in self.data_by_id:
                    self.dupes.add(tid)
                self.data_by_id[tid] = t
        self.tweets = {**self.included, **self.data_by_id}
        twarc = payload.get("__twarc")
        self.twarc = twarc if isinstance(twarc, dict) else None

    def deps(self, t: dict) -> tuple[list[str], bool]:
        """Ids of the tweets the normaliser looks up for `t` (referenced, first edit version), and whether a
        repost's original is missing (then the author is searched among every user of the page)."""
        ids: list[str] = []
        missing_original = False
        for r in t.get("referenced_tweets") or () if isinstance(t.get("referenced_tweets"), list) else ():
            if isinstance(r, dict) and r.get("id") is not None:
                rid = str(r["id"])
                ids.append(rid)
                if r.get("type") == "retweeted" and rid not in self.tweets:
                    missing_original = True
        history = t.get("edit_history_tweet_ids")
        if isinstance(history, list) and history:
            ids.append(str(history[0]))
        return ids, missing_original


def _index(items: Any, key: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and item.get(key) is not None:
            out.setdefault(str(item[key]), item)
    return out


def _usable(payload: Any) -> bool:
    """A page the normaliser reads as one (not a compliance line, no page-level errors, well-formed parts)."""
    if not isinstance(payload, dict) or not payload.keys() & PAGE_KEYS or payload.get("errors"):
        return False
    if compliance_event(payload) is not None:
        return False
    data, includes = payload.get("data"), payload.get("includes")
    if data is not None and not isinstance(data, (dict, list)):
        return False
    if includes is not None and not isinstance(includes, dict):
        return False
    return all(
        (includes or {}).get(k) is None or isinstance(includes[k], list)
        for k in ("tweets", "users", "media", "polls")
    )


def _attachments(t: dict | None, page: _Page) -> list:
    att = t.get("attachments") if isinstance(t, dict) else None
    if not isinstance(att, dict):
        return []
    keys = att.get("media_keys") if isinstance(att.get("media_keys"), list) else []
    polls = att.get("poll_ids") if isinstance(att.get("poll_ids"), list) else []
    return [page.media.get(str(k)) for k in keys] + [page.polls.get(str(p)) for p in polls]


_UNSEEN: Any = object()


def units(records: Sequence[RawRecord], key: int) -> list[Unit]:
    """The batch's units (a tweet each), hashed under the warehouse's raw-hash `key`."""
    out: list[Unit] = []
    for i, rec in enumerate(records):
        if rec.raw_text is not None or not _usable(rec.payload):
            continue
        page = _Page(rec.payload)
        observed = observed_at(rec.fetched_at, page.twarc)
        default_author = rec.context.get("author_id")
        candidates = [(t, True) for t in page.data_by_id.values()]
        candidates += [(t, False) for tid, t in page.included.items() if tid not in page.data_by_id]
        author_ids: dict[str, int | None] = {}  # a page's tweets mostly share one author or a few
        for t, in_data in candidates:
            raw_id = t.get("id")
            tid = int_id(raw_id)
            if tid is None or (page.dupes and str(raw_id) in page.dupes):
                continue
            author = t.get("author_id")
            if author is None and in_data:
                author = default_author
            if type(author) is str:
                channel_id = author_ids.get(author, _UNSEEN)
                if channel_id is _UNSEEN:
                    channel_id = author_ids[author] = int_id(author)
            else:
                channel_id = int_id(author)
            history = t.get("edit_history_tweet_ids")
            if type(history) is list and len(history) == 1 and history[0] == raw_id and type(raw_id) is str:
                first = tid  # never edited: the history is the tweet's own id
            else:
                first = int_id(history[0]) if isinstance(history, list) and history else tid
            if channel_id is None or first is None:
                continue
            dep_ids, missing_original = page.deps(t)
            deps = [page.tweets.get(d) for d in dep_ids]
            h = raw_hash(
                SALT, rec.source, in_data, rec.context, page.twarc, t, page.users.get(str(author)), deps,
                [_attachments(t, page), *(_attachments(d, page) for d in deps)],
                page.includes.get("users") if missing_original else None, key=key,
            )  # fmt: skip
            if h is not None:
                out.append(Unit(PLATFORM, channel_id, first, h, (i,), (first,), observed, part=tid))
    return out


def without(rec: RawRecord, skipped: set[int]) -> tuple[RawRecord, frozenset[int]] | None:
    """The page with the `skipped` tweets left out, keeping those the remaining tweets look up (their posts are
    dropped after normalising: the returned ids)."""
    if _all_skipped(rec.payload, skipped):
        return None  # the usual rescan page: nothing left, and no need to index it
    page = _Page(rec.payload)

    def is_skipped(t: Any) -> bool:
        return isinstance(t, dict) and int_id(t.get("id")) in skipped

    data = [t for t in page.data if not is_skipped(t)]
    included = [
        t for t in page.included_list
        if not is_skipped(t) and not (isinstance(t, dict) and str(t.get("id")) in page.data_by_id)
    ]  # fmt: skip
    kept = {str(t.get("id")) for t in data + included if isinstance(t, dict)}
    # Everything the kept tweets look up, and what those look up in turn (they are normalised too, as includes,
    # and should meet the page they met before).
    context: dict[str, dict] = {}
    todo = [t for t in data + included if isinstance(t, dict)]
    while todo:
        for d in page.deps(todo.pop())[0]:
            if d not in kept and d not in context and d in page.tweets:
                context[d] = page.tweets[d]
                todo.append(context[d])
    if not data and not included:
        return None
    dropped = frozenset(n for d in context if (n := int_id(d)) is not None)
    payload = {
        **rec.payload,
        "data": data,
        "includes": {**page.includes, "tweets": [*context.values(), *included]},
    }
    return RawRecord(rec.source, payload, rec.origin, rec.fetched_at, rec.context, rec.raw_text), dropped


def _all_skipped(payload: dict, skipped: set[int]) -> bool:
    """Whether every tweet of a (usable) page, in data and in includes, is one of `skipped`."""
    data = payload.get("data")
    included = payload["includes"].get("tweets") if isinstance(payload.get("includes"), dict) else None
    for tweets in ([data] if isinstance(data, dict) else data, included):
        if tweets is None:
            continue
        if not isinstance(tweets, list):
            return False
        for t in tweets:
            if not isinstance(t, dict) or int_id(t.get("id")) not in skipped:
                return False
    return True


FINGERPRINT = Fingerprinter(units, without)
