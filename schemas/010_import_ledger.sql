-- 010_import_ledger: which input files were imported whole, with their size and content hash, so importing an
-- unchanged file again costs a read and a hash instead of parsing, normalising and comparing every record, and a
-- JSONL file that only grew is read on from where its last import ended.

CREATE TABLE import_ledger (
    path          text        PRIMARY KEY,
    format        text        NOT NULL,
    size_bytes    bigint      NOT NULL,
    mtime_ns      bigint      NOT NULL,
    content_hash  bytea       NOT NULL,
    lines         bigint      NOT NULL,
    records       bigint      NOT NULL,
    posts         bigint      NOT NULL,
    rejected      bigint      NOT NULL,
    imported_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE import_ledger IS 'Files imported whole by wirewatch import: a file whose size and content hash match its row is skipped (wirewatch import --force reads it anyway). Written only after a file loaded to its end.';
COMMENT ON COLUMN import_ledger.path IS 'The file''s absolute path when it was imported.';
COMMENT ON COLUMN import_ledger.content_hash IS 'BLAKE2b-256 of the whole file, read in 1 MiB blocks.';
COMMENT ON COLUMN import_ledger.lines IS 'Line ends in the file: where line numbering goes on when a grown JSONL file is read on from its imported prefix.';
COMMENT ON COLUMN import_ledger.records IS 'Records the file held (lines, messages or page entries).';
COMMENT ON COLUMN import_ledger.posts IS 'Posts the import stored or found unchanged (inserted + updated + unchanged).';
COMMENT ON COLUMN import_ledger.rejected IS 'Records of the file kept in rejected_records.';
