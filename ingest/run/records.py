"""Raw records to normalised items for one batch: what both a file import and a channel pass do before loading."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from ingest.models import Deletion, Normalizer, Post, RawRecord, Rejected
from ingest.normalize.common import check_post, merge_albums


def normalize_records(
    records: Iterable[RawRecord], normalizer: Normalizer
) -> list[Post | Rejected | Deletion]:
    """Normalise raw records, turning a normaliser's crash into a reject rather than a lost batch."""
    out: list[Post | Rejected | Deletion] = []
    now = datetime.now(UTC)
    for rec in records:
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
        for item in items:
            out.append(check_post(item, now, rec.origin) if isinstance(item, Post) else item)
    posts = merge_albums(i for i in out if isinstance(i, Post))
    return [*posts, *(i for i in out if not isinstance(i, Post))]
