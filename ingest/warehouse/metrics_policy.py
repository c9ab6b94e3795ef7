"""Which count observations become rows of `post_metrics`: every change while a post is young, then only material
changes, and at least one row per gap when the counts keep moving (see docs/warehouse.md, "Metrics policy").

Hourly rescans of 48 h see a post's counts move at almost every pass; analysts want that resolution in the first
hours (how fast a post spread) and a coarser one later (how far it got). An observation left out is not lost
information about the present: `posts` holds the latest counts, and `analyst.post_metrics` shows them as the
post's latest observation whenever they are newer than its last stored row.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["ENV", "MetricsPolicy"]

#: Environment variables read by `MetricsPolicy.from_env` (the loader's default).
ENV = {
    "young_hours": "WIREWATCH_METRICS_YOUNG_HOURS",
    "min_change": "WIREWATCH_METRICS_MIN_CHANGE",
    "max_gap_hours": "WIREWATCH_METRICS_MAX_GAP_HOURS",
}


@dataclass(frozen=True)
class MetricsPolicy:
    """A count change observed at `t` is stored when any of these holds (comparing with the post's latest stored
    row at or before `t`; when a post's counts first change, its first observation is stored as before and the change
    is judged against it):

    - `t` is less than `young_hours` after the post was published (`None`: a post is always young, i.e. every
      change is stored, the behaviour before the policy existed);
    - a count appeared or disappeared, or moved by at least `min_change` of its stored value and by at least 1
      (reactions: their total). 0 makes every change material;
    - the latest stored row is at least `max_gap_hours` old (`None`: no such floor).

    An unchanged observation is never stored, whatever the policy.
    """

    young_hours: float | None = 24.0
    min_change: float = 0.05
    max_gap_hours: float | None = 6.0

    def __post_init__(self) -> None:
        if self.young_hours is not None and not (self.young_hours >= 0 and math.isfinite(self.young_hours)):
            raise ValueError(f"young_hours must be a finite number >= 0 or None, not {self.young_hours!r}")
        if not (self.min_change >= 0 and math.isfinite(self.min_change)):
            raise ValueError(f"min_change must be a finite fraction >= 0, not {self.min_change!r}")
        if self.max_gap_hours is not None and not (
            self.max_gap_hours > 0 and math.isfinite(self.max_gap_hours)
        ):
            raise ValueError(f"max_gap_hours must be a finite number > 0 or None, not {self.max_gap_hours!r}")

    @classmethod
    def keep_every_change(cls) -> MetricsPolicy:
        return cls(young_hours=None, min_change=0.0, max_gap_hours=None)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MetricsPolicy:
        """The defaults, overridden by $WIREWATCH_METRICS_YOUNG_HOURS (hours, or `all`: keep every change),
        $WIREWATCH_METRICS_MIN_CHANGE (a fraction: 0.05 is 5 %) and $WIREWATCH_METRICS_MAX_GAP_HOURS (hours, or
        `none`)."""
        env = os.environ if env is None else env
        default = cls()
        young = _hours(env, ENV["young_hours"], default.young_hours, none_word="all")
        gap = _hours(env, ENV["max_gap_hours"], default.max_gap_hours, none_word="none")
        raw = env.get(ENV["min_change"], "").strip()
        try:
            change = float(raw) if raw else default.min_change
        except ValueError:
            raise ValueError(f"${ENV['min_change']} must be a fraction like 0.05, not {raw!r}") from None
        return cls(young_hours=young, min_change=change, max_gap_hours=gap)

    def sql_params(self) -> dict[str, object]:
        """The named parameters of `post_sql.INSERT_METRICS`."""
        return {
            "young": None if self.young_hours is None else timedelta(hours=self.young_hours),
            "min_change": self.min_change,
            "max_gap": None if self.max_gap_hours is None else timedelta(hours=self.max_gap_hours),
        }


def _hours(env: Mapping[str, str], name: str, default: float | None, *, none_word: str) -> float | None:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw == none_word:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"${name} must be a number of hours or {none_word!r}, not {raw!r}") from None
