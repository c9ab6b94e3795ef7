-- One event's timeline: who reported when, and how each post joined (here the event of Intel Slava Z's first
-- report on Rutte; `wirewatch events` lists event ids, and `WHERE event_id = 7` works as well)
SELECT seq, posted_at, minutes_after_first AS "min", channel, role, joined_by, left(text, 50) AS text
FROM analyst.event_timeline
WHERE event_id = (SELECT event_id FROM analyst.event_timeline WHERE url = 'https://t.me/intelslava/71840')
ORDER BY seq;
