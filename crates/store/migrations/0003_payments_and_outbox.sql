-- Payments (SPEC 2.4) and the transactional outbox of the event bus (SPEC 1).

CREATE TABLE payments (
    id               UUID PRIMARY KEY,
    -- ORD_{unix ms}_{8 hex}: what the provider sees.
    order_id         TEXT NOT NULL UNIQUE,
    reservation_id   UUID NOT NULL REFERENCES reservations (id),
    user_id          UUID NOT NULL REFERENCES users (id),
    event_id         UUID NOT NULL REFERENCES events (id),
    amount           BIGINT NOT NULL CHECK (amount >= 0),
    provider         TEXT NOT NULL CHECK (provider IN ('toss', 'sandbox')),
    method           TEXT,
    payment_key      TEXT,
    status           TEXT NOT NULL
                     CHECK (status IN ('ready', 'confirming', 'done', 'failed', 'refunded')),
    failure_code     TEXT,
    failure_message  TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    confirmed_at     TIMESTAMPTZ,
    refunded_at      TIMESTAMPTZ
);
CREATE INDEX payments_reservation_idx ON payments (reservation_id);
-- One reservation is paid at most once: a second charge cannot even be recorded.
CREATE UNIQUE INDEX payments_one_success_per_reservation
    ON payments (reservation_id) WHERE status IN ('confirming', 'done');

-- Events written in the same transaction as the change they describe; a relay publishes
-- them to Redis Streams and marks them sent (at least once).
CREATE TABLE outbox (
    id            BIGSERIAL PRIMARY KEY,
    -- The stream: payment-events, reservation-events, transfer-events, membership-events.
    topic         TEXT NOT NULL,
    -- The key the seed's topic was partitioned by (orderId, reservationId, ...).
    key           TEXT NOT NULL,
    -- The proto message name, e.g. PaymentConfirmed.
    event_type    TEXT NOT NULL,
    -- The prost-encoded message.
    payload       BYTEA NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at  TIMESTAMPTZ
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

-- What each consumer has already handled: processing is idempotent per (consumer, event).
CREATE TABLE processed_events (
    consumer      TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    processed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
