-- A brief's provenance list from its JSON: every original post and what carried it (the Rutte event, as in 02)
SELECT p->>'posted_at' AS posted_at, p->>'role' AS role, p->>'url' AS original_post,
       (SELECT string_agg(c->>'url', ' ') FROM json_array_elements(p->'carried_by') AS c) AS carried_by
FROM analyst.briefs b, json_array_elements(b.json->'provenance') AS p
WHERE b.event_id = (SELECT event_id FROM analyst.event_timeline WHERE url = 'https://t.me/intelslava/71840');
