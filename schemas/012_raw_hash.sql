-- 012_raw_hash: the hash of the raw record a post was last loaded from, so that a record read again with the very
-- same bytes (an hourly rescan, a re-imported file with a few lines edited) is recognised before it is
-- normalised at all. The probe goes by the primary key: no index of its own.

ALTER TABLE posts ADD COLUMN raw_hash bigint;
COMMENT ON COLUMN posts.raw_hash IS 'Hash of the raw input the row''s current state came from (a Telethon message, an X tweet with the includes it uses, a t.me/s widget, an album''s messages together), salted with the normaliser''s version; NULL when unknown or when the row mixes several records (older content, newer counts). A record with this hash, observed no earlier than metrics_observed_at, is skipped before normalising while the post is not deleted. A cache like row_hash: wirewatch import --force ignores it.';
