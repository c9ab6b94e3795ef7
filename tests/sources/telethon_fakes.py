"""A fake Telegram for TelethonSource tests: real `telethon.tl.types` objects served by a fake client.

- `tl_from_dict` turns a `to_dict()` dict (as stored in ../shared/data/telethon) back into the TL object named
  by its "_" key, using the constructor signatures for bytes (base64 in the files) and dates (naive UTC
  strings in the files).
- `FakeTelegram` holds channels and their messages and answers `messages.getHistory` with Telegram's offset
  semantics (offset_id / offset_date exclusive, add_offset shifting towards newer, clamped slices) and
  `contacts.resolveUsername`. Failures (FloodWaitError, ConnectionError, ...) are scripted per request type.
- `FakeClient` is what the source's client factory returns; it refuses a second concurrent client on one
  session, as Telegram does (AUTH_KEY_DUPLICATED).
"""

from __future__ import annotations

import base64
import copy
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from telethon import errors
from telethon.tl import types
from telethon.tl.functions.contacts import ResolveUsernameRequest
from telethon.tl.functions.messages import GetHistoryRequest

# --------------------------------------------------------------------------------------------- converter


def _kinds(annotation: Any) -> set[str]:
    """'bytes', 'datetime', 'list_bytes' when a constructor parameter is annotated so."""
    out: set[str] = set()
    if annotation is bytes:
        out.add("bytes")
    if annotation is datetime:
        out.add("datetime")
    for arg in typing.get_args(annotation):
        if arg is bytes:
            out.add("bytes")
        elif arg is datetime:
            out.add("datetime")
        elif typing.get_origin(arg) is list and typing.get_args(arg) and typing.get_args(arg)[0] is bytes:
            out.add("list_bytes")
    if typing.get_origin(annotation) is list and typing.get_args(annotation)[:1] == (bytes,):
        out.add("list_bytes")
    return out


def _date(value: Any) -> Any:
    if isinstance(value, str):
        dt = datetime.fromisoformat(value)
        return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    return value


def _bytes(value: Any) -> Any:
    return base64.b64decode(value) if isinstance(value, str) else value


def tl_from_dict(value: Any, dropped: list[str] | None = None) -> Any:
    """Rebuild TL objects from a to_dict() tree. Keys the installed Telethon layer does not know are dropped
    (and listed in `dropped`); parameters missing from an older record default to None."""
    if isinstance(value, list):
        return [tl_from_dict(v, dropped) for v in value]
    if not isinstance(value, dict) or "_" not in value:
        return value
    name = value["_"]
    cls = getattr(types, name, None)
    if cls is None:
        raise KeyError(f"no telethon.tl.types.{name}")
    params = inspect.signature(cls.__init__).parameters
    kwargs: dict[str, Any] = {}
    for pname, param in params.items():
        if pname == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue  # constructors without fields (TextEmpty, ...) inherit object.__init__
        raw = value.get(pname)
        kinds = _kinds(param.annotation)
        if raw is None:
            kwargs[pname] = None
        elif "bytes" in kinds:
            kwargs[pname] = _bytes(raw)
        elif "list_bytes" in kinds:
            kwargs[pname] = [_bytes(x) for x in raw]
        elif "datetime" in kinds:
            kwargs[pname] = _date(raw)
        else:
            kwargs[pname] = tl_from_dict(raw, dropped)
    if dropped is not None:
        dropped.extend(f"{name}.{k}" for k in value if k != "_" and k not in params)
    return cls(**kwargs)


# -------------------------------------------------------------------------------------------- fake server


@dataclass
class FakeChannel:
    channel_id: int
    username: str | None
    title: str
    access_hash: int
    messages: dict[int, Any] = field(default_factory=dict)

    def entity(self) -> types.Channel:
        return types.Channel(
            id=self.channel_id, title=self.title, photo=types.ChatPhotoEmpty(),
            date=datetime(2020, 1, 1, tzinfo=timezone.utc), access_hash=self.access_hash,
            username=self.username, broadcast=True,
        )  # fmt: skip


@dataclass
class _Failure:
    request_type: type
    make: Callable[[Any], BaseException]
    skip: int  # matching requests to let through first
    times: int


