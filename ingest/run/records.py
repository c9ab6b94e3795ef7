"""Raw records to normalised items for one batch: what both a file import and a channel pass do before loading.

Before normalising, `plan_batch` leaves out the input the warehouse already holds as it is: each post's raw input
(a `Unit` of `ingest.sources.fingerprint`) is hashed and compared with the hash stored with the post, so an
unchanged message, tweet or widget costs a hash and a key probe instead of normalising, hashing the row and
probing again. Skipped units are reported back so that the caller counts their posts as unchanged and as seen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ingest.models import Deletion, Normalizer, Post, RawRecord, Rejected, stamp_raw_hash
from ingest.normalize.common import check_post, merge_albums
from ingest.sources.fingerprint import Fingerprinter, Unit
from ingest.warehouse.loader import Loader, LoadStats
from ingest.warehouse.post_rows import Prepared


@dataclass(frozen=True, slots=True)
class Planned:
    """A record to normalise, with the raw hashes its posts carry into the warehouse."""

    record: RawRecord
    raw_hash: int | None = None  # every post of the record (a message, a widget, an album's member)
    part_hashes: dict[int, int] | None = None  # an X page: by tweet id (a post's source_post_id)
    context_only: frozenset[int] = frozenset()  # tweets kept only for the others to look up: output dropped

    def apply(self, items: list) -> list:
        if self.context_only:
            drop = self.context_only
            items = [
                i for i in items
                if not ((isinstance(i, Post) and i.source_post_id in drop)
                        or (isinstance(i, Rejected) and i.post_id in drop))
            ]  # fmt: skip
        if self.raw_hash is not None:
            for i in items:
                if isinstance(i, Post):
                    stamp_raw_hash(i, self.raw_hash)
        elif self.part_hashes:
            for i in items:
                if isinstance(i, Post) and (h := self.part_hashes.get(i.source_post_id)) is not None:  # type: ignore[arg-type]
                    stamp_raw_hash(i, h)
        return items


@dataclass
class BatchPlan:
    records: list[Planned | RawRecord]
    skipped: list[Unit] = field(default_factory=list)  # posts held unchanged: not normalised, not loaded
    # Keys of the batch's posts the warehouse did not hold when it was asked (see `Loader.load`'s `new_keys`).
    new_keys: frozenset[tuple[str, int, int]] = frozenset()

    @property
    def unchanged(self) -> int:
        """Posts the skipped units stand for (identical copies of one input count once, as loading them would)."""
        return len({(u.key, u.raw_hash) for u in self.skipped})


def plan_batch(
    records: Sequence[RawRecord],
    fingerprinter: Fingerprinter | None,
    loader: Loader,
    *,
    skip: bool = True,
    ahead: bool = False,
) -> BatchPlan:
    """Which of a batch's records need normalising. Without a fingerprinter everything does; with `skip` false
    (`--force`) everything does too, but posts still carry their raw hashes. `ahead`: a rescan batch, probed
    from the stored posts the loader reads ahead (`Loader.probe_ahead`)."""
    if fingerprinter is None or not records:
        return BatchPlan(list(records))
    units = fingerprinter.units(records, loader.raw_key())
    skipped: list[Unit] = []
    new_keys: set[tuple[str, int, int]] = set()
    if skip and units:
        # Several inputs of one post in a batch are read together (versions in order, duplicates collapsed):
        # skipping one of them could change what the others make, so none is skipped.
        keys = [u[:3] for u in units]  # Unit.key
        if len(set(keys)) == len(keys):
            candidates = units
        else:
            counts = Counter(keys)
            candidates = [u for u, k in zip(units, keys, strict=True) if counts[k] == 1]
        by_platform: dict[str, list[Unit]] = {}
        for u in candidates:
            by_platform.setdefault(u.platform, []).append(u)
        for platform, group in by_platform.items():
            hits, stored = loader.stored_raw(
                platform, [(u.channel_id, u.post_id, u.raw_hash, u.observed) for u in group], ahead=ahead
            )
            skipped.extend(group[i] for i in hits)
            if len(stored) < len(group):
                held = set(stored)
                new_keys.update(u.key for i, u in enumerate(group) if i not in held)
    whole: dict[int, int] = {}
    parts: dict[int, dict[int, int]] = {}
    for u in units:
        if u.part is None:
            for r in u.records:
                whole[r] = u.raw_hash
        else:
            parts.setdefault(u.records[0], {})[u.part] = u.raw_hash
    gone: set[int] = set()
    skipped_parts: dict[int, set[int]] = {}
    for u in skipped:
        if u.part is None:
            gone.update(u.records)
        else:
            skipped_parts.setdefault(u.records[0], set()).add(u.part)
    out: list[Planned | RawRecord] = []
    for i, rec in enumerate(records):
        if i in gone:
            continue
        context_only: frozenset[int] = frozenset()
        if i in skipped_parts and fingerprinter.without is not None:
            reduced = fingerprinter.without(rec, skipped_parts[i])
            if reduced is None:
                continue
            rec, context_only = reduced
        out.append(Planned(rec, whole.get(i), parts.get(i), context_only))
    return BatchPlan(out, skipped, frozenset(new_keys))


def normalize_records(
    records: Iterable[RawRecord | Planned], normalizer: Normalizer
) -> list[Post | Rejected | Deletion]:
    """Normalise raw records, turning a normaliser's crash into a reject rather than a lost batch."""
    out: list[Post | Rejected | Deletion] = []
    now = datetime.now(UTC)
    for rec in records:
        plan = None
        if isinstance(rec, Planned):
            plan, rec = rec, rec.record
        refused = rec.context.get("refused")
        if refused:  # the reader would not decode it (a line over the record size limit)
            out.append(Rejected(source=rec.source, reason=refused, origin=rec.origin, raw_text=rec.raw_text))
            continue
        try:
            items = list(normalizer(rec))
        except Exception as exc:  # noqa: BLE001 - one bad record must not sink the batch
            out.append(
                Rejected(
                    source=rec.source,
                    reason=f"normaliser error: {type(exc).__name__}: {exc}"[:500],
                    payload=rec.payload,
                    origin=rec.origin,
                    raw_text=rec.raw_text,
                )  # fmt: skip
            )
            continue
        if plan is not None:
            items = plan.apply(items)
        for item in items:
            out.append(check_post(item, now, rec.origin) if isinstance(item, Post) else item)
    posts = merge_albums(i for i in out if isinstance(i, Post))
    return [*posts, *(i for i in out if not isinstance(i, Post))]


