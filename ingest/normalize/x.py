"""X API v2 response pages -> posts, rejects and deletions. Pure: no I/O, no clock.

One page (`data` / `includes` / `errors` / `meta`, as twarc2 writes it and `tweepy.Client(return_type=dict)`
returns it) becomes one `Post` per tweet in `data` and one per tweet in `includes.tweets` (referenced originals
are real posts with their full text), one `Rejected` per `errors[]` entry, and a `Deletion` per compliance
delete event. Quirks absorbed here:

- An edit gets a new tweet id. Every version is keyed by the FIRST id of `edit_history_tweet_ids` (post_id);
  `source_post_id` keeps the version's own id, `version_at` its `created_at`, and `posted_at` is the creation
  time of the first id (from its Snowflake id, so every version agrees even when the first is not in the page).
  Only the latest version carries counts: an old version's counts are frozen and are not the post's.
- A repost's v2 text is a truncated "RT @user: ..."; the post takes the original's full text (and its links,
  media, hashtags, mentions) from `includes.tweets`. When the original is missing there (deleted, withheld,
  not expanded) the truncated text is kept and the post carries the media flag `truncated_repost`. A repost has
  no engagement of its own (X reports the original's repost count on it), so its metrics are left empty.
- Long posts carry their full text in `note_tweet.text`; `text` is cut at 280 characters.
- `text` arrives HTML-escaped (`&amp;`, `&lt;`, `&gt;`); it is unescaped.
- `lang` codes `und`, `qst`, `zxx`, `qam`, `qct`, `qht`, `qme` (no language) become None; X's legacy codes
  `in`/`iw`/`ji` become `id`/`he`/`yi`.
- Withheld posts keep the `withheld` object in raw and carry the media flag `withheld`.

Flags are media items `{"type": "flag", "id": <name>, ...}`. Media items hash (for edit detection) on type and
id only, so the media URL lives under `media_url`: pages that did not expand a referenced post's media must not
look like an edit of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ingest.models import Channel, Deletion, Metrics, Post, PostRef, RawRecord, Rejected, positive_id
from ingest.textsafe import url_segment
from ingest.times import NaiveTime, iso_to_utc

PLATFORM = "x"
#: Snowflake ids carry their creation time: ms = (id >> 22) + this epoch (2010-11-04T01:42:54.657Z).
TWITTER_EPOCH_MS = 1288834974657
#: Ids below this predate Snowflake (Nov 2010): they were sequential and carry no time.
SNOWFLAKE_MIN_ID = 30_000_000_000
#: X language codes that mean "no language" (undetermined, short text, mentions/cashtags/hashtags/media only).
NO_LANGUAGE = frozenset({"und", "qst", "zxx", "qam", "qct", "qht", "qme"})
LEGACY_LANGS = {"in": "id", "iw": "he", "ji": "yi"}
#: The media key prefix tells the type even when includes.media did not expand the key.
MEDIA_KEY_TYPES = {"3": "photo", "7": "video", "13": "video", "16": "animated_gif"}
#: Compliance stream event names (v2 `data.<event>` and v1.1 top-level) that remove a post from view.
DELETE_EVENTS = frozenset({"delete", "tweet_delete", "drop", "tweet_drop", "status_delete"})
OTHER_COMPLIANCE_EVENTS = frozenset(
    {"tweet_edit", "withheld", "tweet_withheld", "status_withheld", "undrop", "tweet_undrop", "scrub_geo",
     "user_delete", "user_undelete", "user_protect", "user_unprotect", "user_suspend", "user_unsuspend",
     "user_withheld", "user_profile_modification"}
)  # fmt: skip
PAGE_KEYS = frozenset({"data", "includes", "errors", "meta"})


def snowflake_time(tweet_id: int) -> datetime | None:
    """Creation time encoded in a Snowflake id, in whole seconds (X's created_at has second precision and
    equals this truncation), or None for pre-Snowflake ids."""
    if tweet_id < SNOWFLAKE_MIN_ID:
        return None
    ms = (tweet_id >> 22) + TWITTER_EPOCH_MS
    return datetime.fromtimestamp(ms // 1000, tz=UTC)


def parse_time(value: Any, what: str) -> datetime:
    """X v2 times are ISO 8601 with Z (and milliseconds); refuse anything without a zone."""
    if not isinstance(value, str):
        raise ValueError(f"{what} has type {type(value).__name__}, expected an ISO 8601 string")
    try:
        return iso_to_utc(value, naive_is_utc=False)
    except NaiveTime:
        raise ValueError(f"{what} has no time zone: {value[:40]!r}") from None
    except ValueError:
        raise ValueError(f"{what} is not ISO 8601: {value[:40]!r}") from None


def unescape(text: str) -> str:
    """X escapes exactly &, < and > in text; undo that (and only that)."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def normalize_lang(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    code = value.strip().lower()
    if not code or code in NO_LANGUAGE:
        return None
    return LEGACY_LANGS.get(code, code)


