-- Posts mentioning a term in any language ("беспилотник" finds "беспилотников", "drone" finds "drones")
SELECT posted_at, channel, round(rank::numeric, 3) AS rank, left(snippet, 70) AS snippet
FROM analyst.search('drone OR беспилотник OR безпілотників OR дронів') ORDER BY posted_at;
