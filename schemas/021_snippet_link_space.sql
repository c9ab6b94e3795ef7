-- 021_snippet_link_space: a Markdown link's label keeps the white space before its "]".
--
-- Telethon's Markdown often closes a link after the space that follows its word ("объявили [на конференции ](url)в
-- Москве"); 020's analyst.snippet_text dropped that space with the link's syntax and glued the words ("конференциив
-- Москве"). The space now stays, as grouping's cleaning and the console's rendering (ingest.textsafe.MD_LINK) keep it.

CREATE OR REPLACE FUNCTION analyst.snippet_text(body text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN regexp_replace(
               regexp_replace(coalesce(body, ''), '\[([^]\n]*?)(\s*)\]\(([^)[:space:]]+)\)', '\1\2', 'g'),
               '\*\*|__|~~|\|\||`+', '', 'g');