def normalize_page(record: RawRecord) -> list[Post | Rejected | Deletion]:
    """Normalise one X API v2 response page (or one compliance event line)."""
    payload = record.payload
    if payload is None:
        error = record.context.get("json_error") or "no payload"
        return [_reject(record, f"line is not valid JSON: {error}", None)]
    if not isinstance(payload, dict):
        return [_reject(record, f"page is a JSON {type(payload).__name__}, expected an object with "
                                "data/includes/errors/meta", payload)]  # fmt: skip
    compliance = _compliance_event(payload)
    if compliance is not None:
        return _compliance(record, payload, *compliance)
    if not payload.keys() & PAGE_KEYS:
        keys = ", ".join(sorted(str(k) for k in payload)[:8])
        return [
            _reject(record, f"not an X API v2 page: no data/includes/errors/meta (keys: {keys})", payload)
        ]
    try:
        page = _Page(record, payload)
    except ValueError as exc:
        return [_reject(record, f"corrupt page: {exc}", payload)]
    out: list[Post | Rejected | Deletion] = []
    for where, tweet in page.tweets_to_normalise():
        out.append(page.tweet(tweet, where))
    for i, err in enumerate(page.errors):
        out.append(page.error(err, i))
    return out


# ------------------------------------------------------------------------------------------------ helpers


def _reject(record: RawRecord, reason: str, payload: Any, **ids: Any) -> Rejected:
    return Rejected(
        source=record.source, reason=reason, payload=payload, origin=record.origin, raw_text=record.raw_text,
        platform=PLATFORM, **ids,
    )  # fmt: skip


def _list(value: Any) -> list:
    """A list field, or nothing when the page holds something else there."""
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _id_or_none(value: Any) -> int | None:
    try:
        return positive_id(value, "id")
    except ValueError:
        return None


