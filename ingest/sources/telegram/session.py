"""One client per Telegram session at a time: an `fcntl` lock keyed by a hash of the session string."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from pathlib import Path

from ingest.sources.base import SourceError

log = logging.getLogger(__name__)

DEFAULT_LOCK_WAIT = 120.0


def default_lock_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("wirewatch")) / "locks"


def session_digest(session: str) -> str:
    """A short, one-way name for a session in file names (the session itself is a secret)."""
    return hashlib.sha256(session.encode("utf-8")).hexdigest()[:16]


class SessionLock:
    """An exclusive, non-blocking `flock` on a file named by a hash of the session string (never the string
    itself). Held while a client is connected; released on close or when the process ends."""

    def __init__(
        self, session: str, *, lock_dir: Path | None = None, wait: float = 0.0, label: str = "default"
    ):
        self.path = Path(lock_dir or default_lock_dir()) / f"telegram-session-{session_digest(session)}.lock"
        self.wait = max(0.0, wait)
        self.label = label
        self._fd: int | None = None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SourceError(
                f"cannot create the Telegram session lock {self.path}: {exc.strerror}"
            ) from None
        deadline = time.monotonic() + self.wait
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    holder = _read_pid(fd)
                    os.close(fd)
                    raise SourceError(
                        f"the Telegram session of account {self.label!r} is in use by another process"
                        f"{f' (pid {holder})' if holder else ''}: Telegram invalidates a session used twice at "
                        f"once. Wait for it to finish or raise WIREWATCH_TELEGRAM_LOCK_WAIT (lock: {self.path})"
                    ) from None
                if not announced:
                    log.info(
                        "Telegram session of account %r busy; waiting up to %.0f s", self.label, self.wait
                    )
                    announced = True
                time.sleep(min(0.2, remaining))
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def _read_pid(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 32).decode("ascii", "ignore").strip()
    except OSError:
        return ""
