-- Claims resting on a single source, across all briefs
SELECT b.event_id, c->>'kind' AS kind, c->>'label' AS claim, c->'sources'->>0 AS only_source, c->'urls'->>0 AS link
FROM analyst.briefs b, json_array_elements(b.json->'single_source') AS c
WHERE b.independent_sources >= 2 ORDER BY b.event_id;
