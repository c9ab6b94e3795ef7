-- Channel activity: posts per UTC hour around the Rutte story
SELECT hour, channel, posts, forwards_and_reposts AS fwd, edited FROM analyst.channel_activity
WHERE hour >= '2026-06-26 02:00Z' AND hour < '2026-06-26 04:00Z' ORDER BY hour, channel;
