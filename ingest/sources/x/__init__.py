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

from ingest.sources.x.credentials import bearer_token_from_env
from ingest.sources.x.files import FILE_SOURCE, read_pages
from ingest.sources.x.source import LIVE_SOURCE, TIMELINE_CAP, XSource

__all__ = ["FILE_SOURCE", "LIVE_SOURCE", "TIMELINE_CAP", "XSource", "bearer_token_from_env", "read_pages"]
