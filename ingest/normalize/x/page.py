"""One X API v2 response page (or compliance line) to posts, rejects and deletions: the package's entry point
(see `ingest.normalize.x`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.models import (
    Channel,
    Deletion,
    Metrics,
    Post,
    PostRef,
    RawRecord,
    Rejected,
    positional,
    positive_id,
)
from ingest.normalize.x.compliance import compliance_event, compliance_records
from ingest.normalize.x.fields import (
    MEDIA_KEY_TYPES,
    PAGE_KEYS,
    PLATFORM,
    as_dict,
    as_list,
    best_variant,
    id_or_none,
    index_by,
    int_or_none,
    normalize_lang,
    observed_at,
    parse_created,
    plain_id,
    reject,
    snowflake_time,
    tweet_id,
    unescape,
)
from ingest.textsafe import x_post_url


def normalize_page(record: RawRecord) -> list[Post | Rejected | Deletion]:
    """Normalise one X API v2 response page (or one compliance event line)."""
    payload = record.payload
    if payload is None:
        error = record.context.get("json_error") or "no payload"
        return [reject(record, f"line is not valid JSON: {error}", None)]
    if not isinstance(payload, dict):
        return [reject(record, f"page is a JSON {type(payload).__name__}, expected an object with "
                                "data/includes/errors/meta", payload)]  # fmt: skip
    compliance = compliance_event(payload)
    if compliance is not None:
        return compliance_records(record, payload, *compliance)
    if not payload.keys() & PAGE_KEYS:
        keys = ", ".join(sorted(str(k) for k in payload)[:8])
        return [reject(record, f"not an X API v2 page: no data/includes/errors/meta (keys: {keys})", payload)]
    try:
        page = _Page(record, payload)
    except ValueError as exc:
        return [reject(record, f"corrupt page: {exc}", payload)]
    tweet = page.tweet
    out: list[Post | Rejected | Deletion] = [tweet(t, "data", i) for i, t in enumerate(page.data)]
    if page.included:
        data_ids = page.data_ids
        for i, (tid, t) in enumerate(page.included.items()):
            if tid not in data_ids:  # the same tweet in data and includes: data wins
                out.append(tweet(t, "includes.tweets", i))
    for i, err in enumerate(page.errors):
        out.append(page.error(err, i))
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
        self.users = index_by(includes.get("users"), "id", "users")
        self.included = index_by(includes.get("tweets"), "id", "tweets")
        self.media = index_by(includes.get("media"), "media_key", "media")
        self.polls = index_by(includes.get("polls"), "id", "polls")
        errors = payload.get("errors") or []
        self.errors: list = errors if isinstance(errors, list) else [errors]
        self.data_ids = {str(t.get("id")) for t in self.data if isinstance(t, dict)}
        self.tweets = {
            **self.included,
            **{str(t["id"]): t for t in self.data if isinstance(t, dict) and "id" in t},
        }
        twarc = payload.get("__twarc")
        self.twarc = twarc if isinstance(twarc, dict) else None
        self.observed_at = observed_at(record.fetched_at, self.twarc)
        # Timeline pages from the live source may omit author_id (default fields): the source says whose
        # timeline it is. Only data tweets can default to it; referenced tweets belong to anyone.
        self.default_author = record.context.get("author_id")
        self._by_name: dict[Any, str] | None = None
        # Read once a page rather than once a tweet.
        self.source = record.source
        self.origin = record.origin

    # ------------------------------------------------------------------------------------------- tweets

    def tweet(self, t: Any, part: str, i: int) -> Post | Rejected:
        if not isinstance(t, dict):
            return reject(self.record, f"{part}[{i}] is a {type(t).__name__}, expected a tweet object", t)
        try:
            return self._tweet(t, part == "data")
        except ValueError as exc:
            return reject(
                self.record, f"tweet {str(t.get('id'))[:30]} ({part}[{i}]): {exc}", t,
                post_id=id_or_none(t.get("id")), channel_id=id_or_none(t.get("author_id")),
            )  # fmt: skip

    def _tweet(self, t: dict, in_data: bool) -> Post:
        # The common shapes are read inline (string ids, one-entry edit histories, X's own time format); anything
        # else takes the general helpers, whose checks and messages are the only ones.
        get = t.get
        raw_id = get("id")
        tid = tweet_id(raw_id, "id")
        author = get("author_id")
        if author is None and in_data:
            author = self.default_author
        if author is None:
            raise ValueError("author_id missing (request the author_id field)")
        channel_id = tweet_id(author, "author_id")
        history = get("edit_history_tweet_ids")
        if (
            history is None
            or history == []
            or (type(history) is list and len(history) == 1 and type(raw_id) is str and history[0] == raw_id)
        ):
            first = tid
            latest = True
        else:
            ids = self._history(history, tid)
            first = ids[0]
            latest = tid == ids[-1]
        created = get("created_at")
        if created is not None:
            version_at = parse_created(created, "created_at")
        else:
            version_at = self._snowflake_created(tid)
        posted_at = version_at if first == tid else self._first_created(first)

        tweets = self.tweets
        refs_list = get("referenced_tweets")
        if refs_list:
            refs = self._refs(refs_list)
            reposted_id = refs.get("retweeted")
            original = tweets.get(str(reposted_id)) if reposted_id is not None else None
        else:
            refs = _NO_REFS
            reposted_id = original = None
        content = original if original is not None else t  # whose text, entities and media this post shows
        cget = content.get
        note = cget("note_tweet")
        if isinstance(note, dict) and isinstance(note.get("text"), str):
            text = note["text"]
        else:
            text = cget("text", "")
            if not isinstance(text, str):
                raise ValueError(f"text is a {type(text).__name__}, expected a string")
        if "&" in text:
            text = unescape(text)
        withheld = get("withheld")
        flags = _flags(t, original, reposted_id) if reposted_id is not None or withheld is not None else ()
        if isinstance(note, dict) and isinstance(note.get("entities"), dict):
            entities = note["entities"]
        else:
            entities = cget("entities")
            if not isinstance(entities, dict):
                entities = _NO_ENTITIES
        if cget("attachments") is None:
            media: list[dict] | tuple[()] = ()
            media_used: list[dict] = []
            polls_used: list[dict] | tuple[()] = ()
        else:
            media, media_used, polls_used = self._media(content)
        user = self.users.get(str(author))
        if user is not None:
            username = user.get("username")
            if not isinstance(username, str):
                username = None
            title = user.get("name")
            if not isinstance(title, str):
                title = None
        else:
            username = title = None
        if username is None and str(author) == str(self.default_author):
            username = self.record.context.get("handle")
        url = x_post_url(username, tid)

        reply_to = None
        in_reply_to = get("in_reply_to_user_id")
        if in_reply_to is not None or "replied_to" in refs:
            reply_to = self._ref(refs.get("replied_to"), in_reply_to, None)
        metrics = None
        if latest and reposted_id is None:
            metrics = _metrics(get("public_metrics"))

        used = [tweets[k] for r in refs.values() if (k := str(r)) in tweets] if refs else []
        raw: dict[str, Any] = {"tweet": t, "author": user, "referenced_tweets": used, "media": media_used}
        if polls_used:
            raw["polls"] = polls_used
        if self.twarc is not None:
            raw["__twarc"] = self.twarc
        urls = entities.get("urls")
        hashtags = entities.get("hashtags")
        mentions = entities.get("mentions")
        return _post(
            PLATFORM, channel_id, first, posted_at, text, Channel(PLATFORM, channel_id, username, title),
            version_at if tid != first else None, version_at, tid, normalize_lang(cget("lang")),
            url, reply_to,
            self._ref(refs["quoted"], None, None) if "quoted" in refs else None,
            self._ref(reposted_id, None, t) if reposted_id is not None else None,
            (*media, *flags) if media or flags else (),
            tuple(self._links(content, urls)) if urls else (),
            _distinct(hashtags, "tag") if hashtags else (),
            _distinct(mentions, "username") if mentions else (),
            metrics, self.observed_at, self.source, raw, self.origin,
        )  # fmt: skip

    def _history(self, history: Any, tid: int) -> list[int]:
        if not isinstance(history, list):
            raise ValueError(f"edit_history_tweet_ids is a {type(history).__name__}, expected a list")
        ids = [plain_id(h) or positive_id(h, f"edit_history_tweet_ids[{i}]") for i, h in enumerate(history)]
        if tid not in ids:
            raise ValueError(f"edit_history_tweet_ids {ids[:5]} does not contain the tweet's own id")
        return ids

    def _snowflake_created(self, tid: int) -> datetime:
        derived = snowflake_time(tid)
        if derived is None:
            raise ValueError("created_at missing and the id predates Snowflake (no time in it)")
        return derived

    def _first_created(self, first: int) -> datetime:
        """posted_at of an edited post: the first version's created_at when present, else its Snowflake time
        (the two agree to the second, so every version of the post reports the same posted_at)."""
        ft = self.tweets.get(str(first))
        if ft is not None and ft.get("created_at") is not None:
            return parse_created(ft["created_at"], f"created_at of first version {first}")
        derived = snowflake_time(first)
        if derived is None:
            raise ValueError(f"first version id {first} predates Snowflake and is not in the page")
        return derived

    def _refs(self, refs: Any) -> dict[str, int]:
        if not isinstance(refs, list):
            raise ValueError(f"referenced_tweets is a {type(refs).__name__}, expected a list")
        out: dict[str, int] = {}
        for i, r in enumerate(refs):
            if not isinstance(r, dict) or not isinstance(r.get("type"), str):
                raise ValueError(f"referenced_tweets[{i}] has no type")
            rid = r.get("id")
            out.setdefault(r["type"], plain_id(rid) or positive_id(rid, f"referenced_tweets[{i}].id"))
        return out

    def _ref(self, rid: int | None, fallback_channel: Any, mention: dict | None) -> PostRef:
        """A reference keyed like the referenced post itself: its first edit id, its author. `fallback_channel`:
        the author when the page does not hold the post; `mention`: a repost, whose "RT @user:" names it."""
        if rid is None:  # a reply whose tweet id the page does not give (only in_reply_to_user_id)
            return PostRef(PLATFORM, id_or_none(fallback_channel), None)
        ref = self.tweets.get(str(rid))
        if ref is None:
            channel = id_or_none(fallback_channel)
            if channel is None and mention is not None:
                channel = self._rt_author(mention)
            return PostRef(PLATFORM, channel, rid, snowflake_time(rid))
        get = ref.get
        first = rid
        history = get("edit_history_tweet_ids")
        if isinstance(history, list) and history:
            first = id_or_none(history[0]) or rid
        posted = None
        if first == rid:
            created = get("created_at")
            if created is not None:
                try:
                    posted = parse_created(created, "created_at")
                except ValueError:
                    pass
        if posted is None:
            posted = snowflake_time(first)
        channel = id_or_none(get("author_id"))
        if channel is None:
            channel = id_or_none(fallback_channel)
        return PostRef(PLATFORM, channel, first, posted)

    def _rt_author(self, t: dict) -> int | None:
        """The reposted author's id from the "RT @user:" mention, when the original is missing."""
        for m in as_list(as_dict(t.get("entities")).get("mentions")):
            if isinstance(m, dict) and m.get("start") == 3:
                if m.get("id") is not None:
                    return id_or_none(m["id"])
                name = m.get("username")
                if name is None or isinstance(name, str):
                    uid = self._user_ids_by_name().get(name, _MISSING)
                    if uid is not _MISSING:
                        return id_or_none(uid)
                    continue
                for uid, u in self.users.items():
                    if u.get("username") == name:
                        return id_or_none(uid)
        return None

    def _user_ids_by_name(self) -> dict[Any, str]:
        """includes.users by username, the first user of a name winning (as a scan in order would), built once
        a page and only for pages with reposts whose original is missing."""
        if self._by_name is None:
            self._by_name = {}
            for uid, u in self.users.items():
                name = u.get("username")
                if name is None or isinstance(name, str):
                    self._by_name.setdefault(name, uid)
        return self._by_name

    def _links(self, t: dict, urls: Any) -> list[str]:
        out: list[str] = []
        for u in as_list(urls):
            if not isinstance(u, dict) or u.get("media_key"):  # pic.twitter.com links are the media
                continue
            href = u.get("unwound_url") or u.get("expanded_url") or u.get("url")
            if not isinstance(href, str):
                continue
            # The "show more" link of a long post points at the post itself.
            if "/i/web/" in href and href.rstrip("/").endswith(f"/status/{t.get('id')}"):
                continue
            if href not in out:
                out.append(href)
        return out

    def _media(self, t: dict) -> tuple[list[dict], list[dict], list[dict]]:
        attachments = as_dict(t.get("attachments"))
        items: list[dict] = []
        used: list[dict] = []
        polls: list[dict] = []
        for key in as_list(attachments.get("media_keys")):
            key = str(key)
            m = self.media.get(key)
            item: dict[str, Any] = {"type": MEDIA_KEY_TYPES.get(key.split("_", 1)[0])
                                    or (m or {}).get("type") or "unknown", "id": key}  # fmt: skip
            if m is not None:
                used.append(m)
                best = best_variant(m.get("variants"))
                for src, dst in (("url", "media_url"), ("preview_image_url", "preview_image_url"),
                                 ("alt_text", "alt_text"), ("width", "width"), ("height", "height"),
                                 ("duration_ms", "duration_ms")):  # fmt: skip
                    if m.get(src) is not None:
                        item[dst] = m[src]
                if best:
                    item["variant_url"] = best
            items.append(item)
        for pid in as_list(attachments.get("poll_ids")):
            p = self.polls.get(str(pid))
            item = {"type": "poll", "id": str(pid)}
            if p is not None:
                polls.append(p)
                item.update({k: p[k] for k in ("options", "voting_status", "end_datetime") if k in p})
            items.append(item)
        return items, used, polls

    # ------------------------------------------------------------------------------------------- errors

    def error(self, err: Any, i: int) -> Rejected:
        if not isinstance(err, dict):
            return reject(self.record, f"errors[{i}]: {str(err)[:300]}", err)
        title = err.get("title") or "error"
        detail = err.get("detail") or err.get("message") or ""
        parts = [
            f"{k}={err[k]}" for k in ("resource_type", "resource_id", "parameter") if err.get(k) is not None
        ]
        reason = f"X API error {title}: {detail}" + (f" ({', '.join(parts)})" if parts else "")
        rtype = err.get("resource_type")
        rid = id_or_none(err.get("resource_id"))
        return reject(
            self.record, reason, err,
            post_id=rid if rtype == "tweet" else None, channel_id=rid if rtype == "user" else None,
        )  # fmt: skip