class FakeTelegram:
    """Server-side state shared by every FakeClient: channels, scripted failures, the request log."""

    def __init__(self) -> None:
        self.channels: dict[int, FakeChannel] = {}
        self.requests: list[Any] = []
        self.active_sessions: set[str] = set()
        self.authorized_sessions: set[str] | None = None  # None: every session is logged in
        self._failures: list[_Failure] = []
        self.clients: list[FakeClient] = []

    # -- set-up
    def add_channel(self, channel_id: int, username: str | None, title: str, messages: list[Any] = (),
                    access_hash: int = 987654321) -> FakeChannel:  # fmt: skip
        ch = FakeChannel(channel_id, username, title, access_hash)
        for m in messages:
            ch.messages[m.id] = m
        self.channels[channel_id] = ch
        return ch

    def fail(
        self, request_type: type, make: Callable[[Any], BaseException], *, skip: int = 0, times: int = 1
    ) -> None:
        """Raise `make(request)` on matching requests after letting `skip` through, `times` times."""
        self._failures.append(_Failure(request_type, make, skip, times))

    def flood(self, request_type: type, seconds: int, **kw: Any) -> None:
        self.fail(request_type, lambda req: errors.FloodWaitError(request=req, capture=seconds), **kw)

    def drop_connection(self, request_type: type, **kw: Any) -> None:
        self.fail(request_type, lambda req: ConnectionError("Connection reset by peer"), **kw)

    # -- changes on the "platform"
    def edit(self, channel_id: int, msg_id: int, **changes: Any) -> None:
        ch = self.channels[channel_id]
        m = copy.copy(ch.messages[msg_id])
        for k, v in changes.items():
            setattr(m, k, v)
        ch.messages[msg_id] = m

    def delete(self, channel_id: int, msg_id: int) -> None:
        del self.channels[channel_id].messages[msg_id]

    def rename(self, channel_id: int, username: str | None) -> None:
        self.channels[channel_id].username = username

    def post(self, channel_id: int, message: Any) -> None:
        self.channels[channel_id].messages[message.id] = message

    def history_requests(self) -> list[GetHistoryRequest]:
        return [r for r in self.requests if isinstance(r, GetHistoryRequest)]

    # -- answering
    def answer(self, request: Any) -> Any:
        self.requests.append(request)
        for f in self._failures:
            if isinstance(request, f.request_type) and f.times > 0:
                if f.skip > 0:
                    f.skip -= 1
                    continue
                f.times -= 1
                raise f.make(request)
        if isinstance(request, GetHistoryRequest):
            return self._history(request)
        if isinstance(request, ResolveUsernameRequest):
            return self._resolve(request)
        raise NotImplementedError(type(request).__name__)

    def _resolve(self, request: ResolveUsernameRequest) -> Any:
        for ch in self.channels.values():
            if ch.username and ch.username.lower() == request.username.lower():
                return types.contacts.ResolvedPeer(
                    peer=types.PeerChannel(ch.channel_id), chats=[ch.entity()], users=[]
                )
        raise errors.UsernameNotOccupiedError(request=request)

    def _history(self, req: GetHistoryRequest) -> Any:
        peer = req.peer
        ch = self.channels.get(getattr(peer, "channel_id", None))
        if ch is None or peer.access_hash != ch.access_hash:
            raise errors.ChannelInvalidError(request=req)
        # Telegram's limits: at most 100, and add_offset may not reach past -limit.
        assert 0 < req.limit <= 100, req.limit
        assert req.add_offset >= -req.limit, (req.add_offset, req.limit)
        desc = sorted(ch.messages.values(), key=lambda m: m.id, reverse=True)
        if req.offset_id:
            idx = next((i for i, m in enumerate(desc) if m.id < req.offset_id), len(desc))
        elif req.offset_date:
            idx = next((i for i, m in enumerate(desc) if m.date < req.offset_date), len(desc))
        else:
            idx = 0
        start = max(0, idx + req.add_offset)
        end = max(0, idx + req.add_offset + req.limit)
        page = desc[start:end]
        if req.min_id:
            page = [m for m in page if m.id > req.min_id]
        if req.max_id:
            page = [m for m in page if m.id < req.max_id]
        return types.messages.ChannelMessages(
            pts=1, count=len(desc), messages=list(page), topics=[], chats=[ch.entity()], users=[]
        )


class _FakeStringSession:
    def __init__(self, value: str):
        self.value = value

    def save(self) -> str:
        return self.value


class FakeClient:
    """Stands in for TelegramClient: connect/disconnect/is_user_authorized and `await client(request)`."""

    def __init__(self, server: FakeTelegram, session: str, api_id: int, api_hash: str):
        if session.startswith("INVALID"):
            raise ValueError("Not a valid string")
        self.server = server
        self.session = _FakeStringSession(session)
        self.api_id = api_id
        self.api_hash = api_hash
        self.flood_sleep_threshold = 60
        self._connected = False
        server.clients.append(self)

    async def connect(self) -> None:
        if self._connected:
            return
        key = self.session.value
        if key in self.server.active_sessions:
            raise AssertionError("two clients on one session at once (Telegram: AUTH_KEY_DUPLICATED)")
        self.server.active_sessions.add(key)
        self._connected = True

    def is_connected(self) -> bool:
        return self._connected

    async def is_user_authorized(self) -> bool:
        allowed = self.server.authorized_sessions
        return allowed is None or self.session.value in allowed

    async def disconnect(self) -> None:
        if self._connected:
            self.server.active_sessions.discard(self.session.value)
            self._connected = False

    async def __call__(self, request: Any) -> Any:
        if not self._connected:
            raise ConnectionError("Cannot send requests while disconnected")
        try:
            return self.server.answer(request)
        except ConnectionError:
            await self.disconnect()  # a reset connection leaves the client disconnected, as Telethon's does
            raise


def factory_for(server: FakeTelegram) -> Callable[[str, int, str], FakeClient]:
    return lambda session, api_id, api_hash: FakeClient(server, session, api_id, api_hash)
