-- 017_import_ledger_head: the hash of a file's first MiB in its ledger row.
--
-- With it a re-import tells at once that a file changed inside (neither the same bytes nor only grown: its first MiB
-- differs) and reads it while the whole file's hash, needed only for the ledger row, is taken on a second thread
-- (ingest/run/file_ledger.py). For rows written before this migration (NULL) and files that were under a MiB (an
-- append changes their head), the whole hash is taken first, as before.

ALTER TABLE import_ledger ADD COLUMN IF NOT EXISTS head_hash bytea;

COMMENT ON COLUMN import_ledger.head_hash IS 'BLAKE2b-256 of the file''s first MiB (the whole file when smaller).';

-- 016 said BLAKE2b; the digests are the first 8 bytes of each line's SHA-256 (ingest/sources/known_lines.py).
COMMENT ON COLUMN import_ledger.line_hashes IS 'Sorted signed 64-bit digests (the first 8 bytes of SHA-256, little-endian) of the lines whose records loaded as posts in the file''s last import, where its format is one post a line (Telethon JSONL): on the next import of the same path a line with one of these digests is not decoded again (wirewatch import --force reads it anyway).';
