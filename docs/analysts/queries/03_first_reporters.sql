-- Which channel reports first most often (events with 2+ independent sources), and how far behind the others are
SELECT t.channel, count(*) FILTER (WHERE t.seq = 1) AS first_reports, count(DISTINCT t.event_id) AS events,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.minutes_after_first) FILTER (WHERE t.seq > 1) AS median_minutes_behind
FROM analyst.event_timeline t JOIN analyst.events e USING (event_id)
WHERE e.independent_sources >= 2 AND t.role <> 'forward'
GROUP BY t.channel ORDER BY first_reports DESC, median_minutes_behind;
