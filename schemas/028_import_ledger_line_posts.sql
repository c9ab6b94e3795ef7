-- 028_import_ledger_line_posts: how many posts each remembered line made, for files of many posts a line.
--
-- A line read again with a remembered digest is skipped undecoded and counted as the unchanged posts it made
-- (ingest/sources/known_lines.py). A Telethon line makes one post; an X API v2 page line makes one post a tweet and
-- one a referenced original it includes, so X page files now have their lines remembered too, with these counts.
-- NULL: every remembered line made one post (Telethon JSONL files, and every row written before).

ALTER TABLE import_ledger ADD COLUMN IF NOT EXISTS line_posts bytea;

COMMENT ON COLUMN import_ledger.line_posts IS 'The posts each line of line_hashes made, a little-endian 32-bit integer each in the order of line_hashes; NULL: one post each line.';

COMMENT ON COLUMN import_ledger.line_hashes IS 'Sorted signed 64-bit XXH3 digests (seeded with line_seed, little-endian) of the lines, line ends left out, whose records loaded as posts in the file''s last import (without a reject or a deletion), where its format is one record a line (Telethon JSONL, X API v2 pages): on the next import of the same path a line with one of these digests is not decoded again and counts as the posts it made (line_posts; wirewatch import --force reads it anyway).';