def _index(items: Any, key: str, what: str) -> dict[str, dict]:
    """includes.<what> as {id: object}; ids are compared as strings (v2 sends strings, some tools ints)."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise ValueError(f"includes.{what} is a {type(items).__name__}, expected a list")
    out: dict[str, dict] = {}
    for item in items:
        if isinstance(item, dict) and item.get(key) is not None:
            out.setdefault(str(item[key]), item)
    return out


class _Page:
    """One page's includes joined by id, and the per-tweet normalisation that needs them."""

    def __init__(self, record: RawRecord, payload: dict):
        self.record = record
        data = payload.get("data")
        if data is None:
            self.data: list = []
        elif isinstance(data, dict):  # single-tweet lookups and stream lines
            self.data = [data]
        elif isinstance(data, list):
            self.data = data
        else:
            raise ValueError(f"data is a {type(data).__name__}, expected an object or a list")
        includes = payload.get("includes") or {}
        if not isinstance(includes, dict):
            raise ValueError(f"includes is a {type(includes).__name__}, expected an object")
        self.users = _index(includes.get("users"), "id", "users")
        self.included = _index(includes.get("tweets"), "id", "tweets")
        self.media = _index(includes.get("media"), "media_key", "media")
        self.polls = _index(includes.get("polls"), "id", "polls")
        errors = payload.get("errors") or []
        self.errors: list = errors if isinstance(errors, list) else [errors]
        self.data_ids = {str(t.get("id")) for t in self.data if isinstance(t, dict)}
        self.tweets = {
            **self.included,
            **{str(t["id"]): t for t in self.data if isinstance(t, dict) and "id" in t},
        }
        twarc = payload.get("__twarc")
        self.twarc = twarc if isinstance(twarc, dict) else None
        self.observed_at = record.fetched_at or self._retrieved_at()
        # Timeline pages from the live source may omit author_id (default fields): the source says whose
        # timeline it is. Only data tweets can default to it; referenced tweets belong to anyone.
        self.default_author = record.context.get("author_id")

    def _retrieved_at(self) -> datetime | None:
        if self.twarc is None:
            return None
        try:
            return parse_time(self.twarc.get("retrieved_at"), "__twarc.retrieved_at")
        except ValueError:
            return None

    def tweets_to_normalise(self) -> Iterable[tuple[str, Any]]:
        for i, t in enumerate(self.data):
            yield f"data[{i}]", t
        for i, (tid, t) in enumerate(self.included.items()):
            if tid not in self.data_ids:  # the same tweet in data and includes: data wins
                yield f"includes.tweets[{i}]", t

    # ------------------------------------------------------------------------------------------- tweets

    def tweet(self, t: Any, where: str) -> Post | Rejected:
        if not isinstance(t, dict):
            return _reject(self.record, f"{where} is a {type(t).__name__}, expected a tweet object", t)
        try:
            return self._tweet(t, where)
        except ValueError as exc:
            return _reject(
                self.record, f"tweet {str(t.get('id'))[:30]} ({where}): {exc}", t,
                post_id=_id_or_none(t.get("id")), channel_id=_id_or_none(t.get("author_id")),
            )  # fmt: skip

    def _tweet(self, t: dict, where: str) -> Post:
        tid = positive_id(t.get("id"), "id")
        author = t.get("author_id")
        if author is None and where.startswith("data"):
            author = self.default_author
        if author is None:
            raise ValueError("author_id missing (request the author_id field)")
        channel_id = positive_id(author, "author_id")
        history = self._history(t, tid)
        first = history[0]
        version_at = self._created(t, tid)
        posted_at = version_at if first == tid else self._first_created(first)
        latest = tid == history[-1]

        refs = self._refs(t)
        reposted_id = refs.get("retweeted")
        original = self.tweets.get(str(reposted_id)) if reposted_id is not None else None
        content = original if original is not None else t  # whose text, entities and media this post shows
        flags: list[dict[str, Any]] = []
        text = self._text(content)
        if reposted_id is not None and original is None:
            flags.append({"type": "flag", "id": "truncated_repost",
                          "reason": "original post not in includes.tweets: v2 repost text is cut"})  # fmt: skip
        withheld = t.get("withheld") if isinstance(t.get("withheld"), dict) else None
        if withheld is None and original is not None and isinstance(original.get("withheld"), dict):
            withheld = original["withheld"]
        if withheld is not None:
            flags.append({"type": "flag", "id": "withheld", **{k: withheld.get(k) for k in
                          ("country_codes", "copyright", "scope") if k in withheld}})  # fmt: skip

        entities = self._entities(content)
        media, media_used, polls_used = self._media(content)
        user = self.users.get(str(author))
        username = user.get("username") if user and isinstance(user.get("username"), str) else None
        title = user.get("name") if user and isinstance(user.get("name"), str) else None
        if username is None and str(author) == str(self.default_author):
            username = self.record.context.get("handle")
        url = (
            f"https://x.com/{url_segment(username)}/status/{tid}"
            if username
            else f"https://x.com/i/web/status/{tid}"
        )

        reply_to = None
        if "replied_to" in refs or t.get("in_reply_to_user_id") is not None:
            reply_to = self._ref(refs.get("replied_to"), fallback_channel=t.get("in_reply_to_user_id"))
        metrics = None
        if latest and reposted_id is None:
            metrics = self._metrics(t.get("public_metrics"))

        used = [self.tweets[str(r)] for r in refs.values() if str(r) in self.tweets]
        raw: dict[str, Any] = {"tweet": t, "author": user, "referenced_tweets": used, "media": media_used}
        if polls_used:
            raw["polls"] = polls_used
        if self.twarc is not None:
            raw["__twarc"] = self.twarc
        return Post(
            platform=PLATFORM,
            channel_id=channel_id,
            post_id=first,
            posted_at=posted_at,
            text=text,
            channel=Channel(PLATFORM, channel_id, username, title),
            edited_at=version_at if tid != first else None,
            version_at=version_at,
            source_post_id=tid,
            lang=normalize_lang(content.get("lang")),
            url=url,
            reply_to=reply_to,
            quoted=self._ref(refs["quoted"]) if "quoted" in refs else None,
            reposted=self._ref(reposted_id, mention=t) if reposted_id is not None else None,
            media=tuple(media + flags),
            links=tuple(self._links(content, entities)),
            hashtags=tuple(dict.fromkeys(h["tag"] for h in _list(entities.get("hashtags"))
                                         if isinstance(h, dict) and isinstance(h.get("tag"), str))),
            mentions=tuple(dict.fromkeys(m["username"] for m in _list(entities.get("mentions"))
                                         if isinstance(m, dict) and isinstance(m.get("username"), str))),
            metrics=metrics,
            observed_at=self.observed_at,
            source=self.record.source,
            raw=raw,
            origin=self.record.origin,
        )  # fmt: skip

    def _history(self, t: dict, tid: int) -> list[int]:
        history = t.get("edit_history_tweet_ids")
        if history is None or history == []:
            return [tid]
        if not isinstance(history, list):
            raise ValueError(f"edit_history_tweet_ids is a {type(history).__name__}, expected a list")
        ids = [positive_id(h, f"edit_history_tweet_ids[{i}]") for i, h in enumerate(history)]
        if tid not in ids:
            raise ValueError(f"edit_history_tweet_ids {ids[:5]} does not contain the tweet's own id")
        return ids

    def _created(self, t: dict, tid: int) -> datetime:
        if t.get("created_at") is not None:
            return parse_time(t["created_at"], "created_at")
        derived = snowflake_time(tid)
        if derived is None:
            raise ValueError("created_at missing and the id predates Snowflake (no time in it)")
        return derived

    def _first_created(self, first: int) -> datetime:
        """posted_at of an edited post: the first version's created_at when present, else its Snowflake time
        (the two agree to the second, so every version of the post reports the same posted_at)."""
        ft = self.tweets.get(str(first))
        if ft is not None and ft.get("created_at") is not None:
            return parse_time(ft["created_at"], f"created_at of first version {first}")
        derived = snowflake_time(first)
        if derived is None:
            raise ValueError(f"first version id {first} predates Snowflake and is not in the page")
        return derived

    def _refs(self, t: dict) -> dict[str, int]:
        refs = t.get("referenced_tweets") or []
        if not isinstance(refs, list):
            raise ValueError(f"referenced_tweets is a {type(refs).__name__}, expected a list")
        out: dict[str, int] = {}
        for i, r in enumerate(refs):
            if not isinstance(r, dict) or not isinstance(r.get("type"), str):
                raise ValueError(f"referenced_tweets[{i}] has no type")
            out.setdefault(r["type"], positive_id(r.get("id"), f"referenced_tweets[{i}].id"))
        return out

    def _ref(self, rid: int | None, *, fallback_channel: Any = None, mention: dict | None = None) -> PostRef:
        """A reference keyed like the referenced post itself: its first edit id, its author."""
        if rid is None:  # a reply whose tweet id the page does not give (only in_reply_to_user_id)
            return PostRef(PLATFORM, _id_or_none(fallback_channel), None)
        ref = self.tweets.get(str(rid))
        if ref is None:
            channel = _id_or_none(fallback_channel)
            if channel is None and mention is not None:
                channel = self._rt_author(mention)
            return PostRef(PLATFORM, channel, rid, snowflake_time(rid))
        first = rid
        history = ref.get("edit_history_tweet_ids")
        if isinstance(history, list) and history:
            first = _id_or_none(history[0]) or rid
        posted = snowflake_time(first)
        if first == rid and ref.get("created_at") is not None:
            try:
                posted = parse_time(ref["created_at"], "created_at")
            except ValueError:
                pass
        channel = _id_or_none(ref.get("author_id"))
        if channel is None:
            channel = _id_or_none(fallback_channel)
        return PostRef(PLATFORM, channel, first, posted)

    def _rt_author(self, t: dict) -> int | None:
        """The reposted author's id from the "RT @user:" mention, when the original is missing."""
        for m in _list(_dict(t.get("entities")).get("mentions")):
            if isinstance(m, dict) and m.get("start") == 3:
                if m.get("id") is not None:
                    return _id_or_none(m["id"])
                for uid, u in self.users.items():
                    if u.get("username") == m.get("username"):
                        return _id_or_none(uid)
        return None

    def _text(self, t: dict) -> str:
        note = t.get("note_tweet")
        if isinstance(note, dict) and isinstance(note.get("text"), str):
            return unescape(note["text"])
        text = t.get("text", "")
        if not isinstance(text, str):
            raise ValueError(f"text is a {type(text).__name__}, expected a string")
        return unescape(text)

    def _entities(self, t: dict) -> dict:
        note = t.get("note_tweet")
        if isinstance(note, dict) and isinstance(note.get("entities"), dict):
            return note["entities"]
        entities = t.get("entities")
        return entities if isinstance(entities, dict) else {}

    def _links(self, t: dict, entities: dict) -> list[str]:
        own = str(t.get("id"))
        out: list[str] = []
        for u in _list(entities.get("urls")):
            if not isinstance(u, dict) or u.get("media_key"):  # pic.twitter.com links are the media
                continue
            href = u.get("unwound_url") or u.get("expanded_url") or u.get("url")
            if not isinstance(href, str):
                continue
            # The "show more" link of a long post points at the post itself.
            if href.rstrip("/").endswith(f"/status/{own}") and "/i/web/" in href:
                continue
            if href not in out:
                out.append(href)
        return out

    def _media(self, t: dict) -> tuple[list[dict], list[dict], list[dict]]:
        attachments = _dict(t.get("attachments"))
        items: list[dict] = []
        used: list[dict] = []
        polls: list[dict] = []
        for key in _list(attachments.get("media_keys")):
            key = str(key)
            m = self.media.get(key)
            item: dict[str, Any] = {"type": MEDIA_KEY_TYPES.get(key.split("_", 1)[0])
                                    or (m or {}).get("type") or "unknown", "id": key}  # fmt: skip
            if m is not None:
                used.append(m)
                best = _best_variant(m.get("variants"))
                for src, dst in (("url", "media_url"), ("preview_image_url", "preview_image_url"),
                                 ("alt_text", "alt_text"), ("width", "width"), ("height", "height"),
                                 ("duration_ms", "duration_ms")):  # fmt: skip
                    if m.get(src) is not None:
                        item[dst] = m[src]
                if best:
                    item["variant_url"] = best
            items.append(item)
        for pid in _list(attachments.get("poll_ids")):
            p = self.polls.get(str(pid))
            item = {"type": "poll", "id": str(pid)}
            if p is not None:
                polls.append(p)
                item.update({k: p[k] for k in ("options", "voting_status", "end_datetime") if k in p})
            items.append(item)
        return items, used, polls

    def _metrics(self, pm: Any) -> Metrics | None:
        if not isinstance(pm, dict):
            return None
        m = Metrics(
            views=_int_or_none(pm.get("impression_count")),
            reposts=_int_or_none(pm.get("retweet_count")),
            replies=_int_or_none(pm.get("reply_count")),
            likes=_int_or_none(pm.get("like_count")),
            quotes=_int_or_none(pm.get("quote_count")),
        )
        return None if m.is_empty() else m

    # ------------------------------------------------------------------------------------------- errors

    def error(self, err: Any, i: int) -> Rejected:
        if not isinstance(err, dict):
            return _reject(self.record, f"errors[{i}]: {str(err)[:300]}", err)
        title = err.get("title") or "error"
        detail = err.get("detail") or err.get("message") or ""
        parts = [
            f"{k}={err[k]}" for k in ("resource_type", "resource_id", "parameter") if err.get(k) is not None
        ]
        reason = f"X API error {title}: {detail}" + (f" ({', '.join(parts)})" if parts else "")
        rtype = err.get("resource_type")
        rid = _id_or_none(err.get("resource_id"))
        return _reject(
            self.record, reason, err,
            post_id=rid if rtype == "tweet" else None, channel_id=rid if rtype == "user" else None,
        )  # fmt: skip


