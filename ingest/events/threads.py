"""Tag threads' memory: each hashtag's latest uses, the days each channel used it on (a rubric's test), and so
which storyline holds the thread (`Params.thread_hours`; the grouper decides whether to merge,
`Grouper._follow_tags`).

A hashtag is a topic its authors chose: a typhoon's or a bushfire season's tag runs for weeks, past the span a
storyline may grow by similarity. Every part is bounded: a tag keeps its latest `SCAN` uses (a post reads no
more), and which channels used it on each of the last `window_days + 1` UTC days, so a tag that thousands of
posts carry a day costs no more per post than a rare one. An increment reads only that much of the warehouse,
and only for the tags its posts carry (no other is asked about): their latest uses
(`ingest.warehouse.events.tag_uses`), and their channels of each day from the days' stored rows, which keep every
tag's channels of the day beside the rarity counts (`ingest.warehouse.rarity_days`).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable

from ingest.events.rarity import day_of

Channel = tuple[str, int]

#: How many of a tag's latest uses by other sources vote for the storyline that holds its thread, and how many
#: of its latest uses a post reads at most to find them (a rubric's uses and the post's own channel's are skipped).
VOTES = 64
SCAN = 256


class _Tag:
    __slots__ = ("channel_days", "days", "uses")

    def __init__(self) -> None:
        # Its latest uses as (posted_at, the storyline the post was in, its channel), oldest first.
        self.uses: deque[tuple[float, int, Channel]] = deque(maxlen=SCAN)
        # (UTC day, the channels that used it that day), oldest first, and how many of those days each channel has.
        self.days: deque[tuple[int, set[Channel]]] = deque()
        self.channel_days: Counter[Channel] = Counter()


class TagThreads:
    """Hashtag uses in the posts' canonical order; a channel is a tag's rubric when it used it on at least
    `rubric_days` of the post's UTC day and the `window_days` days before."""

    def __init__(self, rubric_days: int, window_days: int):
        self.rubric_days = rubric_days
        self.window_days = window_days
        self.tags: dict[int, _Tag] = {}

    def _tag(self, tag: int) -> _Tag:
        t = self.tags.get(tag)
        if t is None:
            t = self.tags[tag] = _Tag()
        return t

    def note(self, tag: int, ts: float, storyline: int, channel: Channel) -> None:
        """A post with `tag`, once it is placed (and a stored post's use, `add_use` and `add_day` apart)."""
        self.add_use(tag, ts, storyline, channel)
        self.add_day(tag, day_of(ts), channel)

    def add_use(self, tag: int, ts: float, storyline: int, channel: Channel) -> None:
        self._tag(tag).uses.append((ts, storyline, channel))

    def add_day(self, tag: int, day: int, channel: Channel) -> None:
        """`channel` used `tag` on `day` (days in order)."""
        t = self._tag(tag)
        if not t.days or t.days[-1][0] != day:
            t.days.append((day, set()))
        seen = t.days[-1][1]
        if channel not in seen:
            seen.add(channel)
            t.channel_days[channel] += 1

    def holders(
        self, tag: int, ts: float, channel: Channel, horizon_s: float, resolve: Callable[[int], int]
    ) -> list[int]:
        """The storylines holding the tag's uses by other sources (none of them a rubric user) in the
        `horizon_s` seconds before `ts`, most uses of the latest `VOTES` first (ties: the one used first);
        empty when the tag is `channel`'s rubric."""
        t = self.tags.get(tag)
        if t is None:
            return []
        day = day_of(ts)
        self._forget_days(t, day - self.window_days)
        need = self.rubric_days
        counts = t.channel_days
        today = t.days[-1][1] if t.days and t.days[-1][0] == day else ()
        if counts[channel] + (channel not in today) >= need:
            return []
        latest: list[int] = []
        since = ts - horizon_s
        for u_ts, sid, ch in reversed(t.uses):
            if u_ts < since:
                break
            if ch != channel and counts[ch] < need:
                latest.append(sid)
                if len(latest) == VOTES:
                    break
        # Counted oldest first, so that of storylines with as many uses the one used first comes first.
        votes = Counter(resolve(sid) for sid in reversed(latest))
        return [sid for sid, _ in votes.most_common()]

    @staticmethod
    def _forget_days(t: _Tag, first_day: int) -> None:
        while t.days and t.days[0][0] < first_day:
            _, channels = t.days.popleft()
            for ch in channels:
                t.channel_days[ch] -= 1
                if not t.channel_days[ch]:
                    del t.channel_days[ch]
