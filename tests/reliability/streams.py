"""Synthetic Telegram channels that change over time, and a fake live source serving them.

`generate_stream(seed, ...)` builds one channel's history as a sequence of *epochs* (hourly observation points):
messages are published, edited (text changes, with a later `edit_date`), "bumped" (Telegram moves `edit_date`
when reactions change, text unchanged), gain views/forwards/replies/reactions, and get deleted (a whole album,
one album member, or a single post). Albums (several messages sharing `grouped_id`, one caption), forwards
(`fwd_from` with the original's own date), replies, hashtag entities with UTF-16 offsets (emoji before them)
and service messages are mixed in. The platform state is constant within an epoch: `state(k)` is what
Telegram would answer at any time in [T_k, T_k+1).

`FakeLiveSource` implements `ingest.sources.base.LiveSource` over a stream with the Telethon source's contract
(ingest/sources/telegram.py): `to_dict()`-shaped payloads under source "telethon", new posts after the cursor
(or in [since, until)) oldest first, then a rescan; every batch claims the contiguous id range it lists
completely (`Listed`), albums are never split, cursors only on new-post batches, a window moves the cursor only
when nothing between the cursor and the window is skipped. Knobs raise `Deferred` (a FloodWait/429 beyond what
is worth sleeping) or an error on every k-th request, and report deleted messages as `MessageEmpty`.

`SimClock` is the simulated wall clock the source reads for `fetched_at` and the epoch it serves.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ingest.models import ChannelSpec, Cursor, FetchWindow, RawRecord
from ingest.sources.base import Batch, Deferred, Listed

UTC = timezone.utc
#: Fixed in the past so every generated time passes the "not in the future" check, whatever today is.
BASE = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
EPOCH = timedelta(hours=1)
SOURCE = "telethon"
WORDS = (
    "report", "strike", "convoy", "bridge", "ceasefire", "update", "video", "map", "статья", "Київ", "خبر",
    "👍", "🔥", "official", "claims", "denies", "breaking", "port", "grid", "power",
)  # fmt: skip
FWD_CHANNEL = 1_222_333_444


# ----------------------------------------------------------------------------------------------- the stream


@dataclass
class Version:
    """A message's state during one epoch."""

    text: str
    edit_date: datetime | None
    views: int
    forwards: int
    replies: int
    reactions: dict[str, int]


@dataclass
class Message:
    msg_id: int
    published: int  # first epoch in which it is visible
    posted_at: datetime
    grouped_id: int | None = None
    service: bool = False
    photo_id: int | None = None
    fwd: tuple[int, int, datetime] | None = None  # (channel id, post id, original date)
    reply_to: int | None = None
    deleted_from: int | None = None  # first epoch in which it is gone
    states: list[Version] = field(default_factory=list)  # index: epoch - published

    def live_at(self, k: int) -> bool:
        return self.published <= k and (self.deleted_from is None or k < self.deleted_from)

    def state(self, k: int) -> Version:
        return self.states[min(k - self.published, len(self.states) - 1)]


