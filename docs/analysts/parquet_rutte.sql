-- DuckDB on a Parquet export (wirewatch export parquet exports/): the posts of the event of Intel Slava Z's
-- report on Rutte, in time order, joined across two exported tables.
SELECT p.posted_at, p.url
FROM read_parquet('exports/event_posts/*/*.parquet', hive_partitioning = true) ep
JOIN read_parquet('exports/posts/*/*.parquet', hive_partitioning = true) p USING (platform, channel_id, post_id)
WHERE ep.event_id = (SELECT event_id FROM read_parquet('exports/event_posts/*/*.parquet')
                     JOIN read_parquet('exports/posts/*/*.parquet') USING (platform, channel_id, post_id)
                     WHERE url = 'https://t.me/intelslava/71840')
ORDER BY p.posted_at;
