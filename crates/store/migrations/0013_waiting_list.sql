-- The waiting list of a sold-out event (docs/waiting-list.md). An entry's offer is an
-- ordinary pending reservation of that user whose idempotency key is 'waitlist:<entry>',
-- so an offer holds its seats exactly as a hold does, and an entry's state (waiting,
-- offered, bought, passed) is read off that reservation.
ALTER TABLE event_queue_settings
    ADD COLUMN waitlist_offer_secs INTEGER NOT NULL DEFAULT 600 CHECK (waitlist_offer_secs > 0);

CREATE TABLE waiting_list (
    id         UUID PRIMARY KEY,
    event_id   UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id    UUID NOT NULL REFERENCES users (id),
    -- Seats wanted together.
    quantity   INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    joined_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set when the person leaves the list, or joins it again after their offer lapsed.
    left_at    TIMESTAMPTZ
);
-- One current entry per person and event.
CREATE UNIQUE INDEX waiting_list_one_per_user ON waiting_list (event_id, user_id)
    WHERE left_at IS NULL;
-- The order offers follow.
CREATE INDEX waiting_list_order ON waiting_list (event_id, joined_at, id) WHERE left_at IS NULL;
