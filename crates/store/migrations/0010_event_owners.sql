-- Who owns each event's actor, at which epoch (docs/architecture.md#fencing). Every lease
-- acquisition raises the epoch by one in the same statement that names the new owner;
-- every transaction of an owning actor first reads its row FOR SHARE and rolls back when
-- the epoch moved past its own, so a takeover (an UPDATE of the row) waits for the old
-- owner's transactions in flight and every later one of them is refused.
CREATE TABLE event_owners (
    event_id     UUID PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    owner_node   TEXT NOT NULL,
    owner_url    TEXT NOT NULL,
    epoch        BIGINT NOT NULL CHECK (epoch > 0),
    acquired_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set when the owner gave the lease back; NULL while it owns the event, or after it
    -- died owning it (the next acquisition is then a failover).
    released_at  TIMESTAMPTZ
);
CREATE INDEX event_owners_node_idx ON event_owners (owner_node) WHERE released_at IS NULL;