@dataclass
class Stream:
    channel_id: int
    handle: str
    title: str
    epochs: int
    messages: list[Message]  # ascending id
    renamed: tuple[int, str] | None = None  # (epoch, new handle): the channel changes its username
    #: Extra payload fields per message id (to plant a poisoned record in an otherwise good stream).
    overrides: dict[int, dict[str, Any]] = field(default_factory=dict)

    def t(self, k: int) -> datetime:
        """Start of epoch k."""
        return BASE + k * EPOCH

    def epoch_at(self, when: datetime) -> int:
        k = int((when - BASE) // EPOCH)
        return max(0, min(k, self.epochs - 1))

    def handle_at(self, k: int) -> str:
        if self.renamed and k >= self.renamed[0]:
            return self.renamed[1]
        return self.handle

    def live(self, k: int) -> list[Message]:
        return [m for m in self.messages if m.live_at(k)]

    def first_time(self) -> datetime:
        return min(m.posted_at for m in self.messages)

    # -------------------------------------------------------------------------------- payloads

    def payload(self, m: Message, k: int) -> dict[str, Any]:
        """The message as Telethon's `to_dict()` made JSON-safe (ISO dates with offsets) at epoch k."""
        s = m.state(k)
        peer = {"_": "PeerChannel", "channel_id": self.channel_id}
        if m.service:
            return {
                "_": "MessageService", "id": m.msg_id, "peer_id": peer, "date": m.posted_at.isoformat(),
                "out": False, "post": True, "reply_to": None, "ttl_period": None,
                "action": {"_": "MessageActionPinMessage"},
            }  # fmt: skip
        entities = []
        if "#" in s.text:
            prefix = s.text[: s.text.index("#")]
            offset = len(prefix.encode("utf-16-le")) // 2  # Telegram counts UTF-16 code units
            tag = s.text[s.text.index("#") :].split(" ")[0]
            entities.append(
                {"_": "MessageEntityHashtag", "offset": offset, "length": len(tag.encode("utf-16-le")) // 2}
            )
        fwd = None
        if m.fwd:
            fwd = {
                "_": "MessageFwdHeader", "date": m.fwd[2].isoformat(),
                "from_id": {"_": "PeerChannel", "channel_id": m.fwd[0]}, "channel_post": m.fwd[1],
                "from_name": None, "post_author": None,
            }  # fmt: skip
        media = None
        if m.photo_id is not None:
            media = {"_": "MessageMediaPhoto", "photo": {"_": "Photo", "id": m.photo_id,
                     "sizes": [{"_": "PhotoSize", "type": "x", "w": 800, "h": 600, "size": 1000}]},
                     "spoiler": False, "ttl_seconds": None}  # fmt: skip
        reactions = None
        if s.reactions:
            reactions = {
                "_": "MessageReactions", "min": False, "can_see_list": False,
                "results": [
                    {"_": "ReactionCount", "reaction": {"_": "ReactionEmoji", "emoticon": e}, "count": c}
                    for e, c in sorted(s.reactions.items())
                ],
            }  # fmt: skip
        return {
            **self._payload(m, s, peer, entities, fwd, media, reactions),
            **self.overrides.get(m.msg_id, {}),
        }

    @staticmethod
    def _payload(m: Message, s: Version, peer, entities, fwd, media, reactions) -> dict[str, Any]:
        return {
            "_": "Message", "id": m.msg_id, "peer_id": peer, "date": m.posted_at.isoformat(), "message": s.text,
            "out": False, "post": True, "from_id": None, "fwd_from": fwd,
            "reply_to": {"_": "MessageReplyHeader", "reply_to_msg_id": m.reply_to, "reply_to_peer_id": None}
            if m.reply_to else None,
            "media": media, "entities": entities, "views": s.views, "forwards": s.forwards,
            "replies": {"_": "MessageReplies", "replies": s.replies, "replies_pts": 1},
            "edit_date": s.edit_date.isoformat() if s.edit_date else None, "post_author": None,
            "grouped_id": m.grouped_id, "reactions": reactions, "restriction_reason": [], "ttl_period": None,
        }  # fmt: skip

    def empty_payload(self, msg_id: int) -> dict[str, Any]:
        return {
            "_": "MessageEmpty",
            "id": msg_id,
            "peer_id": {"_": "PeerChannel", "channel_id": self.channel_id},
        }


def _text(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.3:
        words.append("#" + rng.choice(("osint", "ua", "ru", "news")))
        words.append(rng.choice(WORDS))
    return " ".join(words)


def generate_stream(
    seed: int,
    *,
    messages: int = 30,
    epochs: int = 4,
    p_edit: float = 0.15,
    p_bump: float = 0.1,
    p_delete: float = 0.06,
    p_album: float = 0.15,
    rename: bool = False,
    channel_id: int = 1_700_000_001,
) -> Stream:
    """A reproducible channel history: `messages` messages published over `epochs` hourly epochs."""
    rng = random.Random(seed)
    out: list[Message] = []
    msg_id = rng.randint(1, 50)
    step = max(2, min(1200, int(20 * 3600 / messages)))  # seconds between posts: a day of history at most
    # Publication epochs, non-decreasing with id; about half the messages exist before the first epoch.
    schedule = sorted(0 if rng.random() < 0.5 else rng.randint(0, epochs - 1) for _ in range(messages))
    while len(out) < messages:
        published = schedule[len(out)]
        prev = out[-1].posted_at if out else BASE - timedelta(days=2)
        start = BASE + published * EPOCH - (timedelta(hours=30) if published == 0 else EPOCH)
        posted_at = max(prev, start) + timedelta(seconds=rng.randint(1, step))
        if posted_at >= BASE + published * EPOCH:  # must exist when epoch `published` is observed
            posted_at = BASE + published * EPOCH - timedelta(seconds=1)
            if posted_at < prev:
                posted_at = prev
        size = rng.randint(2, 4) if rng.random() < p_album else 1
        grouped = rng.randint(10**12, 10**13) if size > 1 else None
        caption = rng.randrange(size)
        fwd = None
        if size == 1 and rng.random() < 0.15:
            fwd = (FWD_CHANNEL, rng.randint(1, 9999), posted_at - timedelta(hours=rng.randint(1, 48)))
        service = size == 1 and fwd is None and rng.random() < 0.05
        reply_to = out[-1].msg_id if (out and size == 1 and not service and rng.random() < 0.1) else None
        for i in range(size):
            text = _text(rng, rng.randint(1, 8)) if (size == 1 or i == caption) else ""
            out.append(
                Message(
                    msg_id=msg_id,
                    published=published,
                    posted_at=posted_at,
                    grouped_id=grouped,
                    service=service,
                    photo_id=rng.randint(10**15, 10**16) if (size > 1 or rng.random() < 0.2) else None,
                    fwd=fwd,
                    reply_to=reply_to,
                    states=[Version(text, None, rng.randint(0, 50), 0, 0, {})],
                )  # fmt: skip
            )
            msg_id += 1
        msg_id += rng.choice((0, 0, 0, 1, 3))  # id gaps: messages deleted before anyone saw them
    _evolve(rng, out, epochs, p_edit, p_bump, p_delete)
    handle = f"synth{seed % 100000}"
    renamed = (rng.randint(1, epochs - 1), handle + "_new") if rename and epochs > 1 else None
    return Stream(channel_id, handle, f"Synthetic {seed}", epochs, out, renamed)


def _evolve(
    rng: random.Random, msgs: list[Message], epochs: int, p_edit: float, p_bump: float, p_delete: float
) -> None:
    albums: dict[int, list[Message]] = {}
    for m in msgs:
        if m.grouped_id is not None:
            albums.setdefault(m.grouped_id, []).append(m)
    for m in msgs:
        for k in range(m.published + 1, epochs):
            prev = m.states[-1]
            nxt = Version(
                prev.text, prev.edit_date, prev.views, prev.forwards, prev.replies, dict(prev.reactions)
            )
            nxt.views += rng.choice((0, 0, 1, 5, 40))
            if rng.random() < 0.2:
                nxt.forwards += 1
            if rng.random() < 0.1:
                nxt.replies += 1
            if rng.random() < 0.25:
                emoji = rng.choice(("👍", "🔥", "😢"))
                nxt.reactions[emoji] = max(0, nxt.reactions.get(emoji, 0) + rng.choice((-1, 1, 2)))
                nxt.reactions = {e: c for e, c in nxt.reactions.items() if c > 0}
            if m.service:
                nxt = Version(prev.text, None, 0, 0, 0, {})
            elif rng.random() < p_edit and (m.grouped_id is None or prev.text):
                nxt.text = prev.text + " (upd: " + rng.choice(WORDS) + ")"
                nxt.edit_date = BASE + k * EPOCH - timedelta(seconds=rng.randint(1, 3000))
            elif rng.random() < p_bump:
                nxt.edit_date = BASE + k * EPOCH - timedelta(seconds=rng.randint(1, 3000))
            if nxt.edit_date is not None and nxt.edit_date <= m.posted_at:
                nxt.edit_date = m.posted_at + timedelta(seconds=1)
            if prev.edit_date is not None and nxt.edit_date is not None and nxt.edit_date < prev.edit_date:
                nxt.edit_date = prev.edit_date
            m.states.append(nxt)
    for m in msgs:
        if m.service or m.deleted_from is not None:
            continue
        if rng.random() < p_delete and m.published + 1 < epochs:
            k = rng.randint(m.published + 1, epochs - 1)
            members = (
                albums.get(m.grouped_id, [m]) if m.grouped_id is not None and rng.random() < 0.5 else [m]
            )
            for x in members:
                x.deleted_from = k if x.deleted_from is None else min(x.deleted_from, k)


# ---------------------------------------------------------------------------------------------- the source


class SimClock:
    """Simulated time: the fake source reads it for `fetched_at` and for which epoch to serve."""

    def __init__(self, now: datetime = BASE):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when


class SourceBroke(Exception):
    """A scripted failure that is not a rate limit (HTTP 500, connection reset): the run fails."""


@dataclass
class Faults:
    """Scripted trouble: on every `every`-th request (counting from `offset`), raise `kind`.

    kind "deferred": `Deferred` until now + `wait` (FloodWait or 429 beyond the sleep threshold);
    kind "error": `SourceBroke` (the run fails). `only_once_per_call` keeps a storm from firing twice in one
    fetch, so each run makes some progress (a real FloodWait lets the first requests of a run through).
    """

    every: int = 0
    kind: str = "deferred"
    offset: int = 0
    wait: timedelta = timedelta(minutes=5)
    only_once_per_call: bool = False
    on_resolve: bool = True  # whether resolving a handle counts as a request that can fail


class FakeLiveSource:
    """A `LiveSource` serving a `Stream` at the clock's epoch with the Telethon source's contract."""

    name = SOURCE
    platform = "telegram"

    def __init__(
        self,
        stream: Stream,
        clock: SimClock,
        *,
        batch_size: int = 5,
        faults: Faults | None = None,
        empties: bool = False,
    ):
        self.stream = stream
        self.clock = clock
        self.batch_size = batch_size
        self.faults = faults or Faults()
        self.empties = empties
        self.requests = 0
        self.raised: list[str] = []
        self.yielded: list[Batch] = []
        #: The lowest id a cursor-moving scan ever started from: below it the cursor makes no promise.
        self.cursor_floor: int | None = None
        self._fired_this_call = False

    # ----------------------------------------------------------------------------------- faults

    def _request(self) -> None:
        self.requests += 1
        f = self.faults
        if not f.every or self.requests <= f.offset or (self.requests - f.offset) % f.every:
            return
        if f.only_once_per_call and self._fired_this_call:
            return
        self._fired_this_call = True
        self.raised.append(f.kind)
        if f.kind == "deferred":
            raise Deferred(self.clock() + f.wait, f"FLOOD_WAIT_{int(f.wait.total_seconds())} (simulated)")
        raise SourceBroke(f"simulated HTTP 500 on request {self.requests}")

    # -------------------------------------------------------------------------------- LiveSource

    def resolve(self, spec: ChannelSpec) -> tuple[int, str | None, str | None]:
        if self.faults.on_resolve:
            self._request()
        k = self.stream.epoch_at(self.clock())
        return self.stream.channel_id, self.stream.handle_at(k), self.stream.title

    def fetch(
        self,
        spec: ChannelSpec,
        channel_id: int,
        cursor: Cursor | None,
        window: FetchWindow,
    ) -> Iterator[Batch]:
        since, until, rescan_since = window.since, window.until, window.rescan_since
        self._fired_this_call = False
        k = self.stream.epoch_at(self.clock())
        last = cursor.last_post_id if cursor is not None and cursor.last_post_id else None
        if since is not None or until is not None:
            if since is None or (last is None and until is None):
                mode = "always"
            elif last is None:
                mode = "never"
            else:
                mode = "contiguous"
            yield from self._scan(k, start_date=since, stop_date=until, cursor_mode=mode, floor=last)
            if since is not None and rescan_since is not None and rescan_since < since:
                yield from self._scan(k, start_date=rescan_since, stop_date=since, rescan=True)
            return
        if last is not None:
            yield from self._scan(k, start_id=last + 1, cursor_mode="always")
        elif rescan_since is not None:
            yield from self._scan(k, start_date=rescan_since, cursor_mode="always")
        else:
            yield from self._scan(k, start_id=1, cursor_mode="always")
        if last is not None and rescan_since is not None:
            yield from self._scan(k, start_date=rescan_since, stop_id=last, rescan=True)

    # --------------------------------------------------------------------------------- scanning

    def _scan(
        self,
        k: int,
        *,
        start_id: int | None = None,
        start_date: datetime | None = None,
        stop_id: int | None = None,
        stop_date: datetime | None = None,
        rescan: bool = False,
        cursor_mode: str = "never",
        floor: int | None = None,
    ) -> Iterator[Batch]:
        live = self.stream.live(k)
        if start_id is not None:
            low = start_id
            before = [m for m in live if m.msg_id < start_id]
        else:
            before = [m for m in live if start_date is not None and m.posted_at < start_date]
            low = before[-1].msg_id + 1 if before else 1
        chosen = [
            m for m in live
            if m.msg_id >= low
            and (stop_id is None or m.msg_id <= stop_id)
            and (stop_date is None or m.posted_at < stop_date)
        ]  # fmt: skip
        after = [
            m for m in live if m.msg_id >= low and m not in chosen and (stop_id is None or m.msg_id > stop_id)
        ]
        if stop_id is not None:
            final_high = stop_id
        elif after:
            final_high = after[0].msg_id - 1
        else:
            final_high = chosen[-1].msg_id if chosen else low - 1
        emit_cursor = cursor_mode == "always" or (
            cursor_mode == "contiguous" and (not before or (floor is not None and before[-1].msg_id <= floor))
        )
        # The floor is where the first cursor that was actually committed started promising; a scan the
        # source deferred before its first batch promised nothing (a later first run may start higher).
        scan_low = low
        chunks = list(_album_safe(chosen, self.batch_size)) or ([[]] if low <= final_high else [])
        for i, chunk in enumerate(chunks):
            self._request()
            high = final_high if i == len(chunks) - 1 else chunk[-1].msg_id
            now = self.clock()
            ctx = {"handle": self.stream.handle_at(k), "handle_channel_id": self.stream.channel_id,
                   "title": self.stream.title}  # fmt: skip
            records = [
                RawRecord(
                    SOURCE, self.stream.payload(m, k), origin=f"fake:{m.msg_id}", fetched_at=now, context=ctx
                )
                for m in chunk
            ]
            if self.empties and rescan:
                ids = {m.msg_id for m in chunk}
                gone = [
                    m.msg_id for m in self.stream.messages
                    if low <= m.msg_id <= high and m.msg_id not in ids and m.published <= k and not m.live_at(k)
                ]  # fmt: skip
                records += [
                    RawRecord(
                        SOURCE, self.stream.empty_payload(i), origin=f"fake:{i}", fetched_at=now, context=ctx
                    )
                    for i in gone
                ]
            batch_cursor = None
            if emit_cursor and not rescan and chunk:
                batch_cursor = Cursor(last_post_id=chunk[-1].msg_id, last_posted_at=chunk[-1].posted_at)
                if self.cursor_floor is None and floor is None:
                    self.cursor_floor = scan_low
            listed = Listed(low, high) if low <= high else None
            batch = Batch(records, cursor=batch_cursor, listed=listed, rescan=rescan)
            self.yielded.append(batch)
            yield batch
            low = high + 1


def _album_safe(msgs: list[Message], size: int) -> Iterator[list[Message]]:
    chunk: list[Message] = []
    for m in msgs:
        if len(chunk) >= size and (m.grouped_id is None or m.grouped_id != chunk[-1].grouped_id):
            yield chunk
            chunk = []
        chunk.append(m)
    if chunk:
        yield chunk


def spec_for(stream: Stream, *, configured_id: bool = True) -> ChannelSpec:
    return ChannelSpec(
        platform="telegram", handle=stream.handle, source=SOURCE,
        channel_id=stream.channel_id if configured_id else None, title=stream.title,
    )  # fmt: skip


def write_jsonl(stream: Stream, k: int, path) -> int:
    """The channel's state at epoch k as a Telethon JSONL capture (what a collector run writes)."""
    import orjson

    n = 0
    with open(path, "wb") as fh:
        for m in stream.live(k):
            fh.write(orjson.dumps(stream.payload(m, k)) + b"\n")
            n += 1
    return n
