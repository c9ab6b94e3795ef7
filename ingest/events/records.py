"""The records grouping passes around: a post to group (`Item`), a cluster's running sum (`Cluster`), where each
post went (`Assignment`), merges, and one run's result."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ingest.events.text import Vector

Key = tuple[str, int, int]


def age_bar(threshold: float, age_s: np.ndarray, grace_h: float, slope: float) -> np.ndarray:
    """The bar of `cluster._bar` (past the span aside) for an array of ages: `threshold` plus `slope` a hour past
    the first `grace_h` hours, by the same float operations, so each element equals the scalar bar."""
    return threshold + slope * np.maximum(0.0, age_s / 3600.0 - grace_h)


def past_span(age_s: float | np.ndarray, max_span_h: float) -> bool | np.ndarray:
    """Whether a cluster that began `age_s` seconds before a post is past its span of `max_span_h` hours (0: no
    span), so that the post cannot join it by similarity. Element-wise on a numpy array of ages: the bucket's
    product (`sums.Level.begin`) leaves out by this very test what the bar (`cluster._bar`) refuses."""
    return bool(max_span_h) & (age_s / 3600.0 > max_span_h)


ROLE_ORIGIN = "origin"
ROLE_FORWARD = "forward"
ROLE_REPORT = "report"


@dataclass(slots=True)
class Item:
    """One post to group."""

    key: Key
    ts: float  # posted_at, seconds since the epoch (UTC)
    vec: Vector
    refs: tuple[tuple[str, Key], ...] = ()  # (forward | repost | quote | reply, referenced post)
    dup: int | None = None
    content_hash: int = 0
    lead: int | None = None  # hash of the headline (first line), see `text.lead_key`
    # The storyline level's vector when it differs from the event level's (`vec` weighted by rarity, see
    # `ingest.events.rarity`): None means `vec`.
    svec: Vector | None = None
    # How fully `vec` is weighted by rarity: 0 plain (no history before the post), 1 over a full history; the
    # event level's thresholds follow it (`Params.join_thresholds`).
    rarity: float = 0.0
    # The post's rare features (`ingest.events.rarity`: at most `Params.anchor_max_df` posts of the window had
    # them), the anchors a young event may share with it (`Params.anchor_hours`); None without a full history.
    rare: np.ndarray | None = None
    # The post's features that burst the day before its own (`ingest.events.rarity.hot_features`): what a
    # storyline past its first day must share with it (`Params.storyline_key_grace_hours`); None without a
    # full history, and then no such test applies.
    hot: np.ndarray | None = None
    # Its sentences of at least 8 words (`text.sentence_keys`), and the one that is most of the post: what an
    # excerpt join compares (`Params.excerpt_hours`).
    main: int | None = None
    sentences: tuple[int, ...] = ()
    # Its hashtags' keys (`text.hashtag_keys` of the cleaned text): what a tag thread follows
    # (`Params.thread_hours`).
    tags: tuple[int, ...] = ()

    @property
    def order(self) -> tuple:
        return (self.ts, self.key)

    @property
    def story_vec(self) -> Vector:
        return self.vec if self.svec is None else self.svec


@dataclass(slots=True)
class Cluster:
    """An event or a storyline: the sum of its members' vectors and when it was active."""

    id: int
    first_ts: float
    last_ts: float
    first_key: Key
    n: int
    idx: np.ndarray
    val: np.ndarray
    norm2: int
    storyline: int | None = None  # events: the storyline they were created in

    @property
    def age(self) -> tuple:
        return (self.first_ts, self.first_key)


@dataclass(slots=True)
class Assignment:
    key: Key
    ts: float
    event: int  # the event the post was assigned to (before any later merge)
    storyline: int
    role: str
    # forward | repost | quote | reply | forwarded | duplicate | excerpt | similar | anchor | new
    joined_by: str
    similarity: float | None
    vec: Vector
    dup: int | None
    content_hash: int
    lead: int | None = None
    svec: Vector | None = None  # the storyline level's vector when it is not `vec`
    main: int | None = None
    sentences: tuple[int, ...] = ()
    tags: tuple[int, ...] = ()


@dataclass(slots=True)
class Merge:
    level: str  # event | storyline
    from_id: int
    to_id: int
    ts: float
    key: Key  # the post whose arrival merged them


@dataclass
class RunResult:
    assignments: list[Assignment] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    events_changed: set[int] = field(default_factory=set)
    storylines_changed: set[int] = field(default_factory=set)
    events_created: set[int] = field(default_factory=set)
    storylines_created: set[int] = field(default_factory=set)
