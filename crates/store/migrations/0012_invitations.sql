-- Invitations (docs/architecture.md#invitations): signed single-use links an operator
-- mints for an event (press, artists' guests, VIPs). Using one puts its holder straight
-- into the event's Tier-2 queue at the invitation's priority, past the Tier-1 room.
--
-- The link's token is signed, never stored: it names the row's id, and the row is what
-- decides whether it still works. Single use is the `redeemed_at IS NULL` guard of one
-- UPDATE, so two people racing with one link cannot both get in.
CREATE TABLE invitations (
    id          UUID PRIMARY KEY,
    event_id    UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    -- Who it is for, as the operator wrote it ("Press: Jane Doe").
    label       TEXT NOT NULL,
    -- Placed in the Tier-2 queue as a Tier-1 position of this number would be: 0 is
    -- ahead of everyone who came through the room.
    priority    BIGINT NOT NULL CHECK (priority >= 0),
    created_by  UUID NOT NULL REFERENCES users (id),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ,
    redeemed_by UUID REFERENCES users (id),
    redeemed_at TIMESTAMPTZ,
    CHECK (expires_at > created_at),
    -- Redeemed means by someone, at some time.
    CHECK ((redeemed_by IS NULL) = (redeemed_at IS NULL)),
    -- A link is either used or withdrawn, never both.
    CHECK (revoked_at IS NULL OR redeemed_at IS NULL)
);
CREATE INDEX invitations_event_idx ON invitations (event_id, created_at DESC);

-- Every mint, use, refused use and revocation, append-only, for the operator's page.
CREATE TABLE invitation_audit (
    id            BIGSERIAL PRIMARY KEY,
    invitation_id UUID NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    event_id      UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    action        TEXT NOT NULL CHECK (action IN ('minted', 'redeemed', 'refused', 'revoked')),
    -- The operator who minted or revoked, or the person who used (or tried) the link.
    actor_id      UUID REFERENCES users (id) ON DELETE SET NULL,
    -- Why a use was refused, or what was minted; free text for people.
    detail        TEXT NOT NULL DEFAULT '',
    at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX invitation_audit_event_idx ON invitation_audit (event_id, id);
