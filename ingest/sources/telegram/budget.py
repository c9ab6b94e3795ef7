"""Username resolutions (what gets accounts banned) are capped per process by a budget."""

from __future__ import annotations

import os
import threading

DEFAULT_RESOLVE_BUDGET = 20


class ResolveBudget:
    """How many usernames this process may still resolve through Telegram (contacts.resolveUsername)."""

    def __init__(self, limit: int = DEFAULT_RESOLVE_BUDGET):
        self.limit = max(0, int(limit))
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.used >= self.limit:
                return False
            self.used += 1
            return True


_PROCESS_BUDGETS: dict[str, ResolveBudget] = {}
_PROCESS_BUDGETS_LOCK = threading.Lock()


def process_budget(account: str) -> ResolveBudget:
    """The budget every source of this account shares in this process (WIREWATCH_TELEGRAM_RESOLVE_BUDGET)."""
    with _PROCESS_BUDGETS_LOCK:
        if account not in _PROCESS_BUDGETS:
            raw = os.environ.get("WIREWATCH_TELEGRAM_RESOLVE_BUDGET", "")
            limit = int(raw) if raw.strip().isdigit() else DEFAULT_RESOLVE_BUDGET
            _PROCESS_BUDGETS[account] = ResolveBudget(limit)
        return _PROCESS_BUDGETS[account]