_MISSING = object()
_NO_REFS: dict[str, int] = {}
_NO_ENTITIES: dict[str, Any] = {}
_post = positional(Post, (
    "platform", "channel_id", "post_id", "posted_at", "text", "channel", "edited_at", "version_at", "source_post_id",
    "lang", "url", "reply_to", "quoted", "reposted", "media", "links", "hashtags", "mentions", "metrics",
    "observed_at", "source", "raw", "origin",
))  # fmt: skip
_metrics_of = positional(Metrics, ("views", "reposts", "replies", "likes", "quotes"))


def _metrics(pm: Any) -> Metrics | None:
    if not isinstance(pm, dict):
        return None
    get = pm.get
    m = _metrics_of(
        int_or_none(get("impression_count")),
        int_or_none(get("retweet_count")),
        int_or_none(get("reply_count")),
        int_or_none(get("like_count")),
        int_or_none(get("quote_count")),
    )
    return None if m.is_empty() else m


def _distinct(items: Any, key: str) -> tuple[str, ...]:
    """The `key` strings of entity objects, first occurrence first."""
    if not items or not isinstance(items, list):
        return ()
    if len(items) > 8:  # a list's `in` is quicker than a dict for the usual few, and quadratic for many
        return tuple(
            dict.fromkeys(e[key] for e in items if isinstance(e, dict) and isinstance(e.get(key), str))
        )
    out: list[str] = []
    for e in items:
        if isinstance(e, dict):
            v = e.get(key)
            if isinstance(v, str) and v not in out:
                out.append(v)
    return tuple(out)


def _flags(t: dict, original: dict | None, reposted_id: int | None) -> list[dict[str, Any]]:
    """The media flags of a post: a repost whose original is missing (its text is cut), a withheld post."""
    flags: list[dict[str, Any]] = []
    if reposted_id is not None and original is None:
        flags.append({"type": "flag", "id": "truncated_repost",
                      "reason": "original post not in includes.tweets: v2 repost text is cut"})  # fmt: skip
    withheld = t.get("withheld") if isinstance(t.get("withheld"), dict) else None
    if withheld is None and original is not None and isinstance(original.get("withheld"), dict):
        withheld = original["withheld"]
    if withheld is not None:
        flags.append({"type": "flag", "id": "withheld", **{k: withheld.get(k) for k in
                      ("country_codes", "copyright", "scope") if k in withheld}})  # fmt: skip
    return flags
