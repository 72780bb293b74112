-- Sales figures per event, kept by the stats consumer from the event bus (SPEC 2.6).
CREATE TABLE event_stats (
    event_id         UUID PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    confirmed        BIGINT NOT NULL DEFAULT 0,
    cancelled        BIGINT NOT NULL DEFAULT 0,
    expired          BIGINT NOT NULL DEFAULT 0,
    refunded         BIGINT NOT NULL DEFAULT 0,
    -- Won taken (confirmed payments) less won given back (refunds).
    revenue          BIGINT NOT NULL DEFAULT 0,
    refunded_amount  BIGINT NOT NULL DEFAULT 0,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
