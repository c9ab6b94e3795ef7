-- 027_excerpt_joins: a post can join a young event whose post repeats one of its sentences whole (joined_by = excerpt).
--
-- One channel posts a statement as it is made ("Kyiv has more than once tried to strike Moscow, — Putin"), another
-- lists it among the statements of the same press conference: the two share that sentence and little else by
-- weight. Grouping (ingest/events/cluster.py, Params.excerpt_hours) keeps each post's sentences of at least 8 words
-- as keys, and the key of the sentence that is most of the post; a post whose main sentence is a sentence of a post
-- of an event begun at most 3 h before it (or the other way round) joins that event, and a post that links two such
-- events merges them. Increments read the keys of the posts grouped in the hours before their first post; the
-- posted_at index bounds that read, so the keys need no index of their own. Existing rows keep NULL until the
-- warehouse is regrouped, which the change of grouping parameters (fingerprint v7) makes the next run do.

ALTER TABLE event_posts ADD COLUMN main_key bigint;
ALTER TABLE event_posts ADD COLUMN sentence_keys bigint[];

COMMENT ON COLUMN event_posts.main_key IS 'Hash of the cleaned sentence that holds at least 70 % of the post''s words, when one of at least 8 words does: the statement the post makes (excerpt joins).';
COMMENT ON COLUMN event_posts.sentence_keys IS 'Hashes of the cleaned text''s sentences of at least 8 words (split at line breaks, sentence ends and spaced dashes), sorted: a post whose main sentence is one of these joins this post''s event if it is young (joined_by = excerpt).';
COMMENT ON COLUMN event_posts.joined_by IS 'Why the post is here: new (started the event), forward, repost, quote, reply, forwarded (an earlier forward of it was seen first), duplicate (near-identical text), excerpt (repeats a whole sentence of a post of a young event, or the event repeats its main sentence), similar (text similarity), anchor (rare words shared with a young event, at a lower similarity; less sure than similar).';
COMMENT ON COLUMN analyst.event_timeline.joined_by IS 'Why the post is in the event: new, forward, repost, quote, reply, forwarded, duplicate, excerpt (repeats a whole sentence of a young event''s post, or the other way round), similar, anchor (rare words shared with a young event, at a lower similarity; less sure than similar).';
