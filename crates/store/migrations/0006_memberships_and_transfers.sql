-- Fan clubs and memberships with points (SPEC 2.6), members-only pre-sale windows per
-- event, ticket transfers between fans, and payments for more than reservations.

-- An artist's fan club. Tiers are the seed's (silver on joining, gold and diamond by
-- points); the thresholds are the club's.
CREATE TABLE fan_clubs (
    artist_id       UUID PRIMARY KEY REFERENCES artists (id) ON DELETE CASCADE,
    -- Won for a year's membership; 0 means joining is free.
    price           BIGINT NOT NULL CHECK (price >= 0),
    gold_points     BIGINT NOT NULL CHECK (gold_points > 0),
    diamond_points  BIGINT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (diamond_points > gold_points)
);

CREATE TABLE memberships (
    id          UUID PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    artist_id   UUID NOT NULL REFERENCES artists (id) ON DELETE CASCADE,
    -- `active` only counts until expires_at; rejoining reuses the row.
    status      TEXT NOT NULL CHECK (status IN ('pending', 'active')),
    -- The fee fixed when the membership was opened: what its payment must match.
    price       BIGINT NOT NULL CHECK (price >= 0),
    -- The sum of the membership's ledger, kept in the ledger's transactions.
    points      BIGINT NOT NULL DEFAULT 0 CHECK (points >= 0),
    joined_at   TIMESTAMPTZ,
    expires_at  TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (user_id, artist_id),
    CHECK (status <> 'active' OR expires_at IS NOT NULL)
);
CREATE INDEX memberships_artist_idx ON memberships (artist_id);

-- Every change of points and why. Rows about a reservation are written in the
-- transaction that confirms, refunds or transfers it.
CREATE TABLE membership_points (
    id              BIGSERIAL PRIMARY KEY,
    membership_id   UUID NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    reservation_id  UUID REFERENCES reservations (id),
    delta           BIGINT NOT NULL,
    reason          TEXT NOT NULL
                    CHECK (reason IN ('join', 'purchase', 'refund', 'transfer_out', 'transfer_in')),
    at              TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX membership_points_membership_idx ON membership_points (membership_id, id DESC);
-- The last line of defence for exactly-once points: one row of each kind per membership
-- and reservation.
CREATE UNIQUE INDEX membership_points_once
    ON membership_points (membership_id, reservation_id, reason) WHERE reservation_id IS NOT NULL;
CREATE INDEX membership_points_reservation_idx
    ON membership_points (reservation_id) WHERE reservation_id IS NOT NULL;

-- Members-only windows before the general sale: while one is open, only members of its
-- tier or higher may queue and hold.
CREATE TABLE event_presales (
    id         UUID PRIMARY KEY,
    event_id   UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    tier       TEXT NOT NULL CHECK (tier IN ('silver', 'gold', 'diamond')),
    opens_at   TIMESTAMPTZ NOT NULL,
    closes_at  TIMESTAMPTZ NOT NULL,
    CHECK (closes_at > opens_at)
);
CREATE INDEX event_presales_event_idx ON event_presales (event_id, opens_at);

-- A confirmed reservation offered to other fans at no more than it cost.
CREATE TABLE ticket_transfers (
    id                 UUID PRIMARY KEY,
    reservation_id     UUID NOT NULL REFERENCES reservations (id),
    event_id           UUID NOT NULL REFERENCES events (id),
    seller_id          UUID NOT NULL REFERENCES users (id),
    buyer_id           UUID REFERENCES users (id),
    price              BIGINT NOT NULL CHECK (price > 0),
    face_value         BIGINT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('listed', 'completed', 'cancelled')),
    -- How the seller is settled (`refund` of their payment, or a `payout`), chosen when
    -- the transfer completes, and how far that got.
    settlement         TEXT CHECK (settlement IN ('refund', 'payout')),
    settlement_status  TEXT CHECK (settlement_status IN ('pending', 'refunded', 'payout_owed', 'failed')),
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at       TIMESTAMPTZ,
    CHECK (price <= face_value),
    CHECK ((status = 'completed') = (buyer_id IS NOT NULL))
);
-- One open listing per ticket, and a ticket changes hands at most once.
CREATE UNIQUE INDEX ticket_transfers_one_listing
    ON ticket_transfers (reservation_id) WHERE status = 'listed';
CREATE UNIQUE INDEX ticket_transfers_once
    ON ticket_transfers (reservation_id) WHERE status = 'completed';
CREATE INDEX ticket_transfers_open_idx
    ON ticket_transfers (event_id, created_at, id) WHERE status = 'listed';
CREATE INDEX ticket_transfers_seller_idx ON ticket_transfers (seller_id, created_at DESC);

-- A payment is for a reservation, a membership or a transfer. Reservation payments keep
-- their reservation_id (and its one-success index, untouched); the others name their own
-- row. A listing has a one-success index too: its second buyer cannot even start
-- confirming, so is never charged. (A membership has none: it is paid again on renewal,
-- and its activation is conditional on it still being pending.)
ALTER TABLE payments
    ADD COLUMN purpose TEXT NOT NULL DEFAULT 'reservation'
        CHECK (purpose IN ('reservation', 'membership', 'transfer')),
    ADD COLUMN membership_id UUID REFERENCES memberships (id),
    ADD COLUMN transfer_id UUID REFERENCES ticket_transfers (id),
    -- Less than amount when only part went back (a seller refunded a resale price).
    ADD COLUMN refunded_amount BIGINT,
    ALTER COLUMN reservation_id DROP NOT NULL,
    ALTER COLUMN event_id DROP NOT NULL,
    ADD CONSTRAINT payments_one_target CHECK (
        (purpose = 'reservation' AND reservation_id IS NOT NULL
            AND membership_id IS NULL AND transfer_id IS NULL)
        OR (purpose = 'membership' AND membership_id IS NOT NULL
            AND reservation_id IS NULL AND transfer_id IS NULL)
        OR (purpose = 'transfer' AND transfer_id IS NOT NULL
            AND reservation_id IS NULL AND membership_id IS NULL)
    );
CREATE INDEX payments_membership_idx ON payments (membership_id) WHERE membership_id IS NOT NULL;
CREATE INDEX payments_transfer_idx ON payments (transfer_id) WHERE transfer_id IS NOT NULL;
CREATE UNIQUE INDEX payments_one_success_per_transfer
    ON payments (transfer_id) WHERE status IN ('confirming', 'done');

ALTER TABLE event_stats ADD COLUMN transfers BIGINT NOT NULL DEFAULT 0;
