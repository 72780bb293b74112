//! The sales side of an event's actor, as payments use it: the one place this crate talks
//! to the event directory. Every call is idempotent at the store (a confirmed reservation
//! confirms again as success, a refund's cancellation happens once).

use urr_actors::event::{EventDirectory, EventError};
use urr_actors::ids::{ReservationId, SeatId, UserId};
use uuid::Uuid;

#[derive(Clone)]
pub(crate) struct Tickets(EventDirectory);

impl Tickets {
    pub fn new(events: EventDirectory) -> Self {
        Self(events)
    }

    /// Makes a held reservation a sale (its payment `done` in the same transaction).
    pub async fn confirm(&self, event: Uuid, reservation: Uuid) -> Result<(), EventError> {
        let id = ReservationId::from(reservation);
        self.0.event(event).confirm(id).await
    }

    /// Sells a lapsed reservation's seats after all, when they are still free.
    pub async fn revive(
        &self,
        event: Uuid,
        user: Uuid,
        reservation: Uuid,
        seats: Vec<Uuid>,
    ) -> Result<(), EventError> {
        let user = UserId::from(user);
        let id = ReservationId::from(reservation);
        let seats: Vec<SeatId> = seats.into_iter().map(SeatId::from).collect();
        self.0.event(event).revive(user, id, seats).await
    }

    /// Ends a reservation still held (its payment was refunded before its ticket was
    /// confirmed): its seats go back on sale now rather than when the hold lapses.
    pub async fn cancel_hold(
        &self,
        event: Uuid,
        user: Uuid,
        reservation: Uuid,
    ) -> Result<(), EventError> {
        let user = UserId::from(user);
        let id = ReservationId::from(reservation);
        self.0.event(event).cancel(user, id).await
    }

    /// Cancels a sold reservation for its refund (the payment `refunded` in the same
    /// transaction) and puts its seats back on sale.
    pub async fn cancel_sale(&self, event: Uuid, reservation: Uuid) -> Result<(), EventError> {
        let id = ReservationId::from(reservation);
        self.0.event(event).refund(id).await
    }
}
