"""Records that flow through wirewatch: raw payloads in, normalised posts or rejects out.

Every source yields `RawRecord`s; a normaliser turns each into a `Post` (or several, for X pages) or a
`Rejected`. Nothing downstream of normalisation knows which platform or file format a post came from.

Also here, because every layer uses them: a configured channel (`ChannelSpec`), how far a source has read one
(`Cursor`), a post the platform says is gone (`Deletion`) and the shape of a normaliser (`Normalizer`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

#: Signed 64-bit range: every numeric id is stored as PostgreSQL bigint.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_T = TypeVar("_T")


class _Factory:
    """The default of a field with a default factory, as in dataclasses' own __init__."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def quick_init(cls: type[_T]) -> type[_T]:
    """Give a frozen, slotted dataclass a quicker `__init__`. The one dataclasses writes calls `object.__setattr__`
    per field (to get past frozen); a slot descriptor's `__set__` takes half that (65 ns), and a plain slot store
    ~10 ns: so the instance takes the class of a mutable twin with the same slots (`_mutable_twin`) while its
    fields are stored, then its own class back: a Post (28 fields, given by position) is made in 0.85 us where
    the descriptors took 1.7 us. Same parameters, order and defaults: only for classes without keyword-only or
    init=False fields, or `__post_init__`."""
    params, factories, names = [], [], []
    env: dict[str, Any] = {"_FACTORY": _FACTORY, "_cls": cls}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.kw_only or not f.init:
            raise TypeError(f"{cls.__name__}.{f.name}: not a plain field")
        if f.default_factory is not dataclasses.MISSING:
            env[f"_f_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_FACTORY")
            factories.append(f"    if {f.name} is _FACTORY:\n        {f.name} = _f_{f.name}()")
        elif f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            env[f"_d_{f.name}"] = f.default
            params.append(f"{f.name}=_d_{f.name}")
        env[f"_s_{f.name}"] = cls.__dict__[f.name].__set__
        names.append(f.name)
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has __post_init__")
    twin = _mutable_twin(cls) if len(names) >= _TWIN_FROM else None
    if twin is None:
        body = factories + [f"    _s_{n}(self, {n})" for n in names]
    else:
        env["_twin"], env["_set"] = twin, object.__setattr__
        body = [
            *factories,
            "    if type(self) is not _cls:",  # a subclass's instance (its layout may differ): field by field
            *[f"        _s_{n}(self, {n})" for n in names],
            "        return",
            '    _set(self, "__class__", _twin)',  # nothing between the two class changes can raise
            *[f"    self.{n} = {n}" for n in names],
            "    self.__class__ = _cls",
        ]
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body) + "\n", env)  # noqa: S102
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = dict(cls.__init__.__annotations__)
    cls.__init__ = init  # type: ignore[misc]
    return cls


