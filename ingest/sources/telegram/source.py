"""`TelethonSource`: the live source (history by message id, rescans, FloodWait, resolution)."""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from ingest.models import ChannelSpec, Cursor, FetchWindow
from ingest.sources.base import Batch, Batches, Deferred, SourceError
from ingest.sources.telegram.budget import ResolveBudget, process_budget
from ingest.sources.telegram.client import (
    ClientFactory,
    Connection,
    default_client_factory,
    maybe_await,
    quiet_disconnect,
)
from ingest.sources.telegram.credentials import TelegramCredentials, credentials_from_env, env_prefix
from ingest.sources.telegram.history import SOURCE_LIVE, History
from ingest.sources.telegram.peers import ChannelAccessError, Entity, PeerCache, username_of
from ingest.sources.telegram.session import DEFAULT_LOCK_WAIT, SessionLock, default_lock_dir, session_digest

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # Telegram's maximum for messages.getHistory
DEFAULT_FLOOD_THRESHOLD = 60.0
#: When the resolution budget is spent, a channel that needs one is retried after this long.
RESOLVE_RETRY = timedelta(hours=1)


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
        self._by_id: dict[int, Entity] = {}
        self._by_username: dict[str, Entity] = {}
        self._conn = Connection()
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
        self, spec: ChannelSpec, channel_id: int, cursor: Cursor | None, window: FetchWindow
    ) -> Batches:
        """New posts after the cursor (or the posts in [since, until)), oldest first, then a rescan of the
        posts since `rescan_since` that were stored before this run (edits, deletions, counts)."""
        ent = self._entity_for(spec, channel_id)
        batches = self._fetch(ent, cursor, window)
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
            batches = self._fetch(ent, cursor, window)
            first = next(batches, None)
        if first is None:
            return
        yield first
        yield from batches

    def _fetch(self, ent: Entity, cursor: Cursor | None, window: FetchWindow) -> Iterator[Batch]:
        since, until, rescan_since = window.since, window.until, window.rescan_since
        last = cursor.last_post_id if cursor is not None and cursor.last_post_id else None
        if window.windowed:
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

    def _scan(self, ent: Entity, **kwargs: Any) -> Iterator[Batch]:
        """Batches of one channel's history (see `History.scan`), read with this source's requests."""
        history = History(
            self._request, self._note_chats, page_size=self.page_size, page_delay=self.page_delay,
            sleep=self._sleep, now=self._now,
        )  # fmt: skip
        return history.scan(ent, **kwargs)

    # ----------------------------------------------------------------------------------- entities

    def _entity_for(self, spec: ChannelSpec, channel_id: int, *, fresh: bool = False) -> Entity:
        """The channel's access hash: known in this process, configured, cached on disk by an earlier process
        on this session, or (costing one resolution) from resolving its handle."""
        ent = self._by_id.get(channel_id)
        if ent is not None:
            return ent
        access_hash = None if fresh else (spec.options or {}).get("access_hash")
        cached = None if fresh else self._peers.get(channel_id)
        if access_hash is not None:
            ent = Entity(channel_id, int(access_hash), spec.handle, spec.title, unverified=True)
        elif cached is not None:
            ent = Entity(channel_id, cached["access_hash"], cached.get("username") or spec.handle,
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

    def _resolve_username(self, handle: str) -> Entity:
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

    def _remember(self, chat: Any) -> Entity:
        ent = self._by_id.get(chat.id)
        username = username_of(chat)
        if ent is None:
            ent = Entity(chat.id, chat.access_hash, username, getattr(chat, "title", None))
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

    def _connected(self) -> Connection:
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
            await maybe_await(client.connect())
            authorised = await maybe_await(client.is_user_authorized())
        except BaseException:
            await quiet_disconnect(client)
            raise
        if not authorised:
            await quiet_disconnect(client)
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
        await maybe_await(client.connect())
    return await client(request)
