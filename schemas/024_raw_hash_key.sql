-- 024_raw_hash_key: the raw-record hashes are XXH3 under a secret key of the warehouse.
--
-- A record whose raw hash equals its stored post's is not normalised again (ingest/sources/fingerprint.py), so
-- the hash must not be open to crafted collisions: a channel owner who could make an edit hash like the version
-- we hold would hide it. Until now that was SHA-256 (2.2 us of a 3.5 KB message); it is now 64-bit XXH3 (0.14 us)
-- seeded with a random key that lives only in this table, as the known lines' digests are seeded per path
-- (migration 023): without the key no one can tell which edit would collide. The read-only analyst role cannot
-- read it. Hashes stored before this migration are SHA-256 and simply no longer match: each post is normalised
-- once more at its next fetch or import, which stores its new hash.

CREATE TABLE IF NOT EXISTS warehouse_keys (
    name text PRIMARY KEY,
    value bigint NOT NULL
);

REVOKE ALL ON warehouse_keys FROM PUBLIC;

-- 63 bits of two random UUIDs (gen_random_uuid: the server's strong random source, built in since PostgreSQL 13;
-- 244 random bits, through MD5 so that the UUIDs' fixed version bits do not show).
INSERT INTO warehouse_keys (name, value)
VALUES ('raw_hash', ('x' || left(md5(gen_random_uuid()::text || gen_random_uuid()::text), 16))::bit(64)::bigint
                    & 9223372036854775807)
ON CONFLICT (name) DO NOTHING;

COMMENT ON TABLE warehouse_keys IS 'Secret keys of the warehouse, one row a use: raw_hash seeds the 64-bit XXH3 raw-record hashes (posts.raw_hash) that let an unchanged record skip normalisation. Never exported, never granted to the analyst role.';
