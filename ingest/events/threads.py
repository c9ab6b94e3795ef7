"""Tag threads' memory: each hashtag's recent uses, which channels use it as a rubric, and which storyline holds
the thread (`Params.thread_hours`; the grouper decides whether to merge, `Grouper._follow_tags`).

A hashtag is a topic its authors chose: a typhoon's or a bushfire season's tag runs for weeks, past the span a
storyline may grow by similarity. Every operation is bounded (a post reads at most `SCAN` uses of a tag), so a
tag that thousands of posts carry a day costs no more per post than a rare one.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable

Channel = tuple[str, int]

#: How many of a tag's latest uses by other sources vote for the storyline that holds its thread, and how many
#: of its latest uses a post reads at most to find them (a rubric's uses or the post's own channel's are skipped).
VOTES = 64
SCAN = 256


class _Tag:
    __slots__ = ("days", "uses")

    def __init__(self) -> None:
        # (posted_at, the storyline the post was in, its channel), oldest first
        self.uses: deque[tuple[float, int, Channel]] = deque()
        # channel -> how many of the uses in memory it made on each UTC day
        self.days: dict[Channel, Counter[int]] = {}


class TagThreads:
    """The uses of every hashtag over the last `memory_s` seconds, in the posts' canonical order."""

    def __init__(self, memory_s: float, rubric_days: int):
        self.memory_s = memory_s
        self.rubric_days = rubric_days
        self.tags: dict[int, _Tag] = {}

    def note(self, tag: int, ts: float, storyline: int, channel: Channel) -> None:
        """A post with `tag` (after the post was placed; in canonical order)."""
        t = self.tags.get(tag)
        if t is None:
            t = self.tags[tag] = _Tag()
        t.uses.append((ts, storyline, channel))
        t.days.setdefault(channel, Counter())[int(ts // 86400)] += 1

    def rubric(self, t: _Tag, channel: Channel, today: int | None = None) -> bool:
        """Whether `channel` put the tag on posts of at least `rubric_days` days in memory (and `today`)."""
        days = t.days.get(channel)
        n = len(days) if days else 0
        if today is not None and (not days or today not in days):
            n += 1
        return n >= self.rubric_days

    def holders(
        self, tag: int, ts: float, channel: Channel, horizon_s: float, resolve: Callable[[int], int]
    ) -> list[int]:
        """The storylines holding the tag's uses by other sources (none of them a rubric user) in the
        `horizon_s` seconds before `ts`, most uses of the latest `VOTES` first (ties: the one used first);
        empty when the tag is `channel`'s rubric."""
        t = self.tags.get(tag)
        if t is None:
            return []
        self.forget(t, ts - self.memory_s)
        if self.rubric(t, channel, int(ts // 86400)):
            return []
        latest: list[int] = []
        since = ts - horizon_s
        days, need = t.days, self.rubric_days
        for n, (u_ts, sid, ch) in enumerate(reversed(t.uses)):
            if u_ts < since or n == SCAN:
                break
            # `rubric` inlined: a popular tag's uses are read by the dozen for every post.
            if ch != channel and len(days[ch]) < need:
                latest.append(sid)
                if len(latest) == VOTES:
                    break
        # Counted oldest first, so that of storylines with as many uses the one used first comes first.
        votes = Counter(resolve(sid) for sid in reversed(latest))
        return [sid for sid, _ in votes.most_common()]

    def forget(self, t: _Tag, before: float) -> None:
        """Drop the tag's uses from before `before`."""
        while t.uses and t.uses[0][0] < before:
            u_ts, _, ch = t.uses.popleft()
            days = t.days[ch]
            day = int(u_ts // 86400)
            days[day] -= 1
            if not days[day]:
                del days[day]
                if not days:
                    del t.days[ch]