def positional(cls: type, names: tuple[str, ...]) -> Callable[..., Any]:
    """A function taking `names` positionally that builds `cls` with positional arguments in its field order
    (the others at their defaults). Python 3.11 compiles a call with 16 or more keywords to one through a dict: a
    Post by keyword cost 0.8-1.5 us more than by position. This keeps the speed without tying callers to the
    dataclass's field order, which is read here, once, at import."""
    fields = dataclasses.fields(cls)
    order = [f.name for f in fields]
    unknown = set(names) - set(order)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
    last = max(order.index(n) for n in names)
    env: dict[str, Any] = {"_cls": cls}
    args = []
    for f in fields[: last + 1]:
        if f.name in names:
            args.append(f.name)
        elif f.default is not dataclasses.MISSING:
            env[f"_d_{f.name}"] = f.default
            args.append(f"_d_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            env[f"_f_{f.name}"] = f.default_factory
            args.append(f"_f_{f.name}()")
        else:
            raise TypeError(f"{cls.__name__}.{f.name} is required and not among {names}")
    src = f"def make_{cls.__name__}({', '.join(names)}):\n    return _cls({', '.join(args)})\n"
    exec(src, env)  # noqa: S102 - generated from the dataclass's own field list, as quick_init does
    return env[f"make_{cls.__name__}"]


#: From how many fields the twin pays: the two class changes take ~0.34 us, a field stored saves ~55 ns. Measured
#: even at 7 fields (Metrics, 0.47 us either way), ahead at 8 (Rejected, 0.40 against 0.51 us).
_TWIN_FROM = 8


def _mutable_twin(cls: type) -> type | None:
    """A plain class with `cls`'s slots and nothing else, whose class an instance of `cls` can take and give back
    (`__class__` assignment needs the same layout); None when the layouts differ (a slotted base class)."""
    twin = type(f"_{cls.__name__}Fields", (), {"__slots__": cls.__slots__, "__module__": cls.__module__})
    probe = object.__new__(cls)
    try:
        object.__setattr__(probe, "__class__", twin)
        probe.__class__ = cls
    except TypeError:
        return None
    return twin


@quick_init
@dataclass(frozen=True, slots=True)
class RawRecord:
    """One payload exactly as a source received it, plus where it came from.

    `payload` is the platform's own dict (a Telethon `to_dict()`, an X v2 page, a Desktop export message, a
    parsed t.me/s widget). `context` carries what the payload itself lacks (the export's channel, a page's
    includes); `origin` says where in the input it was found (file:line, URL) for rejects and provenance.
    """

    source: str
    payload: Any
    origin: str = ""
    fetched_at: datetime | None = None
    context: dict[str, Any] = field(default_factory=dict)
    raw_text: str | None = None  # the undecoded line/bytes when decoding failed
    # The raw hash of the bytes `payload` was decoded from, taken by a reader that had them (a Telethon JSONL
    # line) under the seed its platform's fingerprinter would use: spares serialising the payload again to hash
    # it. None: the fingerprinter hashes the payload.
    digest: int | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class Channel:
    """A channel or account as the platform identifies it: by its stable numeric id, never by handle."""

    platform: str
    channel_id: int
    handle: str | None = None
    title: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class Metrics:
    """Engagement counts at one observation; None where the platform did not report a count."""

    views: int | None = None
    forwards: int | None = None
    replies: int | None = None
    reposts: int | None = None
    quotes: int | None = None
    likes: int | None = None
    reactions: dict[str, int] | None = None

    def is_empty(self) -> bool:
        return (
            self.views is None and self.forwards is None and self.replies is None and self.reposts is None
            and self.quotes is None and self.likes is None and self.reactions is None
        )  # fmt: skip


@quick_init
@dataclass(frozen=True, slots=True)
class PostRef:
    """A reference from one post to another (reply, forward origin, quote, repost)."""

    platform: str
    channel_id: int | None
    post_id: int | None
    posted_at: datetime | None = None
    name: str | None = None  # a display name when the platform hides the id (forwards from users)
    handle: str | None = None  # a username when only that is known (t.me/s forwards)


#: The media fields a post's content hash reads: which file, not how it is shown (sizes, thumbnails).
MEDIA_IDENTITY = ("type", "id", "url", "mime_type", "file_name")


@quick_init
@dataclass(frozen=True, slots=True)
class Post:
    """One post, normalised. Identity is (platform, channel_id, post_id); every datetime is aware UTC.

    `version_at` is when this content became current: the edit time for edits, else `posted_at`. X edits get
    a new tweet id; normalisation keys them to the first id of `edit_history_tweet_ids` so one post carries
    its versions. `source_post_id` keeps the id the payload itself carried.
    """

    platform: str
    channel_id: int
    post_id: int
    posted_at: datetime
    text: str = ""
    channel: Channel | None = None
    edited_at: datetime | None = None
    version_at: datetime | None = None
    source_post_id: int | None = None
    lang: str | None = None
    url: str | None = None
    reply_to: PostRef | None = None
    forwarded_from: PostRef | None = None
    quoted: PostRef | None = None
    reposted: PostRef | None = None
    grouped_id: int | None = None
    kind: str = "post"  # post | service
    media: tuple[dict[str, Any], ...] = ()
    links: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    metrics: Metrics | None = None
    observed_at: datetime | None = None
    deleted: bool = False
    source: str = ""
    raw: Any = None  # the payload this post came from, kept in raw_records
    #: Where in the input the post was found (file:line, URL), for a reject the loader makes later.
    origin: str = field(default="", compare=False)
    #: The hash of the raw input this post was made from (`ingest.sources.fingerprint`), stored with the row so
    #: that the same input read again is skipped before normalising; None when the source gives none.
    raw_hash: int | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.platform, self.channel_id, self.post_id)

    @property
    def effective_version_at(self) -> datetime:
        return self.version_at or self.edited_at or self.posted_at

    def content_hash(self) -> int:
        """Hash of what makes an edit: text and media. Counts and edit_date are deliberately left out."""
        if not self.media:
            return stable_hash(self.text, [])
        media = [{k: m.get(k) for k in MEDIA_IDENTITY} for m in self.media]
        return stable_hash(self.text, media)


