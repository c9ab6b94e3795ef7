-- Engagement growth of a post: counts at each observation and what was gained since the previous one
SELECT observed_at, hours_since_post, views, views_delta, reposts, reposts_delta, likes, likes_delta
FROM analyst.post_metrics WHERE channel = 'polymarketintel' AND post_id = 2070340793922536657 ORDER BY observed_at;
