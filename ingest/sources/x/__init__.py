"""X (API v2): twarc-style JSONL page files, and the live source over `tweepy.Client`.

`read_pages` streams a file of response pages (one JSON page a line) as raw records. `XSource` reads one account's
timeline (GET /2/users/:id/tweets) with a bearer token and hands pages to the pipeline; `ingest.normalize.x`
turns them into posts.

How the cursor stays behind committed data. The timeline pages newest first, but a cursor may only advance past
rows that are stored. So a walk (all pages from `since_id` up to now) is collected first, then yielded oldest
page first, each batch carrying `last_post_id` = the newest id it holds: whatever crashes later, every post up to
the committed cursor is stored. A walk is at most 3,200 posts (32 pages), so holding it is cheap. If the walk is
cut short (rate limit beyond the wait threshold, an API error, the `max_pages` budget), the pages already read
(already paid for) are committed without moving `last_post_id`; `cursor.state["x_walk"]` records the range still
missing (`since_id`, `until_id` = oldest id read) and the newest id seen, and the next run finishes that range
first, then advances `last_post_id` to that newest id.
"""

from ingest.sources.exports import lazy_exports

#: Public name -> the module that defines it. Loaded on first use (PEP 562): importing the file reader or the
#: fingerprints (`files`, `fingerprint`) imports this package first, and an import of an X file must not pay for
#: tweepy and requests (~0.15 s of start-up).
_EXPORTS = {
    "bearer_token_from_env": "credentials",
    "FILE_SOURCE": "files", "read_pages": "files",
    "LIVE_SOURCE": "source", "TIMELINE_CAP": "source", "XSource": "source",
}  # fmt: skip

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
