-- Who amplifies whom: forwards and reposts by origin channel
SELECT coalesce(p.fwd_channel, o.channel) AS origin, p.channel AS amplified_by, count(*) AS posts, min(p.posted_at) AS first_at
FROM analyst.posts p LEFT JOIN analyst.channels o ON o.platform = p.platform AND o.channel_id = p.reposted_channel_id
WHERE p.is_forward OR p.reposted_post_id IS NOT NULL GROUP BY 1, 2 ORDER BY posts DESC, origin;
