"""What a batch's posts are made from, known before normalising: each `Unit` is the raw input of one post (a
Telethon message, an album's messages together, an X tweet with the includes it uses, a t.me/s widget), the key
that post will have and a hash of those bytes. The run layer asks the warehouse which units it already holds
with the same hash and normalises only the rest (see `ingest.run.records.skip_stored`).

Skipping is safe because normalisation is a pure function: input with the same bytes (salted with the
normaliser's version, so a normaliser that changes its output re-reads everything) makes the same post, and a
post loaded again from the same state writes nothing. A unit's hash must therefore cover everything its
normaliser reads for that post; where a platform module cannot be sure, it makes no unit and the record is
normalised as before. The key is a guess that only decides where to look: a stored row holds this hash only if
this very input produced it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from typing import NamedTuple

import orjson

from ingest.models import INT64_MAX, RawRecord


class Unit(NamedTuple):
    """The input of one post in a batch. A named tuple, not a frozen dataclass: a rescan makes one for every post
    it is handed, and a tuple is made in 0.24 µs against 0.80 µs."""

    platform: str
    channel_id: int
    post_id: int  # the key the post will have
    raw_hash: int
    records: tuple[int, ...]  # positions in the batch of the records it is made of (an album: several)
    seen: tuple[int, ...]  # the message ids a live listing confirms when the unit is skipped
    observed: datetime | None = None  # the observation time its post will carry, when the input says
    part: int | None = None  # an X page: the tweet id, the unit being one tweet of the record

    @property
    def key(self) -> tuple[str, int, int]:
        return self[:3]  # (platform, channel_id, post_id)


@dataclass(frozen=True)
class Fingerprinter:
    """A platform's `units` of a batch and, where a unit is part of a record (X pages), `without`: the record
    with the given parts left out (None when nothing else of it needs normalising), with what the remaining
    parts need to normalise exactly as in the whole record, plus the ids of parts kept only as that context
    (their normalised output is dropped)."""

    units: Callable[[Sequence[RawRecord]], list[Unit]]
    without: Callable[[RawRecord, set[int]], tuple[RawRecord, frozenset[int]] | None] | None = None


def raw_hash(*parts: object) -> int | None:
    """A signed 64-bit hash of JSON parts in the order given (key order kept: reordered input is not skipped), or
    None for parts that are not plain JSON (then there is no unit: the record is normalised)."""
    try:
        # No OPT_NON_STR_KEYS, no default: payloads decoded from JSON never need them, and they cost 2.5x.
        data = orjson.dumps(parts)
    except TypeError:
        return None
    return _digest(data)


def context_seed(*parts: object) -> bytes | None:
    """What `raw_hash_in` starts from for records that share these parts (salt, source, context): serialised once
    for a batch's records rather than with each of them. None when the parts are not plain JSON."""
    try:
        return orjson.dumps(parts)
    except TypeError:
        return None


def raw_hash_in(seed: bytes, payload: object) -> int | None:
    """The raw hash of a payload under a `context_seed` (a JSON value is self-delimiting, so the seed's bytes
    followed by the payload's cannot be another seed's followed by another payload's)."""
    try:
        data = orjson.dumps(payload)
    except TypeError:
        return None
    return _digest(seed + data)


def _digest(data: bytes) -> int:
    """SHA-256 truncated to a signed 64 bits. A skipped record is one whose hash equals the stored one, so the
    hash must resist crafted collisions: a channel owner who could make an edit hash like the version we hold
    would hide it. SHA-256 (hardware-accelerated here) took 2.2 µs of a 3.5 KB message, BLAKE2b 3.4 µs; XXH3's
    0.1 µs was measured and not taken, a non-cryptographic hash being open to such collisions."""
    return int.from_bytes(sha256(data).digest()[:8], "big", signed=True)


def int_id(value: object) -> int | None:
    """A positive id given as an int or a decimal string, else None (no unit: the record is normalised)."""
    if isinstance(value, str):
        if not (value.isdigit() and value.isascii()):
            return None
        value = int(value)
    elif not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if 0 < value <= INT64_MAX else None
