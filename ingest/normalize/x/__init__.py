"""X API v2 response pages -> posts, rejects and deletions. Pure: no I/O, no clock.

One page (`data` / `includes` / `errors` / `meta`, as twarc2 writes it and `tweepy.Client(return_type=dict)`
returns it) becomes one `Post` per tweet in `data` and one per tweet in `includes.tweets` (referenced originals
are real posts with their full text), one `Rejected` per `errors[]` entry, and a `Deletion` per compliance
delete event. Quirks absorbed here:

- An edit gets a new tweet id. Every version is keyed by the FIRST id of `edit_history_tweet_ids` (post_id);
  `source_post_id` keeps the version's own id, `version_at` its `created_at`, and `posted_at` is the creation
  time of the first id (from its Snowflake id, so every version agrees even when the first is not in the page).
  Only the latest version carries counts: an old version's counts are frozen and are not the post's.
- A repost's v2 text is a truncated "RT @user: ..."; the post takes the original's full text (and its links,
  media, hashtags, mentions) from `includes.tweets`. When the original is missing there (deleted, withheld,
  not expanded) the truncated text is kept and the post carries the media flag `truncated_repost`. A repost has
  no engagement of its own (X reports the original's repost count on it), so its metrics are left empty.
- Long posts carry their full text in `note_tweet.text`; `text` is cut at 280 characters.
- `text` arrives HTML-escaped (`&amp;`, `&lt;`, `&gt;`); it is unescaped.
- `lang` codes `und`, `qst`, `zxx`, `qam`, `qct`, `qht`, `qme` (no language) become None; X's legacy codes
  `in`/`iw`/`ji` become `id`/`he`/`yi`.
- Withheld posts keep the `withheld` object in raw and carry the media flag `withheld`.

Flags are media items `{"type": "flag", "id": <name>, ...}`. Media items hash (for edit detection) on type and
id only, so the media URL lives under `media_url`: pages that did not expand a referenced post's media must not
look like an edit of it.
"""

from ingest.normalize.x.fields import (
    PLATFORM,
    SNOWFLAKE_MIN_ID,
    TWITTER_EPOCH_MS,
    normalize_lang,
    parse_time,
    snowflake_time,
    unescape,
)
from ingest.normalize.x.page import normalize_page

__all__ = [
    "PLATFORM",
    "SNOWFLAKE_MIN_ID",
    "TWITTER_EPOCH_MS",
    "normalize_lang",
    "normalize_page",
    "parse_time",
    "snowflake_time",
    "unescape",
]