def _best_variant(variants: Any) -> str | None:
    """The highest-bitrate MP4 of a video or GIF."""
    if not isinstance(variants, list):
        return None
    mp4 = [
        v for v in variants if isinstance(v, dict) and v.get("content_type") == "video/mp4" and v.get("url")
    ]
    if not mp4:
        return None
    return max(mp4, key=lambda v: _int_or_none(v.get("bit_rate")) or 0)["url"]


# ---------------------------------------------------------------------------------------------- compliance


def _compliance_event(p: dict) -> tuple[str, dict] | None:
    """(event name, event body) when the line is a compliance record rather than a page.

    Three shapes: batch compliance job results `{"id", "action", "created_at", "redacted_at", "reason"}`,
    the v2 compliance stream `{"data": {"delete": {"tweet": {...}, "event_at"}}}`, and v1.1 `{"delete": ...}`.
    """
    if "action" in p and "id" in p and not p.keys() & PAGE_KEYS:
        return str(p["action"]), p
    data = p.get("data")
    if isinstance(data, dict) and len(data) == 1:
        ((name, body),) = data.items()
        if name in DELETE_EVENTS | OTHER_COMPLIANCE_EVENTS and isinstance(body, dict):
            return name, body
    if len(p) == 1:
        ((name, body),) = p.items()
        if name in DELETE_EVENTS | OTHER_COMPLIANCE_EVENTS and isinstance(body, dict):
            return name, body
    return None


