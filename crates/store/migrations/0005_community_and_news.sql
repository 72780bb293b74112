-- Community (SPEC 2.6): fans' posts and comments per artist or event, with moderation;
-- and the news that operators publish. Text is stored as written; the edge escapes it.

CREATE TABLE community_posts (
    id          UUID PRIMARY KEY,
    artist_id   UUID REFERENCES artists (id) ON DELETE CASCADE,
    event_id    UUID REFERENCES events (id) ON DELETE CASCADE,
    author_id   UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    -- Hidden by a moderator: gone from lists and detail for everyone but admins.
    hidden      BOOLEAN NOT NULL DEFAULT false,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (artist_id IS NOT NULL OR event_id IS NOT NULL)
);
CREATE INDEX community_posts_artist_idx ON community_posts (artist_id, created_at DESC, id DESC);
CREATE INDEX community_posts_event_idx ON community_posts (event_id, created_at DESC, id DESC);
CREATE INDEX community_posts_recent_idx ON community_posts (created_at DESC, id DESC);

CREATE TABLE community_comments (
    id          UUID PRIMARY KEY,
    post_id     UUID NOT NULL REFERENCES community_posts (id) ON DELETE CASCADE,
    author_id   UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body        TEXT NOT NULL,
    hidden      BOOLEAN NOT NULL DEFAULT false,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX community_comments_post_idx ON community_comments (post_id, created_at, id);

CREATE TABLE news (
    id           UUID PRIMARY KEY,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    author_id    UUID REFERENCES users (id) ON DELETE SET NULL,
    published_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX news_published_idx ON news (published_at DESC, id DESC);
