-- The per-user limit of an event: seats (or tickets) one user may hold or have bought
-- across all their reservations of it. NULL: as many as one hold may take.
ALTER TABLE event_queue_settings
    ADD COLUMN max_seats_per_user INTEGER CHECK (max_seats_per_user BETWEEN 1 AND 1000);
