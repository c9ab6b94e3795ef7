-- Edited posts: every version
SELECT channel, post_id, version, versions, version_at, is_current, left(text, 70) AS text
FROM analyst.post_versions WHERE versions > 1 ORDER BY channel, post_id, version;
