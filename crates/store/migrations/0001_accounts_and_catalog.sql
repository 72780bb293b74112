-- Accounts (SPEC 2.5) and the catalog (SPEC 2): the system of record for who may buy
-- and what is on sale.

CREATE TABLE users (
    id            UUID PRIMARY KEY,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    -- NULL for accounts that only ever signed in with Google.
    password_hash TEXT,
    role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    google_sub    TEXT UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Emails are compared case-insensitively; the unique index is the duplicate check.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Refresh tokens are opaque random strings; only their SHA-256 is stored. Every token
-- belongs to a family (one sign-in); rotating marks the old token used, and presenting a
-- used token again revokes the whole family (theft detection).
CREATE TABLE refresh_tokens (
    id          UUID PRIMARY KEY,
    family_id   UUID NOT NULL,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  BYTEA NOT NULL UNIQUE,
    expires_at  TIMESTAMPTZ NOT NULL,
    rotated_at  TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE artists (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    genre       TEXT,
    description TEXT,
    image_url   TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX artists_name_idx ON artists (lower(name));

CREATE TABLE events (
    id              UUID PRIMARY KEY,
    title           TEXT NOT NULL,
    description     TEXT,
    artist_id       UUID REFERENCES artists (id),
    venue           TEXT NOT NULL,
    address         TEXT NOT NULL,
    starts_at       TIMESTAMPTZ NOT NULL,
    sale_starts_at  TIMESTAMPTZ NOT NULL,
    sale_ends_at    TIMESTAMPTZ,
    status          TEXT NOT NULL DEFAULT 'upcoming'
                    CHECK (status IN ('upcoming', 'on_sale', 'sold_out', 'ended', 'cancelled')),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (sale_ends_at IS NULL OR sale_ends_at > sale_starts_at)
);
CREATE INDEX events_sale_starts_idx ON events (sale_starts_at, id);
CREATE INDEX events_status_idx ON events (status);

CREATE TABLE ticket_types (
    id          UUID PRIMARY KEY,
    event_id    UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    price       BIGINT NOT NULL CHECK (price >= 0),
    -- NULL when the type is sold through the seat map rather than by count.
    quantity    INTEGER CHECK (quantity >= 0),
    sort_order  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ticket_types_event_idx ON ticket_types (event_id);

CREATE TABLE seat_layouts (
    id          UUID PRIMARY KEY,
    event_id    UUID NOT NULL UNIQUE REFERENCES events (id) ON DELETE CASCADE,
    stage       TEXT NOT NULL DEFAULT 'top',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE seat_sections (
    id              UUID PRIMARY KEY,
    layout_id       UUID NOT NULL REFERENCES seat_layouts (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    rows            INTEGER NOT NULL CHECK (rows > 0),
    seats_per_row   INTEGER NOT NULL CHECK (seats_per_row > 0),
    price           BIGINT NOT NULL CHECK (price >= 0),
    sort_order      INTEGER NOT NULL,
    UNIQUE (layout_id, name)
);

-- One row per physical seat, generated from the layout. `status` is the durable view
-- (`reserved` once sold); live holds are owned by the event's actor and Redis locks.
CREATE TABLE seats (
    id          UUID PRIMARY KEY,
    event_id    UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    section_id  UUID NOT NULL REFERENCES seat_sections (id) ON DELETE CASCADE,
    row_number  INTEGER NOT NULL,
    seat_number INTEGER NOT NULL,
    price       BIGINT NOT NULL CHECK (price >= 0),
    status      TEXT NOT NULL DEFAULT 'available'
                CHECK (status IN ('available', 'locked', 'reserved')),
    UNIQUE (section_id, row_number, seat_number)
);
CREATE INDEX seats_event_idx ON seats (event_id);
