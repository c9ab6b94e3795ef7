"""Ctrl-C held back while a run row is started: an interrupt between the commit of a 'running' run and the `try`
that would end it as failed left the run 'running' (until the next run's reaper noticed its session was gone).

`hold()` records SIGINT (and the import workers' SIGUSR1, whichever raises KeyboardInterrupt) instead of raising
it; `Hold.release()`, called first thing inside the caller's `try`, puts the handlers back and raises the
interrupt there, where the run is ended as failed. Used as a context manager around the run's start, the hold
also ends if the start itself fails (that exception goes on):

    with interrupts.hold() as held:
        run_id = runs.start_run(...)
    try:
        held.release()
        ...

Only the main thread can set handlers; elsewhere (where no signal handler runs anyway) holding is a no-op.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

#: Signals whose handler raises KeyboardInterrupt: Ctrl-C, and a parallel import's interrupt of its workers.
_SIGNALS = (signal.SIGINT, signal.SIGUSR1)


class Hold:
    """Interrupts recorded since `hold()`; `release()` ends the hold."""

    def __init__(self) -> None:
        self._saved: dict[int, object] = {}
        self._pending: list[int] = []
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in _SIGNALS:
            handler = signal.getsignal(sig)
            if handler is signal.default_int_handler:
                self._saved[sig] = handler
                signal.signal(sig, self._record)

    def _record(self, signum: int, frame: FrameType | None) -> None:
        self._pending.append(signum)

    @property
    def interrupted(self) -> bool:
        return bool(self._pending)

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        # Leaving normally keeps the hold for `release`; a failed start ends it, and its exception goes on.
        if exc_type is not None:
            self._restore()

    def _restore(self) -> None:
        saved, self._saved = self._saved, {}
        for sig, handler in saved.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def release(self) -> None:
        """Put the handlers back; raise KeyboardInterrupt if an interrupt came while they were held."""
        self._restore()
        if self._pending:
            self._pending.clear()
            raise KeyboardInterrupt


def hold() -> Hold:
    return Hold()
