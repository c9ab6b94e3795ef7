"""How a process that parses and loads records in bulk runs Python: the collector and the thread switch interval.

Bulk CLI commands set both at start (`ingest.cli.main`), and so does each worker process of a parallel import
(`ingest.run.parallel`), which starts a fresh interpreter."""

from __future__ import annotations

import gc
import sys


def tune_gc() -> None:
    """Collect reference cycles less often. A batch of parsed records (thousands of dicts, each post's raw payload)
    stays alive while it is normalised and loaded, and Python's default (a young collection every 700
    allocations, promoted objects walked again and again) spent a third of an import's normalisation walking it:
    65 -> 40 us a Telethon record, 56 -> 38 us an X post (`python -m bench normalize`, the batched path).
    Records and posts hold no cycles, so nothing more is kept: memory is freed by reference counts as before.
    What the start-up imported is frozen out of every collection."""
    gc.freeze()
    gc.set_threshold(200_000, 10, 10)


#: Seconds a thread may hold the GIL while another waits for it (Python's default: 0.005).
BULK_SWITCH_INTERVAL = 0.001


def tune_switching() -> None:
    """Hand the GIL over sooner. An import's main thread feeds the server (COPY) and waits on it in short turns
    while its read-ahead thread normalises the next batch: each time the main thread's wait ends it waited up to
    the whole interval for the GIL, and the server idled meanwhile. At 1 ms, 100k X posts import in 8.9 s instead
    of 9.5 s (medians of 3, alternated); Telethon JSONL, bound by the client's CPU, is unchanged."""
    sys.setswitchinterval(BULK_SWITCH_INTERVAL)


def tune() -> None:
    tune_gc()
    tune_switching()
