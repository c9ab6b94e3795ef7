"""Pages of an X user timeline: the ids a page holds, the posts X bills for it, and a walk's pages; small time and
id helpers of the live source."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ingest.models import RawRecord, positive_id
from ingest.times import iso_to_utc


@dataclass
class Walk:
    """The pages of one newest-first walk, and whether it reached the end."""

    pages: list[RawRecord] = field(default_factory=list)
    complete: bool = False
    error: Exception | None = None

    def ids(self) -> list[int]:
        return [i for p in self.pages for i in data_ids(p.payload)]

    def reads(self) -> int:
        return sum(billed_reads(p.payload) for p in self.pages)


def data_ids(page: Any) -> list[int]:
    data = page.get("data") if isinstance(page, dict) else None
    if isinstance(data, dict):
        data = [data]
    out = []
    for t in data or ():
        if isinstance(t, dict):
            try:
                out.append(positive_id(t.get("id"), "id"))
            except ValueError:
                continue
    return out


def billed_reads(page: Any) -> int:
    """Posts X bills for in one page: the tweets in data and in includes.tweets."""
    if not isinstance(page, dict):
        return 0
    data = page.get("data")
    n = 1 if isinstance(data, dict) else len(data) if isinstance(data, list) else 0
    includes = page.get("includes")
    tweets = includes.get("tweets") if isinstance(includes, dict) else None
    return n + (len(tweets) if isinstance(tweets, list) else 0)


def author_tweet_count(pages: list[RawRecord], user_id: int) -> int | None:
    for p in pages:
        includes = p.payload.get("includes") if isinstance(p.payload, dict) else None
        for u in (includes or {}).get("users") or ():
            if isinstance(u, dict) and str(u.get("id")) == str(user_id):
                pm = u.get("public_metrics")
                if isinstance(pm, dict) and isinstance(pm.get("tweet_count"), int):
                    return pm["tweet_count"]
    return None


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def parse_iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return iso_to_utc(value)
    except ValueError:
        return None


def end_time(until: datetime) -> datetime:
    """The API's end_time is inclusive at second granularity: the last whole second before `until`."""
    return (until - timedelta(microseconds=1)).replace(microsecond=0)


def max_none(*values: int | None) -> int | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None
