-- Events of the last 24 hours, most independent sources first (demo day anchor; live: now() - interval '24 hours')
SELECT event_id, first_seen_at, independent_sources AS sources, posts, forwards, languages, first_channel,
       left(headline, 60) AS headline
FROM analyst.events
WHERE last_post_at >= timestamptz '2026-06-26 23:59Z' - interval '24 hours'
ORDER BY independent_sources DESC, posts DESC, first_seen_at LIMIT 5;
