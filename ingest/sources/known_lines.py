"""Lines a JSONL file held at its last clean import, so that importing it again skips them before decoding.

Importing again a file that changed a little (a collector re-wrote it with a few messages edited) would otherwise
decode, hash and probe every line to find the few that changed. The import ledger keeps the digests of the lines
whose records loaded as posts (migration 016); a line read again from the same path with one of those digests
holds exactly the input that produced a stored post, so it is skipped before it is decoded and counted as the
unchanged posts it made (one for a Telethon message; an X page's tweets and the originals it includes: the ledger
keeps those counts where a line made other than one, migration 028). A line the reader finds, once decoded, to be
only part of a post (a Telethon album member: an album is one post merged from several lines, so an edited member
is merged with the others again) is never remembered, so it is never skipped either; nor is a line that made a
reject or a deletion, so that it is reported again. Because only decoded lines are asked, a skipped line costs its
digest alone.

The trust is the import ledger's (as for a whole unchanged file): the warehouse still holds what it loaded. The
digests are seeded per path (`LineDigests`, migration 023); a row written before then holds SHA-256 digests, which
are dropped, so that file's next import reads every line once.
`wirewatch import --force` reads every line; the digests are still taken, for the next import.
"""

from __future__ import annotations

import secrets
import sys
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from xxhash import xxh3_64_intdigest

_WRAP, _SIGN = 1 << 64, 1 << 63


def line_digest(data: bytes, seed: int) -> int:
    """A line's digest under its ledger row's seed, the line end left out (a file re-written with other line ends
    is the same input): the line's 64-bit XXH3, as a signed integer.

    It is taken for every line a re-import reads, so it is most of what a known line costs: 0.26 us for a 3.3 KB
    Telethon line against 2.4 us for SHA-256 (with the CPU's SHA extensions; the digest of ledgers written before
    migration 023) and 3.8 us for BLAKE2b on this box. XXH3 is not a cryptographic hash, so what keeps a channel
    owner from making an edited line meet a remembered digest (and the edit from being skipped) is that they
    know neither the seed, a random number kept only in the ledger row, nor the line's bytes, which hold counters
    and times they do not choose. By accident, a changed line meets one of 100k remembered digests with a chance of
    ~5e-15."""
    digest = xxh3_64_intdigest(data.rstrip(b"\r\n"), seed)
    return digest - _WRAP if digest >= _SIGN else digest


@dataclass(frozen=True)
class LineDigests:
    """What a file's ledger row remembers of its lines: the seed its digests are taken with and the digests
    (`pack`ed). One seed per path, kept from import to import, so that a file split across processes gets one set
    of digests and a grown file's prefix keeps its own."""

    seed: int
    packed: bytes | None = None
    #: The posts each line made, 4 bytes each (little-endian) in the order of `packed`; None: one each.
    posts: bytes | None = None

    @classmethod
    def fresh(cls) -> LineDigests:
        """A seed for a path the ledger holds no digests of (a bigint column: 63 random bits)."""
        return cls(secrets.randbits(63))


def _array(raw: bytes | None, code: str = "q") -> array:
    out = array(code)
    if raw:
        out.frombytes(raw)
        if sys.byteorder == "big":  # stored little-endian
            out.byteswap()
    return out


