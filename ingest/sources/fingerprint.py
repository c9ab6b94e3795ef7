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
from typing import NamedTuple

import orjson
from xxhash import xxh3_64_intdigest

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

    units: Callable[[Sequence[RawRecord], int], list[Unit]]  # (batch, the warehouse's raw-hash key)
    without: Callable[[RawRecord, set[int]], tuple[RawRecord, frozenset[int]] | None] | None = None


def raw_hash(*parts: object, key: int) -> int | None:
    """A signed 64-bit hash of JSON parts in the order given (key order kept: reordered input is not skipped)
    under the warehouse's `key`, or None for parts that are not plain JSON (then there is no unit: the record is
    normalised)."""
    try:
        # No OPT_NON_STR_KEYS, no default: payloads decoded from JSON never need them, and they cost 2.5x.
        data = orjson.dumps(parts)
    except TypeError:
        return None
    return _digest(data, key)


def context_seed(key: int, *parts: object) -> int | None:
    """What `raw_hash_in` hashes with for records that share these parts (salt, source, context): their own hash
    under the warehouse's `key`, taken once for a batch's records rather than with each of them. None when the
    parts are not plain JSON."""
    try:
        return xxh3_64_intdigest(orjson.dumps(parts), key)
    except TypeError:
        return None


def raw_hash_in(seed: int, payload: object) -> int | None:
    """The raw hash of a payload under a `context_seed`: the payload's bytes hashed with the seed its shared parts
    make, so that the same payload under another context (or another warehouse's key) hashes otherwise."""
    try:
        data = orjson.dumps(payload)
    except TypeError:
        return None
    return _digest(data, seed)


def raw_hash_of(seed: int, data: bytes | memoryview) -> int:
    """The raw hash of a payload given as the JSON bytes it was decoded from, under a `context_seed`. It is the
    value `raw_hash_in` gives when those bytes are what orjson writes for the payload (a compact line), and another
    one otherwise (other spacing, escapes or key order): then a stored post is normalised once more, and the
    hash it stores matches from then on. Bytes decide the payload, so equal hashes never hide a change."""
    return _digest(data, seed)


def _digest(data: bytes, key: int) -> int:
    """64-bit XXH3 under a secret seed, as a signed integer. A skipped record is one whose hash equals the stored
    one, so an edit must not be craftable to hash like the version we hold (it would never become a version).
    XXH3 is not a cryptographic hash; what makes such an edit unfindable is the seed: the warehouse's random key
    (`warehouse_keys`, migration 024), which neither a channel owner nor the analyst role can read, as the known
    lines' digests are seeded per path. It costs 0.14 us of a 3.4 KB message against 2.2 us for the SHA-256
    used before."""
    digest = xxh3_64_intdigest(data, key)
    return digest - _WRAP if digest >= _SIGN else digest


_WRAP, _SIGN = 1 << 64, 1 << 63


def int_id(value: object) -> int | None:
    """A positive id given as an int or a decimal string, else None (no unit: the record is normalised)."""
    if isinstance(value, str):
        if not (value.isdigit() and value.isascii()):
            return None
        value = int(value)
    elif not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if 0 < value <= INT64_MAX else None
