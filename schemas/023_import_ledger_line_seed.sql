-- 023_import_ledger_line_seed: the known lines' digests are seeded XXH3, and the ledger keeps each path's seed.
--
-- A re-import takes a digest of every line it reads (ingest/sources/known_lines.py); XXH3 costs a tenth of the
-- SHA-256 used before. XXH3 is not a cryptographic hash: each path's digests are taken with a random seed kept
-- only here, so that no one who posts what a file holds can make an edited line meet a remembered digest. A row
-- written before this migration has no seed and SHA-256 digests: they are dropped, and that file's next import
-- reads every line once. The whole-file and first-MiB hashes have been BLAKE3 since the fingerprint was taken
-- beside the read; the comments of 010 and 017 still said BLAKE2b.

ALTER TABLE import_ledger ADD COLUMN IF NOT EXISTS line_seed bigint;

COMMENT ON COLUMN import_ledger.line_seed IS 'The seed of the 64-bit XXH3 digests in line_hashes, random per path and kept from import to import; NULL: line_hashes holds SHA-256 digests of before migration 023, which are not used.';

COMMENT ON COLUMN import_ledger.content_hash IS 'BLAKE3 of the whole file, read in 1 MiB blocks (a row written with an earlier hash just fails to match: the file is read once more).';

COMMENT ON COLUMN import_ledger.head_hash IS 'BLAKE3 of the file''s first MiB (the whole file when smaller).';

COMMENT ON COLUMN import_ledger.line_hashes IS 'Sorted signed 64-bit XXH3 digests (seeded with line_seed, little-endian) of the lines, line ends left out, whose records loaded as posts in the file''s last import, where its format is one post a line (Telethon JSONL): on the next import of the same path a line with one of these digests is not decoded again (wirewatch import --force reads it anyway).';
