"""The asyncio bridge: a private event loop thread, the session lock and the connected Telethon client."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

from ingest.sources.telegram.session import SessionLock

log = logging.getLogger(__name__)

ClientFactory = Callable[[str, int, str], Any]


def default_client_factory(session: str, api_id: int, api_hash: str) -> Any:
    """A real TelegramClient on a StringSession (in memory: nothing is written to disk). Called inside the
    source's event loop. Telethon must not sleep on FloodWait itself: the source decides (threshold 0)."""
    from telethon import TelegramClient
    from telethon.sessions import StringSession

    return TelegramClient(
        StringSession(session), api_id, api_hash, flood_sleep_threshold=0, receive_updates=False,
        device_model="wirewatch", app_version="wirewatch 0.1",
    )  # fmt: skip


async def maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class Connection:
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
    await maybe_await(client.disconnect())


async def quiet_disconnect(client: Any) -> None:
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
