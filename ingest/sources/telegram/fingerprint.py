"""Units of Telethon message batches (live, JSONL files, replays): one message, or an album's messages together
(an album is merged into one post from every member in the batch, so it is skipped whole or not at all). See
`ingest.sources.fingerprint`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ingest.models import RawRecord
from ingest.sources.fingerprint import Fingerprinter, Unit, context_seed, int_id, raw_hash, raw_hash_in

PLATFORM = "telegram"
#: Part of every hash: raise it when `ingest.normalize.telegram` makes something else of the same message.
SALT = "telethon-1"
_MESSAGE_TYPES = ("Message", "MessageService")


def _key(payload: Any) -> tuple[int, int] | None:
    """(channel id, message id) of a message the normaliser would key the same way, else None."""
    if type(payload) is not dict or payload.get("_") not in _MESSAGE_TYPES:
        return None
    peer = payload.get("peer_id")
    if type(peer) is not dict or peer.get("_") != "PeerChannel":
        return None
    channel_id, post_id = peer.get("channel_id"), payload.get("id")
    if type(channel_id) is int and type(post_id) is int and 0 < channel_id < _MAX and 0 < post_id < _MAX:
        return channel_id, post_id  # the usual case, without a call a field
    channel_id, post_id = int_id(channel_id), int_id(post_id)
    if channel_id is None or post_id is None:
        return None
    return channel_id, post_id


_MAX = 2**63


def _album(payload: Any) -> object | None:
    """The album id as merging sees it (None: not in an album); a value the normaliser reads otherwise than as
    a plain integer makes the batch's albums unskippable."""
    gid = payload.get("grouped_id") if isinstance(payload, dict) else None
    if gid is None or (isinstance(gid, int) and not isinstance(gid, bool)):
        return gid
    return _UNSURE


_UNSURE = object()


def line_seed(secret: int, source: str, context: dict[str, Any]) -> int | None:
    """What a reader hashes the lines of a file with (`RawRecord.digest`, `fingerprint.raw_hash_of`): the seed
    `units` takes for a single message of this source and context under the warehouse's key `secret`."""
    return context_seed(secret, SALT, source, context)


def units(records: Sequence[RawRecord], secret: int) -> list[Unit]:
    """The batch's units, hashed under the warehouse's raw-hash key `secret`."""
    out: list[Unit] = []
    albums: dict[tuple[int, int], list[int]] = {}
    albums_safe = True
    keys: list[tuple[int, int] | None] = []
    # By the context's id and the source: a batch's records share one or two contexts. The context is kept with
    # its seed so that its id cannot be reused by another one meanwhile.
    seeds: dict[tuple[int, str], tuple[object, int | None]] = {}
    for i, rec in enumerate(records):
        ctx = rec.context
        key = _key(rec.payload) if rec.raw_text is None and not ctx.get("refused") else None
        keys.append(key)
        gid = _album(rec.payload)
        if gid is None:
            if key is not None:
                known = seeds.get((id(ctx), rec.source))
                if known is None:
                    known = seeds[(id(ctx), rec.source)] = (ctx, context_seed(secret, SALT, rec.source, ctx))
                h = rec.digest  # hashed from its line's bytes by the reader (`line_seed`), if it had them
                if h is None and known[1] is not None:
                    h = raw_hash_in(known[1], rec.payload)
                if h is not None:
                    out.append(Unit(PLATFORM, key[0], key[1], h, (i,), (key[1],), rec.fetched_at))
        elif gid is _UNSURE or key is None:
            albums_safe = False  # a member whose post might merge with others under a key we cannot tell
        else:
            albums.setdefault((key[0], gid), []).append(i)  # type: ignore[arg-type]
    if not albums_safe:
        return out
    for (channel_id, _gid), members in albums.items():
        first = records[members[0]]
        if any(
            records[m].context is not first.context and records[m].context != first.context for m in members
        ):
            continue
        ids = tuple(keys[m][1] for m in members)  # type: ignore[index]
        h = raw_hash(SALT, first.source, first.context, [records[m].payload for m in members], key=secret)
        observed = [records[m].fetched_at for m in members]
        if h is None or any(
            o != observed[0] or records[m].source != first.source
            for m, o in zip(members, observed, strict=True)
        ):
            continue
        out.append(
            Unit(PLATFORM, channel_id, min(ids), h, tuple(members), tuple(sorted(set(ids))), observed[0])
        )
    return out


FINGERPRINT = Fingerprinter(units)
