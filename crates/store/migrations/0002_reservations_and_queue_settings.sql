-- Holds and sales (SPEC 2.3). The EventActor is the single writer of its event's seats;
-- these tables are its durable record, and their constraints are the last line of
-- defence should that ever fail.

CREATE TABLE event_queue_settings (
    event_id            UUID PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    enabled             BOOLEAN NOT NULL DEFAULT true,
    threshold           INTEGER NOT NULL CHECK (threshold > 0),
    batch               INTEGER NOT NULL CHECK (batch > 0),
    tick_ms             INTEGER NOT NULL CHECK (tick_ms >= 10),
    active_ttl_secs     INTEGER NOT NULL CHECK (active_ttl_secs > 0),
    queue_ttl_secs      INTEGER NOT NULL CHECK (queue_ttl_secs > 0),
    hold_ttl_secs       INTEGER NOT NULL CHECK (hold_ttl_secs > 0),
    max_seats_per_hold  INTEGER NOT NULL CHECK (max_seats_per_hold BETWEEN 1 AND 50),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE reservations (
    id               UUID PRIMARY KEY,
    user_id          UUID NOT NULL REFERENCES users (id),
    event_id         UUID NOT NULL REFERENCES events (id),
    status           TEXT NOT NULL
                     CHECK (status IN ('pending', 'confirmed', 'cancelled', 'expired')),
    total_amount     BIGINT NOT NULL CHECK (total_amount >= 0),
    idempotency_key  TEXT NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    confirmed_at     TIMESTAMPTZ,
    -- A retried request with the same key finds the first reservation.
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX reservations_user_idx ON reservations (user_id, created_at DESC);
CREATE INDEX reservations_pending_expiry_idx ON reservations (expires_at) WHERE status = 'pending';
CREATE INDEX reservations_event_idx ON reservations (event_id, status);

CREATE TABLE reservation_items (
    id              UUID PRIMARY KEY,
    reservation_id  UUID NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
    event_id        UUID NOT NULL REFERENCES events (id),
    seat_id         UUID REFERENCES seats (id),
    ticket_type_id  UUID REFERENCES ticket_types (id),
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    unit_price      BIGINT NOT NULL CHECK (unit_price >= 0),
    -- The fencing token of the seat's Redis lock when the hold was taken.
    fencing_token   BIGINT,
    -- True while the reservation is pending or confirmed; cleared in the same
    -- transaction that cancels or expires it.
    live            BOOLEAN NOT NULL DEFAULT true,
    CHECK ((seat_id IS NULL) <> (ticket_type_id IS NULL)),
    CHECK (seat_id IS NULL OR quantity = 1)
);
CREATE INDEX reservation_items_reservation_idx ON reservation_items (reservation_id);
-- The last line of defence: one seat, at most one live reservation.
CREATE UNIQUE INDEX reservation_items_one_live_per_seat
    ON reservation_items (seat_id) WHERE live AND seat_id IS NOT NULL;

-- What happened to a reservation and why, for support and audits.
CREATE TABLE reservation_history (
    id              BIGSERIAL PRIMARY KEY,
    reservation_id  UUID NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    note            TEXT NOT NULL,
    at              TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX reservation_history_reservation_idx ON reservation_history (reservation_id, id);