class KnownLines:
    """One import of a file: which lines it may skip (the digests its last clean import remembered), the digest of
    every line it reads, and which of those loaded as posts. A resumed import (`base`: the lines of the prefix it
    does not read) skips nothing and keeps remembering the prefix's digests."""

    def __init__(self, digests: LineDigests | None = None, *, base: int | None = None):
        digests = digests or LineDigests.fresh()
        self.seed = digests.seed
        # A set (a dict where lines made other than one post each): a lookup a line is ~0.1 us against ~1 us for a
        # search of the sorted array (memory: ~60 bytes a known line, only while a changed file is read again).
        self._counts = digests.posts is not None
        known: set[int] | dict[int, int] = _counted(digests) if self._counts else set(_array(digests.packed))
        self._known = known if base is None else set()
        self._carried = known if base is not None else set()
        self._base = base or 0
        self._digests = array("q")  # by line number - base - 1; 0 where a line was not noted
        # By line: the posts its records loaded as, or it was skipped for (4 bytes a line of every file read; a
        # list or a dict of them would cost ~10x at the end of a 1M-line file).
        self._posts = array("I")
        # Lines never remembered: part of a post (album members), or that made a reject or two posts of one key.
        self._withheld: set[int] = set()
        self.skipped = 0  # lines
        self.skipped_posts = 0  # the posts they stand for

    def skip(self, number: int, data: bytes) -> bool:
        """Note line `number` (its bytes as read) and tell whether it can be left out undecoded."""
        digest = line_digest(data, self.seed)
        at = number - self._base - 1
        digests = self._digests
        if at == len(digests):  # the usual case: lines come in order, each once
            digests.append(digest)
            self._posts.append(0)
        else:
            if at > len(digests):  # blank or oversize lines in between were not noted
                grow = at + 1 - len(digests)
                digests.extend([0] * grow)
                self._posts.extend([0] * grow)
            digests[at] = digest
        known = self._known
        if digest not in known:
            return False
        posts = known[digest] if self._counts else 1  # type: ignore[index]
        self._posts[at] = posts
        self.skipped += 1
        self.skipped_posts += posts
        return True

    def noted(self) -> int:
        """Lines noted so far (read, whether skipped or not)."""
        return len(self._digests)

    def part(self, number: int) -> None:
        """The reader's word, once it decoded line `number`, that the line is only part of a post (a Telethon
        album member): it is not remembered, so the next import decodes it again."""
        self._withheld.add(number - self._base - 1)

    def loaded(self, origins: Iterable[str | None]) -> None:
        """Count for the lines these posts came from (origins `path:line`, one a post, or a `Counter` of them) a
        post each."""
        # An X page's hundred posts share one origin: each distinct one is parsed once.
        for origin, n in (origins if isinstance(origins, Counter) else Counter(origins)).items():
            at = self._line(origin)
            if at is not None:
                self._posts[at] += n

    def withheld(self, origins: Iterable[str | None]) -> None:
        """The lines these origins name (of a reject; of two posts of one key) are not remembered: their next
        import reads them again, and reports a reject again."""
        for origin in origins:
            at = self._line(origin)
            if at is not None:
                self._withheld.add(at)

    def _line(self, origin: str | None) -> int | None:
        """The position of the line an origin (`path:line`) names among those noted, or None."""
        if not origin:
            return None
        _, _, tail = origin.rpartition(":")
        if not tail.isdigit():
            return None
        at = int(tail) - self._base - 1
        return at if 0 <= at < len(self._posts) else None

    def remembered(self) -> LineDigests:
        """What the ledger keeps for the next import: the digests of the lines that loaded as posts, under this
        seed, with how many posts each."""
        withheld = self._withheld
        carried = self._carried
        lines = zip(self._digests, self._posts, strict=True)
        if not self._counts and max(self._posts, default=0) <= 1:
            # Every line made one post (a Telethon file): digests alone, as lean as the ledger stores them.
            keep = [d for at, (d, n) in enumerate(lines) if n and at not in withheld]
            keep.extend(carried)
            return LineDigests(self.seed, pack(keep))
        counted = dict(carried) if isinstance(carried, dict) else dict.fromkeys(carried, 1)
        for at, (d, n) in enumerate(lines):
            if n and at not in withheld:
                counted[d] = n
        return LineDigests(self.seed, *pack_counted(counted))


def pack(digests: Iterable[int]) -> bytes:
    """Digests as the ledger stores them: sorted, distinct, 8 bytes each, little-endian."""
    return _little(array("q", sorted(set(digests))))


def _little(values: array) -> bytes:
    """An array's bytes little-endian, as the ledger stores them (`_array` reads them back)."""
    if sys.byteorder == "big":
        values.byteswap()
    return values.tobytes()


def pack_counted(posts: dict[int, int]) -> tuple[bytes, bytes | None]:
    """Digests and their posts as the ledger stores them (`LineDigests.packed`, `.posts`): the counts are left
    out (None) when every line made one post, as every line of a Telethon file does."""
    keys = sorted(posts)  # distinct already: the digests of one sort serve both arrays
    packed = _little(array("q", keys))
    if all(posts[k] == 1 for k in keys):
        return packed, None
    return packed, _little(array("i", [posts[k] for k in keys]))  # 4 bytes


def _counted(digests: LineDigests) -> dict[int, int]:
    keys = _array(digests.packed)
    if digests.posts is None:
        return dict.fromkeys(keys, 1)
    counts = _array(digests.posts, "i")
    if len(counts) != len(keys):  # not what this module wrote: remember nothing rather than miscount
        return {}
    return dict(zip(keys, counts, strict=True))


def union(*parts: LineDigests) -> LineDigests:
    """The lines the parts of a file split by channel loaded, made one (the parts share their plan's seed)."""
    seeds = {p.seed for p in parts}
    if len(seeds) != 1:
        raise ValueError(f"the parts of one file digest their lines with one seed, not {len(seeds)}")
    if all(p.posts is None for p in parts):  # one post a line: a set, not a dict of a million counts
        digests: set[int] = set()
        for p in parts:
            digests.update(_array(p.packed))
        return LineDigests(seeds.pop(), pack(digests))
    out: dict[int, int] = {}
    for p in parts:
        out.update(_counted(p))
    return LineDigests(seeds.pop(), *pack_counted(out))