def _compliance(record: RawRecord, payload: dict, event: str, body: dict) -> list[Post | Rejected | Deletion]:
    if "action" in body and "id" in body:  # batch compliance result
        return [_batch_result(record, body)]
    if event not in DELETE_EVENTS:
        return [
            _reject(
                record,
                f"compliance event {event!r} is not a deletion: nothing to store (kept here "
                "for the record; edits and withholdings arrive with the next fetch)",
                payload,
            )
        ]
    tweet = body.get("tweet") or body.get("status") or {}
    if not isinstance(tweet, dict):
        return [_reject(record, f"compliance {event}: tweet is a {type(tweet).__name__}", payload)]
    try:
        post_id = positive_id(tweet.get("id_str") or tweet.get("id"), f"{event}.tweet.id")
    except ValueError as exc:
        return [_reject(record, f"compliance {event}: {exc}", payload)]
    channel_id = _id_or_none(tweet.get("author_id") or tweet.get("user_id_str") or tweet.get("user_id"))
    when: datetime | None = None
    if body.get("event_at") is not None:
        try:
            when = parse_time(body["event_at"], "event_at")
        except ValueError as exc:
            return [_reject(record, f"compliance {event} of {post_id}: {exc}", payload, post_id=post_id)]
    elif _int_or_none(body.get("timestamp_ms")) is not None:
        ms = _int_or_none(body["timestamp_ms"]) or 0
        when = datetime.fromtimestamp(ms / 1000, tz=UTC)
    when = when or record.fetched_at or snowflake_time(post_id)
    if when is None:
        return [_reject(record, f"compliance {event} of {post_id}: no event time and the id carries none",
                        payload, post_id=post_id)]  # fmt: skip
    return [Deletion(PLATFORM, channel_id, post_id, when, source=record.source)]


