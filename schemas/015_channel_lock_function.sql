-- 015_channel_lock_function: a batch's channel write locks in one statement.
--
-- Every writer of posts takes its channels' advisory locks for the batch's transaction, each wait bounded by
-- WIREWATCH_LOCK_WAIT_SECONDS (ingest/warehouse/locks.py). From the client that took four statements a call
-- (read lock_timeout, set it, lock, put it back), and an hourly rescan batch called it twice: 8 of its 13
-- statements. Inside one function the steps run in their written order, in one round trip.
--
-- A lock that is not granted in time raises lock_not_available (55P03) out of the function, as
-- pg_advisory_xact_lock itself does; the transaction is then aborted and the local lock_timeout goes with it.
-- Migrations and grouping keep their own session locks on the client path: they run before this exists.

CREATE OR REPLACE FUNCTION wirewatch_channel_locks(keys bigint[], wait text) RETURNS void
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    previous text := current_setting('lock_timeout');
    k bigint;
BEGIN
    PERFORM set_config('lock_timeout', wait, true);
    -- In the order given (the caller sorts): two writers of the same channels never hold one each.
    FOREACH k IN ARRAY keys LOOP
        PERFORM pg_advisory_xact_lock(k);
    END LOOP;
    PERFORM set_config('lock_timeout', previous, true);
END
$$;

COMMENT ON FUNCTION wirewatch_channel_locks(bigint[], text) IS
    'Takes wirewatch''s channel write locks (advisory, for the transaction) in the given order, each wait bounded by wait (a lock_timeout value).';
