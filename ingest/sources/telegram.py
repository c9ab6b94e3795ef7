"""Telegram through Telethon (MTProto, a user account): the live source and the Telethon JSONL file reader.

Both yield `RawRecord`s holding a Telethon `Message.to_dict()` that `ingest.normalize.telegram` turns into
posts. The live source never touches the database; it is told the committed cursor and yields `Batch`es.

What keeps an account safe and the data whole:
- one client per session at a time: a `fcntl` lock keyed by a hash of the session string (Telegram kills a
  session used from two places at once, AUTH_KEY_DUPLICATED);
- username resolutions, what gets accounts banned, are cached for the process and capped by a budget;
- FloodWait up to a threshold is slept; above it the channel is deferred (`base.Deferred`), cursor intact;
- history is read by message id, oldest first, 100 a request; a rescan re-enumerates a contiguous id range
  so posts missing from it are marked deleted (`Listed`); an album is never split across batches.

Telethon is asyncio-based: a source owns one event loop on a private thread and exposes the synchronous
`LiveSource` interface. The client is built by an injectable factory, so tests drive a fake.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import fcntl
import hashlib
import inspect
import json
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from ingest.models import ChannelSpec, Cursor, RawRecord
from ingest.sources.base import Batch, Deferred, Listed, SourceError

log = logging.getLogger(__name__)

SOURCE_LIVE = "telethon"
SOURCE_JSONL = "telethon_jsonl"
PAGE_SIZE = 100  # Telegram's maximum for messages.getHistory
DEFAULT_FLOOD_THRESHOLD = 60.0
DEFAULT_RESOLVE_BUDGET = 20
DEFAULT_LOCK_WAIT = 120.0
#: When the resolution budget is spent, a channel that needs one is retried after this long.
RESOLVE_RETRY = timedelta(hours=1)

ClientFactory = Callable[[str, int, str], Any]


# ------------------------------------------------------------------------------------------- JSONL files

_FILE_HANDLE = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{3,31})_(\d{3,})$")


def handle_from_filename(path: Path) -> tuple[str | None, int | None]:
    """`bloomberg_1488156064.jsonl` / `@Python_1050982793.jsonl` -> ("bloomberg", 1488156064)."""
    m = _FILE_HANDLE.match(Path(path).stem)
    if not m:
        return None, None
    return m.group(1), int(m.group(2))


def read_jsonl(path: Path) -> Iterator[RawRecord]:
    """Stream a Telethon to_dict JSONL file, one record a line. A line that is not JSON (or not UTF-8)
    becomes a record with no payload and the undecodable text in `raw_text`, which the normaliser rejects."""
    path = Path(path)
    handle, handle_channel_id = handle_from_filename(path)
    context: dict[str, Any] = {"handle": handle, "handle_channel_id": handle_channel_id} if handle else {}
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if lineno == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            stripped = line.strip()
            if not stripped:
                continue
            origin = f"{path}:{lineno}"
            try:
                payload = orjson.loads(stripped)
            except orjson.JSONDecodeError as exc:
                payload, error = _lenient_json(stripped, exc)
                if error is not None:
                    yield RawRecord(
                        SOURCE_JSONL, None, origin, context={**context, "decode_error": error},
                        raw_text=stripped.decode("utf-8", "backslashreplace"),
                    )  # fmt: skip
                    continue
            yield RawRecord(SOURCE_JSONL, payload, origin, context=context)


def _lenient_json(line: bytes, exc: Exception) -> tuple[Any, str | None]:
    """orjson refuses lone UTF-16 surrogates that the stdlib reads; let those through so the normaliser can
    reject the post with the precise reason (a lone surrogate in its text) instead of 'not JSON'."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as uexc:
        return None, f"invalid UTF-8 at byte {uexc.start}"
    try:
        return json.loads(text), None
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the interpreter's stack
        return None, str(exc)[:200]


