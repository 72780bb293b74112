-- Tickets at the door (docs/tickets.md): each confirmed ticket's code names its
-- reservation item, its unit (a counted item of N tickets has N codes) and the code
-- generation of its reservation. Handing the reservation to a new holder raises the
-- generation, so the old holder's codes stop working the moment the new holder's do.
ALTER TABLE reservations ADD COLUMN code_generation INTEGER NOT NULL DEFAULT 1
    CHECK (code_generation > 0);

-- Door staff: may check tickets in at any event, nothing else an admin may do.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('user', 'staff', 'admin'));

-- One row per admitted ticket: the primary key is the "first scan admits" rule, so two
-- scanners racing on one code cannot both admit it.
CREATE TABLE ticket_check_ins (
    item_id         UUID NOT NULL REFERENCES reservation_items (id),
    unit            INTEGER NOT NULL CHECK (unit >= 0),
    reservation_id  UUID NOT NULL REFERENCES reservations (id),
    event_id        UUID NOT NULL REFERENCES events (id),
    gate            TEXT NOT NULL,
    staff_id        UUID NOT NULL REFERENCES users (id),
    at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (item_id, unit)
);
CREATE INDEX ticket_check_ins_event_idx ON ticket_check_ins (event_id, gate);
