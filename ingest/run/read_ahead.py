"""Reading ahead in an import: a thread reads, plans and normalises the next batch of a file while the caller's
thread loads the current one into the warehouse.

Why a thread and not a worker process: a batch's load is mostly the server's work (COPY, the upsert, index upkeep,
the commit), during which the loading thread waits on its socket with the GIL released; before this, decoding and
normalising the next batch waited for that to end, so the two cores took turns. A worker process would have to
pickle every post back, which costs more than normalising it (measured: docs/performance.md, "Both cores for
imports").

What stays as it was: every write, commit and rollback happens in the caller's thread on the caller's connection,
so Ctrl-C, SIGKILL and a lost connection end an import exactly as before; what the thread had prepared and not
yet handed over is dropped (it was never loaded, and the next import reads it again). The thread reaches the
warehouse only to ask which posts are stored from the same bytes (`plan_batch`), on a connection of its own that
sees committed batches only: a post repeated in the batch being loaded is then normalised and loaded as unchanged
instead of skipped, the same outcome for a little more work. Memory: at most `depth` prepared batches wait, plus
the one being prepared and the one being loaded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()


class ReadAhead(Generic[T]):
    """Iterate `prepare(chunk)` for each chunk of `chunks`, computed `depth` ahead in a daemon thread; an exception
    the chunks or `prepare` raise is raised to the consumer at the position it happened (after the batches
    prepared before it). Use as a context manager: leaving it stops the thread."""

    def __init__(self, chunks: Iterable[object], prepare: Callable[[object], T], *, depth: int = 1):
        self._chunks = chunks
        self._prepare = prepare
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wirewatch-read-ahead", daemon=True)

    def __enter__(self) -> ReadAhead[T]:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        try:
            for chunk in self._chunks:
                if self._stop.is_set() or not self._put(self._prepare(chunk)):
                    return
            self._put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, who decides
            self._put(exc)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread: it finishes the chunk in hand (or the probe in flight) and exits without reading on."""
        self._stop.set()
        while True:  # a thread blocked on a full queue sees the stop flag at its next try
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