def json_safe(value: Any) -> Any:
    """A Telethon `to_dict()` made JSON-serialisable the way Telethon's own `to_json` does it: datetimes as
    ISO 8601 with their offset, bytes as base64."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "to_dict"):
        return json_safe(value.to_dict())
    return repr(value)


# ------------------------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class TelegramCredentials:
    """An API id/hash (my.telegram.org) and a Telethon StringSession. The secrets stay out of repr()."""

    api_id: int
    api_hash: str = field(repr=False)
    session: str = field(repr=False)
    account: str = "default"


def env_prefix(account: str) -> str:
    """`TELEGRAM` for the default account, `TELEGRAM_<ACCOUNT>` for another."""
    if account == "default":
        return "TELEGRAM"
    return "TELEGRAM_" + re.sub(r"[^A-Z0-9]", "_", account.upper())


def airflow_conn_var(account: str) -> str:
    return "AIRFLOW_CONN_TELEGRAM_" + re.sub(r"[^A-Z0-9]", "_", account.upper())


def credentials_from_env(
    account: str = "default", environ: dict[str, str] | None = None
) -> TelegramCredentials:
    """Credentials from TELEGRAM[_<ACCOUNT>]_API_ID / _API_HASH / _SESSION, each falling back to the Airflow
    connection AIRFLOW_CONN_TELEGRAM_<ACCOUNT> (login = API id, password = API hash, extra.session)."""
    env = os.environ if environ is None else environ
    prefix = env_prefix(account)
    conn_var = airflow_conn_var(account)
    conn = _airflow_conn(env.get(conn_var), conn_var)
    api_id_raw = env.get(f"{prefix}_API_ID") or conn.get("login")
    api_hash = env.get(f"{prefix}_API_HASH") or conn.get("password")
    session = env.get(f"{prefix}_SESSION") or conn.get("session")
    missing = [n for n, v in (("API_ID", api_id_raw), ("API_HASH", api_hash), ("SESSION", session)) if not v]
    if missing:
        raise SourceError(
            f"Telegram credentials for account {account!r} incomplete (missing {', '.join(missing)}): set "
            f"{prefix}_API_ID, {prefix}_API_HASH and {prefix}_SESSION, or the Airflow connection {conn_var}; "
            "create a session with `wirewatch telegram login`"
        )
    try:
        api_id = int(str(api_id_raw).strip())
    except ValueError:
        raise SourceError(f"{prefix}_API_ID (or {conn_var} login) is not a number") from None
    return TelegramCredentials(api_id, str(api_hash).strip(), str(session).strip(), account)


def _airflow_conn(value: str | None, name: str) -> dict[str, str]:
    """login, password and extra.session of an Airflow connection given as JSON or as a URI."""
    if not value:
        return {}
    value = value.strip()
    if value.startswith("{"):
        try:
            data = json.loads(value)
            extra = data.get("extra") or {}
            if isinstance(extra, str):
                extra = json.loads(extra) if extra.strip() else {}
        except (ValueError, AttributeError):
            raise SourceError(f"{name} is not valid JSON (expected an Airflow connection object)") from None
        return {k: v for k, v in (("login", data.get("login")), ("password", data.get("password")),
                                  ("session", extra.get("session"))) if v}  # fmt: skip
    try:
        parts = urlsplit(value)
        query = parse_qs(parts.query)
        extra_json = query.get("__extra__", [""])[0]
        extra = json.loads(extra_json) if extra_json else {}
        session = query.get("session", [None])[0] or extra.get("session")
        out = {"login": unquote(parts.username or ""), "password": unquote(parts.password or ""),
               "session": session or ""}  # fmt: skip
    except ValueError:
        raise SourceError(f"{name} is neither JSON nor a connection URI") from None
    return {k: v for k, v in out.items() if v}


# -------------------------------------------------------------------------------------------- session lock


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


class PeerCache:
    """Channel id -> access hash this account was given, kept on disk beside the session lock (named by the
    session's hash). A new process (each Airflow task) then fetches a known channel without resolving its
    username again. An access hash is useless without the session's key, so it is not a secret; only the
    holder of the session lock writes the file."""

    def __init__(self, path: Path | None):
        self.path = path
        self._data: dict[str, dict[str, Any]] | None = None

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._data is None:
            self._data = {}
            if self.path is not None and self.path.is_file():
                try:
                    data = json.loads(self.path.read_text(encoding="utf-8"))
                    self._data = data if isinstance(data, dict) else {}
                except (OSError, ValueError):
                    log.info("ignoring unreadable Telegram peer cache %s", self.path)
        return self._data

    def get(self, channel_id: int) -> dict[str, Any] | None:
        entry = self._load().get(str(channel_id))
        return entry if isinstance(entry, dict) and isinstance(entry.get("access_hash"), int) else None

    def put(self, channel_id: int, access_hash: int, username: str | None, title: str | None) -> None:
        data = self._load()
        entry = {"access_hash": access_hash, "username": username, "title": title}
        if data.get(str(channel_id)) == entry or self.path is None:
            data[str(channel_id)] = entry
            return
        data[str(channel_id)] = entry
        self._save(data)

    def forget(self, channel_id: int) -> None:
        data = self._load()
        if data.pop(str(channel_id), None) is not None and self.path is not None:
            self._save(data)

    def _save(self, data: dict[str, dict[str, Any]]) -> None:
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, self.path)
        except OSError as exc:  # a cache: failing to write it only costs a resolution next time
            log.info("cannot write the Telegram peer cache %s: %s", self.path, exc.strerror)


# ------------------------------------------------------------------------------------- resolution budget


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


# ----------------------------------------------------------------------------------------------- client


def default_client_factory(session: str, api_id: int, api_hash: str) -> Any:
    """A real TelegramClient on a StringSession (in memory: nothing is written to disk). Called inside the
    source's event loop. Telethon must not sleep on FloodWait itself: the source decides (threshold 0)."""
    from telethon import TelegramClient
    from telethon.sessions import StringSession

    return TelegramClient(
        StringSession(session), api_id, api_hash, flood_sleep_threshold=0, receive_updates=False,
        device_model="wirewatch", app_version="wirewatch 0.1",
    )  # fmt: skip


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class _Connection:
    """The private event loop thread, the session lock and the connected client of one source. Kept apart
    from the source so a finaliser can close it when the source is garbage-collected."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.client: Any = None
        self.lock: SessionLock | None = None

    def start_loop(self) -> None:
        if self.loop is not None:
            return
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="wirewatch-telethon", daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float | None) -> Any:
        assert self.loop is not None
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise TimeoutError(f"no answer from Telegram within {timeout:.0f} s") from None

    def close(self) -> None:
        try:
            if self.client is not None and self.loop is not None and self.loop.is_running():
                try:
                    self.run(_disconnect(self.client), timeout=15)
                except Exception as exc:  # noqa: BLE001 - closing must not fail the caller
                    log.debug("Telegram disconnect failed: %s", type(exc).__name__)
        finally:
            self.client = None
            if self.loop is not None and self.thread is not None:
                if self.loop.is_running():
                    try:
                        asyncio.run_coroutine_threadsafe(_cancel_pending(), self.loop).result(5)
                    except Exception:  # noqa: BLE001
                        pass
                    self.loop.call_soon_threadsafe(self.loop.stop)
                self.thread.join(5)
                if not self.loop.is_running():
                    self.loop.close()
            self.loop = self.thread = None
            if self.lock is not None:
                self.lock.release()
                self.lock = None


async def _disconnect(client: Any) -> None:
    await _maybe_await(client.disconnect())


async def _quiet_disconnect(client: Any) -> None:
    try:
        await _disconnect(client)
    except Exception:  # noqa: BLE001 - already failing; the first error is the one to report
        pass


async def _cancel_pending() -> None:
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class _Entity:
    channel_id: int
    access_hash: int
    username: str | None
    title: str | None
    unverified: bool = False  # from the disk cache or configuration: may be stale


class ChannelAccessError(SourceError):
    """CHANNEL_INVALID: the access hash does not (or no longer) open the channel for this account."""


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def _username_of(chat: Any) -> str | None:
    """A channel's username; channels with collectible usernames have `username=None` and a list."""
    name = getattr(chat, "username", None)
    if name:
        return name
    for u in getattr(chat, "usernames", None) or []:
        if getattr(u, "active", False) and getattr(u, "username", None):
            return u.username
    return None


# ----------------------------------------------------------------------------------------------- source


class TelethonSource:
    """The live Telegram source over MTProto (a user account's StringSession)."""

    name = SOURCE_LIVE
    platform = "telegram"

    def __init__(
        self,
        credentials: TelegramCredentials,
        *,
        client_factory: ClientFactory | None = None,
        flood_threshold: float = DEFAULT_FLOOD_THRESHOLD,
        max_flood_sleeps: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] | None = None,
        resolve_budget: ResolveBudget | int | None = None,
        page_size: int = PAGE_SIZE,
        page_delay: float = 0.0,
        lock_dir: Path | None = None,
        lock_wait: float = 0.0,
        peer_cache: bool = True,
        connect_attempts: int = 4,
        request_timeout: float = 120.0,
    ):
        if not 1 <= page_size <= PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{PAGE_SIZE}")
        self._creds = credentials
        self.account = credentials.account
        self._factory = client_factory or default_client_factory
        self.flood_threshold = float(flood_threshold)
        self.max_flood_sleeps = max_flood_sleeps
        self._sleep = sleep
        self._now = now or (lambda: datetime.now(timezone.utc))
        if isinstance(resolve_budget, ResolveBudget):
            self.budget = resolve_budget
        elif resolve_budget is not None:
            self.budget = ResolveBudget(resolve_budget)
        else:
            self.budget = process_budget(self.account)
        self.page_size = page_size
        self.page_delay = page_delay
        self.lock_dir = lock_dir
        self.lock_wait = lock_wait
        self.connect_attempts = max(1, connect_attempts)
        self.request_timeout = request_timeout
        self.requests = 0  # MTProto requests sent (for run notes and tests)
        cache_dir = Path(lock_dir or default_lock_dir())
        self._peers = PeerCache(
            cache_dir / f"telegram-peers-{session_digest(credentials.session)}.json" if peer_cache else None
        )
        self._by_id: dict[int, _Entity] = {}
        self._by_username: dict[str, _Entity] = {}
        self._conn = _Connection()
        self._finalizer = weakref.finalize(self, self._conn.close)

    @classmethod
    def from_env(cls, account: str = "default", **kwargs: Any) -> TelethonSource:
        """Credentials from the environment (see `credentials_from_env`); the lock wait from
        WIREWATCH_TELEGRAM_LOCK_WAIT (seconds, default 120) unless given."""
        if "lock_wait" not in kwargs:
            raw = os.environ.get("WIREWATCH_TELEGRAM_LOCK_WAIT", "")
            try:
                kwargs["lock_wait"] = float(raw) if raw.strip() else DEFAULT_LOCK_WAIT
            except ValueError:
                raise SourceError("WIREWATCH_TELEGRAM_LOCK_WAIT is not a number of seconds") from None
        return cls(credentials_from_env(account), **kwargs)

    def __repr__(self) -> str:
        return f"TelethonSource(account={self.account!r}, api_id={self._creds.api_id})"

    def __enter__(self) -> TelethonSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect and release the session lock (also done when the source is garbage-collected)."""
        self._finalizer()

    # ----------------------------------------------------------------------------------- LiveSource

    def resolve(self, spec: ChannelSpec) -> tuple[int, str | None, str | None]:
        ent = self._resolve_username(spec.handle)
        return ent.channel_id, (ent.username.lower() if ent.username else None), ent.title

    def fetch(
        self,
        spec: ChannelSpec,
        channel_id: int,
        cursor: Cursor | None,
        *,
        since: datetime | None,
        until: datetime | None,
        rescan_since: datetime | None,
    ) -> Iterator[Batch]:
        """New posts after the cursor (or the posts in [since, until)), oldest first, then a rescan of the
        posts since `rescan_since` that were stored before this run (edits, deletions, counts)."""
        ent = self._entity_for(spec, channel_id)
        batches = self._fetch(ent, cursor, since=since, until=until, rescan_since=rescan_since)
        try:
            first = next(batches, None)
        except ChannelAccessError:
            if not ent.unverified:
                raise
            # A cached or configured access hash no longer opens the channel: resolve the handle once more.
            log.info(
                "cached access hash of Telegram channel %s refused; resolving @%s", channel_id, spec.handle
            )
            self._forget(channel_id)
            ent = self._entity_for(spec, channel_id, fresh=True)
            batches = self._fetch(ent, cursor, since=since, until=until, rescan_since=rescan_since)
            first = next(batches, None)
        if first is None:
            return
        yield first
        yield from batches

    def _fetch(
        self,
        ent: _Entity,
        cursor: Cursor | None,
        *,
        since: datetime | None,
        until: datetime | None,
        rescan_since: datetime | None,
    ) -> Iterator[Batch]:
        last = cursor.last_post_id if cursor is not None and cursor.last_post_id else None
        if since is not None or until is not None:
            # A window only moves the cursor when nothing between the cursor and the window is skipped.
            if since is None or (last is None and until is None):
                mode = "always"
            elif last is None:
                mode = "never"
            else:
                mode = "contiguous"
            if since is None:
                yield from self._scan(ent, start_id=1, stop_date=until, cursor_mode=mode, cursor_floor=last)
            else:
                yield from self._scan(
                    ent, start_date=since, stop_date=until, cursor_mode=mode, cursor_floor=last
                )
                if rescan_since is not None and rescan_since < since:
                    yield from self._scan(ent, start_date=rescan_since, stop_date=since, rescan=True)
            return
        if last is not None:
            yield from self._scan(ent, start_id=last + 1, cursor_mode="always")
        elif rescan_since is not None:
            # A channel's first pass reads the rescan window; older history is what `backfill` is for.
            yield from self._scan(ent, start_date=rescan_since, cursor_mode="always")
        else:
            yield from self._scan(ent, start_id=1, cursor_mode="always")
        if last is not None and rescan_since is not None:
            yield from self._scan(ent, start_date=rescan_since, stop_id=last, rescan=True)

    # -------------------------------------------------------------------------------------- paging

    def _scan(
        self,
        ent: _Entity,
        *,
        start_id: int | None = None,
        start_date: datetime | None = None,
        stop_id: int | None = None,
        stop_date: datetime | None = None,
        rescan: bool = False,
        cursor_mode: str = "never",
        cursor_floor: int | None = None,
    ) -> Iterator[Batch]:
        """Enumerate every message from `start_id` (or the first at/after `start_date`) up to `stop_id`
        (or before `stop_date`) in batches that each claim the id range they list completely."""
        low: int | None = None
        held: list[Any] = []
        emit_cursor = cursor_mode == "always"
        for index, (page, before_id) in enumerate(self._pages(ent, start_id=start_id, start_date=start_date)):
            if index == 0:
                if before_id is not None:
                    low = before_id + 1
                elif start_id is not None:
                    low = start_id
                elif page:
                    low = page[0].id  # nothing older came back: claim no more than what was seen
                if cursor_mode == "contiguous":
                    emit_cursor = before_id is None or (
                        cursor_floor is not None and before_id <= cursor_floor
                    )
            keep: list[Any] = []
            stop_high: int | None = None
            for m in page:
                if stop_id is not None and m.id > stop_id:
                    stop_high = stop_id
                    break
                if stop_date is not None and _aware(m.date) >= stop_date:
                    stop_high = m.id - 1
                    break
                keep.append(m)
            msgs = held + keep
            held = []
            if stop_high is None:
                held = _trailing_album(msgs)  # its other members may be on the next page
                msgs = msgs[: len(msgs) - len(held)]
            if msgs or (stop_high is not None and low is not None and low <= stop_high):
                high = stop_high if stop_high is not None else msgs[-1].id
                yield self._batch(ent, msgs, low, high, rescan=rescan, cursor=emit_cursor)
                low = high + 1
            if stop_high is not None:
                return
        # History exhausted: every message up to stop_id (if given) has been listed.
        high = stop_id if stop_id is not None else (held[-1].id if held else None)
        if held or (high is not None and low is not None and low <= high):
            yield self._batch(ent, held, low, high, rescan=rescan, cursor=emit_cursor)

    def _pages(
        self, ent: _Entity, *, start_id: int | None, start_date: datetime | None
    ) -> Iterator[tuple[list[Any], int | None]]:
        """Pages of messages in ascending id order. The first page of a date start also reports the id of
        the newest message before that date (asked for with one slot of the page), which bounds the listing.
        Stops on an empty page only: some channels return short pages mid-history."""
        from telethon.tl import types
        from telethon.tl.functions.messages import GetHistoryRequest

        limit = self.page_size
        peer = types.InputPeerChannel(ent.channel_id, ent.access_hash)
        if start_date is not None:
            # offset_date returns messages older than it; add_offset -(limit-1) shifts the slice to the
            # limit-1 messages at/after it plus the newest one before it.
            args: dict[str, Any] = {"offset_id": 0, "offset_date": start_date, "add_offset": -(limit - 1)}
        else:
            args = {"offset_id": max(1, start_id or 1), "offset_date": None, "add_offset": -limit}
        last_id = 0
        first = True
        while True:
            request = GetHistoryRequest(peer=peer, limit=limit, max_id=0, min_id=0, hash=0, **args)
            response = self._request(request)
            self._note_chats(getattr(response, "chats", None) or [])
            msgs = sorted(
                (m for m in response.messages if isinstance(m, (types.Message, types.MessageService))),
                key=lambda m: m.id,
            )
            before_id = None
            if first and start_date is not None:
                older = [m for m in msgs if _aware(m.date) < start_date]
                before_id = older[-1].id if older else None
                msgs = [m for m in msgs if _aware(m.date) >= start_date]
            msgs = [m for m in msgs if m.id > last_id]
            if first or msgs:
                yield msgs, before_id
            if not msgs:
                return
            first = False
            last_id = msgs[-1].id
            args = {"offset_id": last_id + 1, "offset_date": None, "add_offset": -limit}
            if self.page_delay > 0:
                self._sleep(self.page_delay)

    def _batch(
        self, ent: _Entity, msgs: list[Any], low: int | None, high: int | None, *, rescan: bool, cursor: bool
    ) -> Batch:
        fetched_at = self._now()
        context = {"handle": ent.username, "handle_channel_id": ent.channel_id, "title": ent.title}
        records = [
            RawRecord(
                SOURCE_LIVE,
                json_safe(m.to_dict()),
                origin=f"https://t.me/c/{ent.channel_id}/{m.id}",
                fetched_at=fetched_at,
                context=context,
            )  # fmt: skip
            for m in msgs
        ]
        batch_cursor = None
        if cursor and not rescan and msgs:
            batch_cursor = Cursor(last_post_id=msgs[-1].id, last_posted_at=_aware(msgs[-1].date))
        listed = Listed(low, high) if low is not None and high is not None and low <= high else None
        return Batch(records, cursor=batch_cursor, listed=listed, rescan=rescan)

    # ----------------------------------------------------------------------------------- entities

    def _entity_for(self, spec: ChannelSpec, channel_id: int, *, fresh: bool = False) -> _Entity:
        """The channel's access hash: known in this process, configured, cached on disk by an earlier process
        on this session, or (costing one resolution) from resolving its handle."""
        ent = self._by_id.get(channel_id)
        if ent is not None:
            return ent
        access_hash = None if fresh else (spec.options or {}).get("access_hash")
        cached = None if fresh else self._peers.get(channel_id)
        if access_hash is not None:
            ent = _Entity(channel_id, int(access_hash), spec.handle, spec.title, unverified=True)
        elif cached is not None:
            ent = _Entity(channel_id, cached["access_hash"], cached.get("username") or spec.handle,
                          cached.get("title") or spec.title, unverified=True)  # fmt: skip
        if ent is not None:
            self._by_id[channel_id] = ent
            return ent
        ent = self._resolve_username(spec.handle)
        if ent.channel_id != channel_id:
            raise SourceError(
                f"@{spec.handle} now belongs to channel {ent.channel_id}, not {channel_id}: the channel changed "
                "its username (or gave it up); put its new handle in channels.toml"
            )
        return ent

    def _resolve_username(self, handle: str) -> _Entity:
        from telethon.tl import types
        from telethon.tl.functions.contacts import ResolveUsernameRequest

        name = (handle or "").strip().lstrip("@")
        if not name:
            raise SourceError("empty Telegram handle")
        cached = self._by_username.get(name.lower())
        if cached is not None:
            return cached
        if not self.budget.take():
            raise Deferred(
                self._now() + RESOLVE_RETRY,
                f"username resolution budget spent ({self.budget.limit} a process for account {self.account!r}): "
                "resolving many usernames at once gets accounts banned; set channel_id in channels.toml or "
                "let the next run resolve it",
            )
        log.info(
            "resolving Telegram username @%s (%d of %d this process)",
            name,
            self.budget.used,
            self.budget.limit,
        )
        result = self._request(ResolveUsernameRequest(username=name))
        peer = getattr(result, "peer", None)
        if not isinstance(peer, types.PeerChannel):
            raise SourceError(f"@{name} is a user or bot, not a channel")
        chat = next((c for c in result.chats if getattr(c, "id", None) == peer.channel_id), None)
        if not isinstance(chat, types.Channel) or chat.access_hash is None:
            raise SourceError(f"@{name} is channel {peer.channel_id}, private or banned for this account")
        ent = self._remember(chat)
        self._by_username[name.lower()] = ent
        return ent

    def _remember(self, chat: Any) -> _Entity:
        ent = self._by_id.get(chat.id)
        username = _username_of(chat)
        if ent is None:
            ent = _Entity(chat.id, chat.access_hash, username, getattr(chat, "title", None))
            self._by_id[chat.id] = ent
        else:
            if chat.access_hash is not None and not getattr(chat, "min", False):
                ent.access_hash = chat.access_hash
            ent.username = username
            ent.title = getattr(chat, "title", None) or ent.title
        ent.unverified = False  # Telegram just answered with this channel
        if username:
            self._by_username[username.lower()] = ent
        self._peers.put(ent.channel_id, ent.access_hash, ent.username, ent.title)
        return ent

    def _forget(self, channel_id: int) -> None:
        ent = self._by_id.pop(channel_id, None)
        if ent is not None and ent.username:
            self._by_username.pop(ent.username.lower(), None)
        self._peers.forget(channel_id)

    def _note_chats(self, chats: list[Any]) -> None:
        """Responses carry the channel as it is now: a renamed channel shows its new username here."""
        from telethon.tl import types

        for chat in chats:
            if isinstance(chat, types.Channel) and chat.id in self._by_id:
                self._remember(chat)

    # ----------------------------------------------------------------------------------- requests

    def _request(self, request: Any) -> Any:
        """Send one request: sleep through short FloodWaits, defer on long ones, retry dropped connections
        with backoff, and turn Telegram's refusals into SourceErrors that say what to do."""
        from telethon import errors

        what = type(request).__name__
        floods = 0
        while True:
            try:
                return self._with_retries(what, lambda: self._send(request))
            except errors.FloodError as exc:
                raw_seconds = getattr(exc, "seconds", None)
                seconds = int(raw_seconds) if raw_seconds is not None else 60  # a bare FLOOD error
                if seconds > self.flood_threshold or floods >= self.max_flood_sleeps:
                    until = self._now() + timedelta(seconds=seconds)
                    log.warning("Telegram FloodWait of %d s on %s: deferring the channel", seconds, what)
                    raise Deferred(
                        until,
                        f"Telegram FloodWait of {seconds} s on {what}"
                        + (f" (over the {self.flood_threshold:g} s worth sleeping)"
                           if seconds > self.flood_threshold else f" after {floods} waits"),
                    ) from exc  # fmt: skip
                floods += 1
                log.warning("Telegram FloodWait of %d s on %s: sleeping (wait %d)", seconds, what, floods)
                self._sleep(seconds)
            except errors.RPCError as exc:
                raise self._refusal(exc, request) from exc

    def _with_retries(self, what: str, fn: Callable[[], Any]) -> Any:
        def before_sleep(state: Any) -> None:
            exc = state.outcome.exception()
            log.warning(
                "Telegram connection problem on %s (%s); retry %d of %d",
                what, type(exc).__name__, state.attempt_number, self.connect_attempts - 1,
            )  # fmt: skip

        retrying = Retrying(
            retry=retry_if_exception_type(OSError),  # ConnectionError, TimeoutError, socket errors
            stop=stop_after_attempt(self.connect_attempts),
            wait=wait_exponential(multiplier=1, min=1, max=30),
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(fn)
        except OSError as exc:
            raise SourceError(
                f"connection to Telegram failed {self.connect_attempts} times on {what}: {type(exc).__name__}: {exc}"
            ) from exc

    def _send(self, request: Any) -> Any:
        conn = self._connected()
        self.requests += 1
        log.debug("telegram request %s", type(request).__name__)
        return conn.run(_call(conn.client, request), self.request_timeout)

    def _connected(self) -> _Connection:
        conn = self._conn
        if conn.client is not None:
            return conn
        if conn.lock is None:
            lock = SessionLock(
                self._creds.session, lock_dir=self.lock_dir, wait=self.lock_wait, label=self.account
            )
            lock.acquire()
            conn.lock = lock
        conn.start_loop()
        log.info("connecting to Telegram (account %r)", self.account)
        conn.client = conn.run(self._open(), self.request_timeout)
        return conn

    async def _open(self) -> Any:
        try:
            client = self._factory(self._creds.session, self._creds.api_id, self._creds.api_hash)
        except ValueError:
            raise SourceError(
                f"{env_prefix(self.account)}_SESSION is not a valid Telethon StringSession: create one with "
                "`wirewatch telegram login`"
            ) from None
        client.flood_sleep_threshold = 0
        try:
            await _maybe_await(client.connect())
            authorised = await _maybe_await(client.is_user_authorized())
        except BaseException:
            await _quiet_disconnect(client)
            raise
        if not authorised:
            await _quiet_disconnect(client)
            raise SourceError(
                f"the Telegram session of account {self.account!r} is not logged in (expired or revoked): "
                "run `wirewatch telegram login` and store the new session"
            )
        return client

    def _refusal(self, exc: Exception, request: Any) -> SourceError:
        from telethon import errors

        what = type(request).__name__
        if isinstance(exc, errors.UsernameNotOccupiedError):
            return SourceError(f"@{getattr(request, 'username', '?')} does not exist on Telegram")
        if isinstance(exc, errors.UsernameInvalidError):
            return SourceError(f"@{getattr(request, 'username', '?')} is not a valid Telegram username")
        if isinstance(exc, errors.ChannelInvalidError):
            return ChannelAccessError(f"the channel is invalid for this account (CHANNEL_INVALID on {what})")
        if isinstance(exc, errors.ChannelPrivateError):
            return SourceError(f"the channel is private, or this account is banned from it ({what})")
        if isinstance(exc, errors.AuthKeyDuplicatedError):
            return SourceError(
                "Telegram invalidated the session because it was used from two places at once: log in again "
                "with `wirewatch telegram login`"
            )
        if isinstance(exc, errors.UnauthorizedError):
            return SourceError(
                f"the Telegram session of account {self.account!r} is no longer authorised "
                f"({getattr(exc, 'message', type(exc).__name__)}): log in again with `wirewatch telegram login`"
            )
        return SourceError(f"Telegram refused {what}: {getattr(exc, 'message', None) or type(exc).__name__}")


async def _call(client: Any, request: Any) -> Any:
    is_connected = getattr(client, "is_connected", None)
    if callable(is_connected) and not is_connected():
        await _maybe_await(client.connect())
    return await client(request)


def _trailing_album(msgs: list[Any]) -> list[Any]:
    """The run of messages at the end sharing the last message's album id (empty if it has none)."""
    if not msgs or getattr(msgs[-1], "grouped_id", None) is None:
        return []
    gid = msgs[-1].grouped_id
    n = 0
    while n < len(msgs) and getattr(msgs[-1 - n], "grouped_id", None) == gid:
        n += 1
    return msgs[-n:]
