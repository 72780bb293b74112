-- Every charge ends ticketed or refunded: the states between "the provider was asked" and
-- "the buyer has the ticket or the money back" are durable, each with the time the
-- reconciler looks at it next, and a refund owes the release of its seats' locks until
-- Redis has freed them.
--
--   ready      → confirming (claimed; the provider is being asked)
--   confirming → paid | failed (declined) | unknown (no verdict: timeout, 5xx, garbage)
--              | done (a membership or transfer, delivered with the money)
--              | refunding (a membership or transfer that can no longer be delivered)
--   unknown    → paid | failed (the provider's record says it never charged)
--   paid       → done (the reservation confirmed, in that transaction) | refunding
--   done       → refunding (the buyer asks)
--   refunding  → refunded (the money back, then the ticket cancelled in that transaction)
--              | done or paid (a refund the buyer asked for that the provider refuses)
--
-- `paid` (money taken, ticket not issued yet) is new: `done` now means the buyer has what
-- they paid for. `unknown` may have charged, so it is never `failed` until the provider
-- says it did not.
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK (status IN
    ('ready', 'confirming', 'unknown', 'paid', 'done', 'failed', 'refunding', 'refunded'));

ALTER TABLE payments
    -- How often the reconciler has looked at this payment in its current state.
    ADD COLUMN attempts INT NOT NULL DEFAULT 0,
    -- When the reconciler looks next (confirming, unknown, paid, refunding); a confirming
    -- payment's is past the provider's timeout, so a live request settles it first.
    ADD COLUMN next_check_at TIMESTAMPTZ,
    -- Why the money is going back; set from the moment the refund is decided.
    ADD COLUMN refund_reason TEXT,
    -- The state a refund the buyer asked for returns to when the provider refuses it
    -- (NULL for a refund owed because nothing could be delivered: it has no way back).
    ADD COLUMN refund_from TEXT CHECK (refund_from IN ('paid', 'done')),
    -- When the provider confirmed it gave the money back (a refund's first step).
    ADD COLUMN provider_cancelled_at TIMESTAMPTZ;

CREATE INDEX payments_due_idx ON payments (next_check_at)
    WHERE status IN ('confirming', 'unknown', 'paid', 'refunding');

-- A charge whose outcome is unknown, or that is paid, or being refunded, still holds its
-- reservation or listing: no second order can be charged for it meanwhile.
DROP INDEX payments_one_success_per_reservation;
CREATE UNIQUE INDEX payments_one_success_per_reservation ON payments (reservation_id)
    WHERE status IN ('confirming', 'unknown', 'paid', 'done', 'refunding');
DROP INDEX payments_one_success_per_transfer;
CREATE UNIQUE INDEX payments_one_success_per_transfer ON payments (transfer_id)
    WHERE status IN ('confirming', 'unknown', 'paid', 'done', 'refunding');

-- Seat locks a refund (or the hold sweeper) must still delete in Redis: written in the
-- transaction that frees the seats, deleted once Redis has freed them, retried by the
-- reconciler until then. A sold lock has no expiry, so without this a failed unlock would
-- leave a seat that shows free and can never be held again.
CREATE TABLE seat_releases_owed (
    reservation_id  UUID PRIMARY KEY REFERENCES reservations (id),
    event_id        UUID NOT NULL REFERENCES events (id),
    seat_ids        UUID[] NOT NULL,
    attempts        INT NOT NULL DEFAULT 0,
    next_try_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX seat_releases_owed_due_idx ON seat_releases_owed (next_try_at);

-- Reservation payments recorded `done` before `paid` existed whose reservation never got
-- its ticket are `paid`: the reconciler completes them, or gives the money back.
UPDATE payments p SET status = 'paid', next_check_at = now()
    WHERE p.status = 'done' AND p.purpose = 'reservation' AND NOT EXISTS
        (SELECT 1 FROM reservations r WHERE r.id = p.reservation_id AND r.status = 'confirmed');

-- Payments claimed before and never settled (their request died): the reconciler asks the
-- provider about them at once.
UPDATE payments SET next_check_at = now() WHERE status = 'confirming';
