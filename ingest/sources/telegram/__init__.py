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

from ingest.sources.exports import lazy_exports

#: Public name -> the module that defines it. Loaded on first use (PEP 562): importing the file reader
#: (`ingest.sources.telegram.jsonl`) imports this package first, and an import of a Telethon file must not pay for
#: the live client's asyncio and Telethon stack (~0.1 s of start-up).
_EXPORTS = {
    "ResolveBudget": "budget", "process_budget": "budget",
    "ClientFactory": "client", "default_client_factory": "client",
    "TelegramCredentials": "credentials", "airflow_conn_var": "credentials", "credentials_from_env": "credentials",
    "env_prefix": "credentials",
    "SOURCE_JSONL": "jsonl", "handle_from_filename": "jsonl", "json_safe": "jsonl", "read_jsonl": "jsonl",
    "ChannelAccessError": "peers", "PeerCache": "peers",
    "SessionLock": "session", "default_lock_dir": "session", "session_digest": "session",
    "SOURCE_LIVE": "source", "TelethonSource": "source",
}  # fmt: skip

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
