"""Lines a JSONL file held at its last clean import, so that importing it again skips them before decoding.

Importing again a file that changed a little (a collector re-wrote it with a few messages edited) would otherwise
decode, hash and probe every line to find the few that changed. The import ledger keeps the digests of the lines
whose records loaded as posts (migration 016); a line read again from the same path with one of those digests
holds exactly the input that produced a stored post, so it is skipped before it is decoded and counted as one
unchanged post. A line the reader finds, once decoded, to be only part of a post (a Telethon album member: an
album is one post merged from several lines, so an edited member is merged with the others again) is never
remembered, so it is never skipped either; and because only decoded lines are asked, a skipped line costs its
digest alone.

The trust is the import ledger's (as for a whole unchanged file): the warehouse still holds what it loaded.
`wirewatch import --force` reads every line; the digests are still taken, for the next import.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from hashlib import sha256

#: Part of every digest: raise it when the rule for what a remembered line stands for changes. Version 2: only
#: whole posts are remembered (ledgers of version 1 also held album members, told apart when read), so a digest
#: of version 1 must never match.
_SALT = sha256(b"wirewatch known line 2\n")


def line_digest(data: bytes) -> int:
    """A line's digest, its line end left out (a file re-written with other line ends is the same input): the
    first 8 bytes of its salted SHA-256, as a signed integer. SHA-256 rather than the BLAKE2b of `models.digest64`
    because it is computed for every line read and CPUs with SHA extensions run it ~1.7x faster (2.4 against
    4.1 us for a 3.3 KB Telethon line here); the digests only ever meet each other."""
    h = _SALT.copy()
    h.update(data.rstrip(b"\r\n"))
    return int.from_bytes(h.digest()[:8], "little", signed=True)


def _array(raw: bytes | None) -> array:
    out = array("q")
    if raw:
        out.frombytes(raw)
        if sys.byteorder == "big":  # stored little-endian
            out.byteswap()
    return out


class KnownLines:
    """One import of a file: which lines it may skip (`known`: the digests its last clean import remembered),
    the digest of every line it reads, and which of those loaded as posts. A resumed import reads from line
    `base + 1` on and keeps remembering the prefix's digests (`carried`)."""

    def __init__(self, known: bytes | None = None, *, base: int = 0, carried: bytes | None = None):
        # A set: a lookup a line is ~0.1 us against ~1 us for a search of the sorted array (memory: ~60 bytes a
        # known line, only while a changed file is read again).
        self._known = set(_array(known))
        self._carried = _array(carried)
        self._base = base
        self._digests = array("q")  # by line number - base - 1; 0 where a line was not noted
        self._loaded = bytearray()  # 1 where the line's record loaded as a post, or was skipped as known
        self._parts: set[int] = set()  # lines that are part of a post (album members): never remembered
        self.skipped = 0

    def skip(self, number: int, data: bytes) -> bool:
        """Note line `number` (its bytes as read) and tell whether it can be left out undecoded."""
        digest = line_digest(data)
        at = number - self._base - 1
        digests = self._digests
        if at == len(digests):  # the usual case: lines come in order, each once
            digests.append(digest)
            self._loaded.append(0)
        else:
            if at > len(digests):  # blank or oversize lines in between were not noted
                grow = at + 1 - len(digests)
                digests.extend([0] * grow)
                self._loaded.extend(bytes(grow))
            digests[at] = digest
        if digest not in self._known:
            return False
        self._loaded[at] = 1
        self.skipped += 1
        return True

    def part(self, number: int) -> None:
        """The reader's word, once it decoded line `number`, that the line is only part of a post (a Telethon
        album member): it is not remembered, so the next import decodes it again."""
        self._parts.add(number - self._base - 1)

    def loaded(self, origins: Iterable[str | None]) -> None:
        """Mark the lines these records came from (origins `path:line`) as loaded into posts."""
        size = len(self._loaded)
        for origin in origins:
            if not origin:
                continue
            _, _, tail = origin.rpartition(":")
            if tail.isdigit():
                at = int(tail) - self._base - 1
                if 0 <= at < size:
                    self._loaded[at] = 1

    def remembered(self) -> bytes:
        """What the ledger keeps for the next import: the digests of the lines that loaded (`pack`ed)."""
        parts = self._parts
        keep = {
            d
            for at, (d, ok) in enumerate(zip(self._digests, self._loaded, strict=True))
            if ok and at not in parts
        }
        keep.update(self._carried)
        return pack(keep)


def pack(digests: Iterable[int]) -> bytes:
    """Digests as the ledger stores them: sorted, distinct, 8 bytes each, little-endian."""
    out = array("q", sorted(set(digests)))
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def union(*packed: bytes | None) -> bytes:
    """Packed digest sets (`pack`) made one: the lines the parts of a file split by channel loaded."""
    out: set[int] = set()
    for raw in packed:
        out.update(_array(raw))
    return pack(out)
