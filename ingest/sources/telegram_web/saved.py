"""Saved t.me/s pages (`wirewatch import --format telegram-web`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ingest.models import RawRecord
from ingest.sources.lines import max_record_bytes
from ingest.sources.telegram_web.page import SOURCE, parse_page

_MAX_SAVED_HTML = 16 * 1024  # of a rejected page, kept for the reject record


def read_saved_page(path: Path) -> Iterator[RawRecord]:
    """`wirewatch import --format telegram-web`: the widgets of a saved t.me/s page. A page that is not a post
    list (a t.me landing page, any other HTML) becomes one record that the normaliser rejects with the reason."""
    path = Path(path)
    size, limit = path.stat().st_size, max_record_bytes()
    if size > limit:
        # A saved t.me/s page is ~100 KB; parsing HTML costs several times its size, so a larger one is refused
        # before it is read.
        raise ValueError(
            f"{path} is {size:,} bytes, over the {limit:,}-byte record limit (WIREWATCH_MAX_RECORD_BYTES): "
            "not read; a saved t.me/s page is about 100 KB"
        )
    data = path.read_bytes()
    try:
        html = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text (byte {exc.start}): not a saved t.me page") from exc
    page = parse_page(html, url=str(path))
    if page.kind == "channel":
        yield from page.records
        return
    yield RawRecord(
        source=SOURCE,
        payload={
            "page_kind": page.kind,
            "problem": page.problem,
            "handle": page.handle,
            "title": page.title,
            "html": html[:_MAX_SAVED_HTML],
        },  # fmt: skip
        origin=str(path),
    )