def _batch_result(record: RawRecord, body: dict) -> Rejected | Deletion:
    """A batch compliance job result line. `created_at` is the post's creation time, `redacted_at` when the
    action happened; without `redacted_at` the deletion time is unknown and the creation time stands in as its
    lower bound (a fetched_at, when the source gives one, is a better bound: the post was gone by then)."""
    action, reason = body.get("action"), body.get("reason")
    try:
        post_id = positive_id(body.get("id"), "id")
    except ValueError as exc:
        return _reject(record, f"compliance result: {exc}", body)
    if action != "delete" or reason == "scrub_geo":
        return _reject(record, f"compliance result {action!r} ({reason!r}) for {post_id} does not remove the "
                               "post: nothing to store", body, post_id=post_id)  # fmt: skip
    try:
        if body.get("redacted_at") is not None:
            when = parse_time(body["redacted_at"], "redacted_at")
        elif record.fetched_at is not None:
            when = record.fetched_at
        elif body.get("created_at") is not None:
            when = parse_time(body["created_at"], "created_at")
        else:
            when = snowflake_time(post_id)
    except ValueError as exc:
        return _reject(record, f"compliance result for {post_id}: {exc}", body, post_id=post_id)
    if when is None:
        return _reject(record, f"compliance result for {post_id}: no time given and the id carries none", body,
                       post_id=post_id)  # fmt: skip
    return Deletion(PLATFORM, None, post_id, when, source=record.source)
