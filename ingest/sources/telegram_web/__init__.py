"""Telegram without credentials: the public web preview `https://t.me/s/<channel>`.

Three entry points:

- `parse_page(html)` reads one preview page into `RawRecord`s (one per `.tgme_widget_message` widget), the
  channel header (handle, title, numeric id from `data-view`) and the `?before=` cursor of the older page. It
  recognises the `t.me/<channel>` landing page (no post list) and says so.
- `read_saved_page(path)` is `wirewatch import --format telegram-web`: saved pages become records; an HTML file
  that is not a post list becomes one record the normaliser rejects with the reason.
- `TelegramWebSource` is the live source: it walks pages newest -> older with `?before=<smallest id>`, with a
  polite delay between requests and bounded retries (429/5xx, Retry-After honoured; a long Retry-After defers).

A t.me/s page fetched with `?before=B` lists every existing post with an id below B, twenty at a time, so a
rescan page is a complete listing of its id range: ids missing from it were deleted.

Modules, one concern each: `page` (a preview page), `widget` (one post's widget), `saved` (the file reader),
`source` (`TelegramWebSource`, the HTTP client and the live source).
"""

from ingest.sources.telegram_web.page import SOURCE, PageResult, parse_page
from ingest.sources.telegram_web.saved import read_saved_page
from ingest.sources.telegram_web.source import TelegramWebError, TelegramWebSource
from ingest.sources.telegram_web.widget import extract_media, extract_reactions, extract_text, widget_payload

__all__ = [
    "SOURCE", "PageResult", "TelegramWebError", "TelegramWebSource", "extract_media", "extract_reactions",
    "extract_text", "parse_page", "read_saved_page", "widget_payload",
]  # fmt: skip
