-- 020_search_snippet_plain: search snippets free of the posts' own Markdown, so that every ** in one is a hit.
--
-- analyst.search_snippet marks hits with **, and texts from Telethon dumps carry Markdown of their own (**bold**,
-- __italic__, [label](url) links): on real Telegram news a snippet read "отказаться от [**доллара**](https://t.me/+…)"
-- or "от **доллара****", and a reader that splits a snippet on ** (the console's search page, `wirewatch search`)
-- marked the words between two hits instead of the hits. The snippet is now taken from the text with that markup
-- removed, as grouping cleans it (ingest.events.clean.strip_markup): a link becomes its label, and the marks
-- ** __ ~~ || and backticks go. What is searched (posts.search_vector) and how results are ordered do not change;
-- analyst.search() inlines the function, so it uses the new body without being recreated.

CREATE OR REPLACE FUNCTION analyst.snippet_text(body text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    -- A label may end in a line break before its "]" (Telethon's Markdown writes an entity that ends a line so).
    RETURN regexp_replace(
               regexp_replace(coalesce(body, ''), '\[([^]\n]*?)\s*\]\(([^)[:space:]]+)\)', '\1', 'g'),
               '\*\*|__|~~|\|\||`+', '', 'g');

CREATE OR REPLACE FUNCTION analyst.search_snippet(body text, query text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ts_headline('analyst.multilingual'::regconfig, analyst.snippet_text(body), analyst.search_query(query),
                       'MaxFragments=2, MaxWords=18, MinWords=6, StartSel=**, StopSel=**');

COMMENT ON FUNCTION analyst.snippet_text(text) IS 'A post text as search snippets show it: Markdown links reduced to their labels, the marks ** __ ~~ || and backticks removed.';
COMMENT ON FUNCTION analyst.search_snippet(text, text) IS 'The words of a text around the hits of a web-search style query, hits marked with ** (at most two fragments), as analyst.search() returns them; taken from analyst.snippet_text(text), so every ** marks a hit.';
