-- 018_event_titles: each grouped post's title as grouping cleaned it, so event and storyline titles carry no
-- Markdown, decoration emoji or channel signature.
--
-- `events.title` was the first line of the origin post as published: "⚡️**Доллар поднялся выше 105 рублей**",
-- "[🍯](https://t.me/moscowmap) 80% мёда ...". Grouping already cleans every post (ingest/events/clean.py); it now
-- keeps the cleaned first line with the post's grouping row, and the summaries take the title from it. Rows
-- grouped before this migration have none (NULL): their events keep the published first line until they are
-- grouped again (`wirewatch group --full` regroups everything).

ALTER TABLE event_posts ADD COLUMN IF NOT EXISTS title text;

COMMENT ON COLUMN event_posts.title IS 'The post''s first line after cleaning (markup, decoration emoji and the channel''s boilerplate removed), at most 160 characters; for a post that is all boilerplate, its first line without markup and decoration; empty when nothing is left (only emoji or links); NULL for posts grouped before migration 018.';
COMMENT ON COLUMN events.title IS 'First line of the origin post as cleaned for grouping (event_posts.title), else of the earliest post whose title is not empty; the published first line for events whose posts were grouped before migration 018.';
