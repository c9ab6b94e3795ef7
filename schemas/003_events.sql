-- 003_events: posts grouped into events (one story or claim, hours) and storylines (a developing situation, days).
-- Written only by `wirewatch group` / ingest.events.group_window. Ids are stable: a merge keeps the older id and
-- records the other in a redirect table, so a link to a merged id still resolves.

CREATE TABLE storylines (
    storyline_id    bigint      PRIMARY KEY,
    first_post_at   timestamptz NOT NULL,
    last_post_at    timestamptz NOT NULL,
    post_count      integer     NOT NULL DEFAULT 0,
    event_count     integer     NOT NULL DEFAULT 0,
    title           text,
    first_platform  text        NOT NULL,
    first_channel_id bigint     NOT NULL,
    first_post_id   bigint      NOT NULL,
    centroid_idx    integer[]   NOT NULL DEFAULT '{}',
    centroid_val    bigint[]    NOT NULL DEFAULT '{}',
    merged_into     bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX storylines_last_idx ON storylines (last_post_at) WHERE merged_into IS NULL;
COMMENT ON TABLE storylines IS 'A developing situation over days (e.g. the run-up to a summit): a group of events. Merged storylines keep a row with merged_into set.';
COMMENT ON COLUMN storylines.storyline_id IS 'Stable id. When two storylines merge the older one keeps its id; see storyline_redirects.';
COMMENT ON COLUMN storylines.first_post_at IS 'Posting time of the storyline''s earliest post, UTC.';
COMMENT ON COLUMN storylines.last_post_at IS 'Posting time of its latest post, UTC. A storyline accepts new events while this is within the storyline window (default 7 days).';
COMMENT ON COLUMN storylines.post_count IS 'Posts in all its events.';
COMMENT ON COLUMN storylines.event_count IS 'Events in the storyline.';
COMMENT ON COLUMN storylines.title IS 'Title of its largest event.';
COMMENT ON COLUMN storylines.first_post_id IS 'The post that started the storyline (with first_platform, first_channel_id).';
COMMENT ON COLUMN storylines.centroid_idx IS 'Grouping state: hashed feature indices of the sum of member post vectors (internal).';
COMMENT ON COLUMN storylines.centroid_val IS 'Grouping state: integer weights matching centroid_idx (internal).';
COMMENT ON COLUMN storylines.merged_into IS 'Set when this storyline was merged into another: follow it (or storyline_redirects) to the current id.';

CREATE TABLE events (
    event_id        bigint      PRIMARY KEY,
    storyline_id    bigint      NOT NULL,
    assigned_storyline_id bigint NOT NULL,
    first_post_at   timestamptz NOT NULL,
    last_post_at    timestamptz NOT NULL,
    post_count      integer     NOT NULL DEFAULT 0,
    source_count    integer     NOT NULL DEFAULT 0,
    title           text,
    origin_platform text        NOT NULL,
    origin_channel_id bigint    NOT NULL,
    origin_post_id  bigint      NOT NULL,
    centroid_idx    integer[]   NOT NULL DEFAULT '{}',
    centroid_val    bigint[]    NOT NULL DEFAULT '{}',
    merged_into     bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_last_idx ON events (last_post_at) WHERE merged_into IS NULL;
CREATE INDEX events_first_idx ON events (first_post_at);
CREATE INDEX events_storyline_idx ON events (storyline_id);
COMMENT ON TABLE events IS 'One story or claim, reported within hours across channels, platforms and languages. Merged events keep a row with merged_into set.';
COMMENT ON COLUMN events.event_id IS 'Stable id. When two events merge the older one (earlier first post) keeps its id; see event_redirects.';
COMMENT ON COLUMN events.storyline_id IS 'The storyline this event belongs to now (after storyline merges).';
COMMENT ON COLUMN events.assigned_storyline_id IS 'The storyline the event was first placed in (grouping state, to undo later merges).';
COMMENT ON COLUMN events.first_post_at IS 'Posting time of the earliest post: when the event was first seen, UTC.';
COMMENT ON COLUMN events.last_post_at IS 'Posting time of the latest post, UTC. New posts can join while this is within the window (default 72 h).';
COMMENT ON COLUMN events.post_count IS 'Posts in the event, forwards and reposts included.';
COMMENT ON COLUMN events.source_count IS 'Independent sources: distinct channels/accounts with an original post (forwards, reposts and verbatim copies count for their origin only).';
COMMENT ON COLUMN events.title IS 'First line of the origin post.';
COMMENT ON COLUMN events.origin_post_id IS 'The earliest original post of the event (with origin_platform, origin_channel_id): who said it first.';
COMMENT ON COLUMN events.centroid_idx IS 'Grouping state: hashed feature indices of the sum of member post vectors (internal).';
COMMENT ON COLUMN events.centroid_val IS 'Grouping state: integer weights matching centroid_idx (internal).';
COMMENT ON COLUMN events.merged_into IS 'Set when this event was merged into an older one: follow it (or event_redirects) to the current id.';

CREATE TABLE event_posts (
    platform        text        NOT NULL,
    channel_id      bigint      NOT NULL,
    post_id         bigint      NOT NULL,
    event_id        bigint      NOT NULL,
    assigned_event_id bigint    NOT NULL,
    posted_at       timestamptz NOT NULL,
    role            text        NOT NULL CHECK (role IN ('origin', 'forward', 'report')),
    joined_by       text        NOT NULL,
    similarity      real,
    content_hash    bigint      NOT NULL,
    dup_key         bigint,
    vec_idx         integer[]   NOT NULL DEFAULT '{}',
    vec_val         smallint[]  NOT NULL DEFAULT '{}',
    grouped_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, channel_id, post_id),
    FOREIGN KEY (platform, channel_id, post_id) REFERENCES posts (platform, channel_id, post_id) ON DELETE CASCADE
);
CREATE INDEX event_posts_event_idx ON event_posts (event_id, posted_at);
CREATE INDEX event_posts_assigned_idx ON event_posts (assigned_event_id);
CREATE INDEX event_posts_posted_idx ON event_posts (posted_at);
CREATE INDEX event_posts_dup_idx ON event_posts (dup_key) WHERE dup_key IS NOT NULL;
COMMENT ON TABLE event_posts IS 'Which event each post belongs to, and how it joined. Every grouped post has exactly one row.';
COMMENT ON COLUMN event_posts.event_id IS 'The event the post belongs to now (after merges).';
COMMENT ON COLUMN event_posts.assigned_event_id IS 'The event the post was first assigned to (grouping state, to undo later merges).';
COMMENT ON COLUMN event_posts.posted_at IS 'The post''s posting time, UTC (copied from posts for the grouping order).';
COMMENT ON COLUMN event_posts.role IS 'origin: the earliest original post of the event; forward: a forward or repost of another post (counts once, for its origin); report: any other post.';
COMMENT ON COLUMN event_posts.joined_by IS 'Why the post is here: new (started the event), forward, repost, quote, forwarded (an earlier forward of it was seen first), duplicate (near-identical text), similar (text similarity).';
COMMENT ON COLUMN event_posts.similarity IS 'Cosine similarity between the post and the event centroid when it joined (NULL for the first post).';
COMMENT ON COLUMN event_posts.content_hash IS 'posts.content_hash when grouped: a different value means the post was edited and is regrouped.';
COMMENT ON COLUMN event_posts.dup_key IS 'Hash of the normalised text used to find verbatim copies (NULL for very short texts).';
COMMENT ON COLUMN event_posts.vec_idx IS 'Grouping state: the post''s hashed feature indices (internal).';
COMMENT ON COLUMN event_posts.vec_val IS 'Grouping state: the post''s integer feature weights (internal).';

CREATE TABLE event_redirects (
    from_event_id   bigint      PRIMARY KEY,
    to_event_id     bigint      NOT NULL,
    merged_at       timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_redirects_merged_idx ON event_redirects (merged_at);
COMMENT ON TABLE event_redirects IS 'Merged event ids and the id that replaced them: an old link to a merged event resolves through here.';
COMMENT ON COLUMN event_redirects.from_event_id IS 'The merged (younger) event id.';
COMMENT ON COLUMN event_redirects.to_event_id IS 'The event it was merged into at that moment (follow further redirects for the current id).';
COMMENT ON COLUMN event_redirects.merged_at IS 'Posting time of the post whose arrival merged the two events, UTC.';

CREATE TABLE storyline_redirects (
    from_storyline_id bigint    PRIMARY KEY,
    to_storyline_id bigint      NOT NULL,
    merged_at       timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX storyline_redirects_merged_idx ON storyline_redirects (merged_at);
COMMENT ON TABLE storyline_redirects IS 'Merged storyline ids and the id that replaced them.';
COMMENT ON COLUMN storyline_redirects.merged_at IS 'Posting time of the post whose arrival merged the two storylines, UTC.';

CREATE TABLE grouping_state (
    id              boolean     PRIMARY KEY DEFAULT true CHECK (id),
    params          text        NOT NULL,
    high_water_at   timestamptz,
    high_water_key  text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE grouping_state IS 'Grouping bookkeeping: the parameters the stored groups were made with and the latest post grouped (posts older than it arriving later trigger a replay from their time).';