def stamp_raw_hash(post: Post, raw_hash: int) -> Post:
    """`post` carrying the hash of the input it was made from. Set in place, not by `dataclasses.replace` (which
    costs ~20 us a post, as much as normalising it): call it only on a post its normaliser has just returned,
    before anything else holds it."""
    object.__setattr__(post, "raw_hash", raw_hash)
    return post


@quick_init
@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that could not become a post, with a reason precise enough to act on."""

    source: str
    reason: str
    payload: Any = None
    origin: str = ""
    raw_text: str | None = None
    platform: str | None = None
    channel_id: int | None = None
    post_id: int | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class Deletion:
    """A post the platform says (or a rescan shows) is gone."""

    platform: str
    channel_id: int | None
    post_id: int
    deleted_at: datetime
    source: str = ""


Normalized = Post | Rejected | Deletion
Normalizer = Callable[[RawRecord], Iterable[Normalized]]


@dataclass(frozen=True, slots=True)
class Cursor:
    """How far a source has read one channel. `state` holds source-specific extras (next_token, ...)."""

    last_post_id: int | None = None
    last_posted_at: datetime | None = None
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FetchWindow:
    """What one pass asks of a live source: the posts of [since, until) (a backfill or a scheduled hour; both None:
    whatever is newer than the cursor), then a rescan of the posts published since `rescan_since` (edits,
    deletions, counts; None: no rescan)."""

    since: datetime | None = None
    until: datetime | None = None
    rescan_since: datetime | None = None

    @property
    def windowed(self) -> bool:
        """A window was asked for (a backfill or a scheduled hour), not just what is newer than the cursor."""
        return self.since is not None or self.until is not None


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """A watched channel as configured in seeds/channels.toml, before or after resolution to a numeric id."""

    platform: str  # telegram | x
    handle: str  # username without @ (lower-cased)
    source: str  # telethon | telegram_web | x_api
    channel_id: int | None = None  # known numeric id (resolved earlier, or configured)
    title: str | None = None
    account: str = "default"  # which credential set (Telegram session / X token) serves it
    options: dict[str, Any] = field(default_factory=dict)


def digest64(data: bytes) -> int:
    """The signed 64-bit BLAKE2b digest of bytes: every stored hash (row, content, raw record) is one."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


#: How `stable_hash` serialises its parts.
STABLE_HASH_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def stable_hash(*parts: Any) -> int:
    """A signed 64-bit hash of JSON-serialisable parts, stable across processes and versions."""
    return digest64(orjson.dumps(parts, option=STABLE_HASH_OPTIONS, default=str))


def utc(dt: datetime) -> datetime:
    """Return `dt` as aware UTC; a naive value is refused because its zone is unknowable."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: its time zone is unknown")
    return dt.astimezone(UTC)


def utc_from_unix(seconds: float | int | str) -> datetime:
    return datetime.fromtimestamp(float(seconds), tz=UTC)


def check_id(value: Any, what: str) -> int:
    """Coerce a number that is stored as bigint (an album id, a count) to an int or raise ValueError naming the
    field. Post, channel and reference ids take `positive_id`."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what} missing")
    if isinstance(value, str):
        # ASCII digits only: str.isdigit() also accepts superscripts and other scripts' digits.
        digits = value.strip().removeprefix("-")
        if not (digits.isascii() and digits.isdigit()):
            raise ValueError(f"{what} not numeric: {value[:40]!r}")
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"{what} has type {type(value).__name__}, expected integer")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{what} out of 64-bit range: {value}")
    return value


def id_problem(value: Any, what: str) -> str | None:
    """Why `value` is not a valid post, channel or reference id, or None. One rule for every platform: a
    positive integer that fits PostgreSQL's bigint (Telegram and X number from 1; 0 or a negative id is a
    parse error or a forged record)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{what} has type {type(value).__name__}, expected a positive integer id"
    if value <= 0:
        return f"{what} {value} is not a positive id"
    if value > INT64_MAX:
        return f"{what} {value} is out of the 64-bit id range"
    return None


def positive_id(value: Any, what: str) -> int:
    """An id given as an integer or a decimal string, checked by `id_problem`; ValueError naming the field."""
    n = check_id(value, what)
    problem = id_problem(n, what)
    if problem:
        raise ValueError(problem)
    return n
