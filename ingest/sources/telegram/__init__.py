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


Modules, one concern each: `jsonl` (the file reader), `credentials`, `session` (the session lock), `peers`
(the peer cache), `budget` (the resolution budget), `client` (the asyncio bridge), `source` (`TelethonSource`).
"""

from ingest.sources.telegram.budget import ResolveBudget, process_budget
from ingest.sources.telegram.client import ClientFactory, default_client_factory
from ingest.sources.telegram.credentials import (
    TelegramCredentials,
    airflow_conn_var,
    credentials_from_env,
    env_prefix,
)
from ingest.sources.telegram.jsonl import SOURCE_JSONL, handle_from_filename, json_safe, read_jsonl
from ingest.sources.telegram.peers import ChannelAccessError, PeerCache
from ingest.sources.telegram.session import SessionLock, default_lock_dir, session_digest
from ingest.sources.telegram.source import SOURCE_LIVE, TelethonSource

__all__ = [
    "SOURCE_JSONL", "SOURCE_LIVE", "ChannelAccessError", "ClientFactory", "PeerCache", "ResolveBudget",
    "SessionLock", "TelegramCredentials", "TelethonSource", "airflow_conn_var", "credentials_from_env",
    "default_client_factory", "default_lock_dir", "env_prefix", "handle_from_filename", "json_safe",
    "process_budget", "read_jsonl", "session_digest",
]  # fmt: skip
