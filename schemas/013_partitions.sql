-- 013_partitions: raw_records and post_metrics partitioned by month (UTC), so that old raw payloads can be
-- dropped a month at a time and the tables that grow with every rescan stay in month-sized pieces.
--
-- raw_records by fetched_at (the retention unit: `wirewatch db maintain --retention-months N` detaches and drops
-- the months older than N), post_metrics by observed_at. Partitions live in schema `partitions`
-- (raw_records_p2026_06, ...); queries name the parent tables. `wirewatch db maintain` (run by the hourly DAG)
-- creates months ahead; a DEFAULT partition takes a row for any month that has none, so no load ever fails for
-- want of a partition, and maintenance moves such rows into their month when it creates it.
--
-- Not partitioned: post_versions (edits only, a few percent of posts; never dropped; every per-post version lookup
-- of analyst.posts would probe each month), event_posts (one row per grouped post, rewritten on regrouping: not
-- append-only), posts (current state; retention never touches it).
--
-- An existing table is copied into the partitioned one (a rewrite: it also returns the space 011's dedupe freed),
-- and the views that read it are re-pointed with their own definitions. Safe to re-run: a partitioned table is
-- left as it is.

CREATE SCHEMA IF NOT EXISTS partitions;
COMMENT ON SCHEMA partitions IS 'Monthly partitions of raw_records and post_metrics (made by migration 013 and wirewatch db maintain). Query the parent tables in public.';

-- The partition of `parent` for the month holding `month` (UTC), created when missing; rows the DEFAULT partition
-- holds for that month move into it. Returns the partition's name, or NULL when it existed.
CREATE OR REPLACE FUNCTION wirewatch_month_partition(parent regclass, month date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    m    date := date_trunc('month', month)::date;
    lo   timestamptz := m::timestamp AT TIME ZONE 'UTC';
    hi   timestamptz := (m + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    base text;
    part text;
    col  text;
    dflt regclass;
BEGIN
    SELECT c.relname INTO base FROM pg_class c WHERE c.oid = parent;
    part := format('%s_p%s', base, to_char(m, 'YYYY_MM'));
    IF to_regclass(format('partitions.%I', part)) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    SELECT a.attname INTO col FROM pg_partitioned_table pt
        JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
        WHERE pt.partrelid = parent;
    SELECT pt.partdefid::regclass INTO dflt FROM pg_partitioned_table pt
        WHERE pt.partrelid = parent AND pt.partdefid <> 0;
    EXECUTE format('CREATE TABLE partitions.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE '
                   'INCLUDING COMPRESSION)', part, parent);
    IF dflt IS NOT NULL THEN
        EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= $1 AND %I < $2 RETURNING *) '
                       'INSERT INTO partitions.%I SELECT * FROM moved', dflt, col, col, part) USING lo, hi;
    END IF;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION partitions.%I FOR VALUES FROM (%L) TO (%L)', parent, part, lo, hi);
    EXECUTE format('COMMENT ON TABLE partitions.%I IS %L', part,
                   format('%s rows with %s in %s (UTC).', base, col, to_char(m, 'YYYY-MM')));
    RETURN part;
END
$$;
-- Maintenance is the warehouse owner's: no other role needs to call it.
REVOKE ALL ON FUNCTION wirewatch_month_partition(regclass, date) FROM PUBLIC;
COMMENT ON FUNCTION wirewatch_month_partition(regclass, date) IS 'Creates the monthly partition of a partitioned wirewatch table for the month of the given date (UTC) when missing, moving the rows its DEFAULT partition holds for that month. Used by migration 013 and wirewatch db maintain.';

-- Turns `tbl` into a table partitioned by month on `col`, with primary key `pk` + `col`.
CREATE OR REPLACE FUNCTION pg_temp.wirewatch_partition(tbl text, col text, pk text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    old_name text := tbl || '_unpartitioned';
    v record;
    views jsonb := '[]';
    m date;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = tbl::regclass) = 'p' THEN
        RETURN;  -- done before
    END IF;
    IF EXISTS (SELECT 1 FROM pg_depend d WHERE d.refobjid = tbl::regclass AND d.classid = 'pg_proc'::regclass) THEN
        RAISE EXCEPTION 'a function depends on %: re-create it after this migration', tbl;
    END IF;
    -- Views bind to the table itself, not its name: keep their definitions (read while the name is still the
    -- table's) to re-point them at the new table.
    FOR v IN
        SELECT DISTINCT c.oid::regclass::text AS name, pg_get_viewdef(c.oid) AS def,
               coalesce(array_to_string(c.reloptions, ', '), '') AS opts
        FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class c ON c.oid = r.ev_class
        WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = tbl::regclass AND c.oid <> tbl::regclass
    LOOP
        views := views || jsonb_build_object('name', v.name, 'def', v.def, 'opts', v.opts);
    END LOOP;

    EXECUTE format('ALTER TABLE %I RENAME TO %I', tbl, old_name);
    EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', old_name, tbl || '_pkey', old_name || '_pkey');
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE '
                   'INCLUDING COMPRESSION INCLUDING COMMENTS) PARTITION BY RANGE (%I)', tbl, old_name, col);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I PRIMARY KEY (%s, %I)', tbl, tbl || '_pkey', pk, col);
    EXECUTE format('COMMENT ON TABLE %I IS %L', tbl, obj_description(old_name::regclass, 'pg_class'));
    EXECUTE format('CREATE TABLE partitions.%I PARTITION OF %I DEFAULT', tbl || '_default', tbl);
    EXECUTE format('COMMENT ON TABLE partitions.%I IS %L', tbl || '_default',
                   format('%s rows of months that have no partition yet (wirewatch db maintain moves them into one).', tbl));
    -- The months the data spans, and this month and the next three.
    FOR m IN EXECUTE format('SELECT DISTINCT date_trunc(''month'', %I AT TIME ZONE ''UTC'')::date FROM %I', col, old_name)
             || ' UNION SELECT (date_trunc(''month'', now() AT TIME ZONE ''UTC'') + n * interval ''1 month'')::date'
             || ' FROM generate_series(0, 3) AS n'
    LOOP
        PERFORM wirewatch_month_partition(tbl::regclass, m);
    END LOOP;
    EXECUTE format('INSERT INTO %I SELECT * FROM %I', tbl, old_name);
    FOR v IN SELECT * FROM jsonb_to_recordset(views) AS x(name text, def text, opts text) LOOP
        EXECUTE format('CREATE OR REPLACE VIEW %s %s AS %s', v.name,
                       CASE WHEN v.opts <> '' THEN 'WITH (' || v.opts || ')' ELSE '' END, rtrim(v.def, ';'));
    END LOOP;
    EXECUTE format('DROP TABLE %I', old_name);
    EXECUTE format('ANALYZE %I', tbl);
END
$$;

SELECT pg_temp.wirewatch_partition('raw_records', 'fetched_at', 'platform, channel_id, post_id, state_hash');
SELECT pg_temp.wirewatch_partition('post_metrics', 'observed_at', 'platform, channel_id, post_id');

-- Rows of a month without a partition still load (DEFAULT); `wirewatch db maintain` gives them their month.
COMMENT ON COLUMN raw_records.fetched_at IS 'When this payload was fetched (the first observation of its state), UTC. The partition key: one partition a month (retention drops whole months).';
COMMENT ON COLUMN post_metrics.observed_at IS 'When the counts were fetched, UTC. The partition key: one partition a month.';