def load_batch(
    records: Sequence[RawRecord],
    fingerprinter: Fingerprinter | None,
    normalizer: Normalizer,
    loader: Loader,
    *,
    skip: bool = True,
    only_existing: bool = False,
    ahead: bool = False,
) -> tuple[BatchPlan, list[Post | Rejected | Deletion], LoadStats]:
    """One batch as both runners load it: plan (leave out what is stored from the same bytes), normalise the rest,
    load it; the skipped posts are counted unchanged. A batch held whole as it is (the usual rescan) costs no load
    at all. The caller commits."""
    plan = plan_batch(records, fingerprinter, loader, skip=skip, ahead=ahead)
    items = normalize_records(plan.records, normalizer)
    return plan, items, load_planned(plan, items, loader, only_existing=only_existing)


def load_planned(
    plan: BatchPlan,
    items: Sequence[Post | Rejected | Deletion],
    loader: Loader,
    *,
    only_existing: bool = False,
    rounds: list[list[Prepared]] | None = None,
    written_since: AbstractSet[tuple[str, int, int]] = frozenset(),
) -> LoadStats:
    """Load a planned and normalised batch (`rounds`: its posts prepared ahead); its skipped posts count as
    unchanged. `written_since`: keys loaded after the batch was planned (batches loaded while it was read ahead),
    which the plan may have seen as new. The caller commits."""
    new_keys = plan.new_keys - written_since
    stats = (
        loader.load(items, only_existing=only_existing, rounds=rounds, new_keys=new_keys)
        if items
        else LoadStats()
    )
    stats.unchanged += plan.unchanged
    return stats
