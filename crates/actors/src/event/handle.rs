//! The typed way to talk to an EventActor: callers never see reply ports, and every call
//! has a timeout.

use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{ActorRef, RpcReplyPort};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::actor::EventMsg;
use super::error::EventError;
use super::settings::QueueSettings;
use super::views::{EventOverview, HoldView, QueueTick, QueueView, SeatChange, SeatStatus};
use crate::ids::{ReservationId, SeatId, TicketTypeId, UserId};

#[derive(Clone)]
pub struct EventHandle {
    pub(crate) event_id: Uuid,
    pub(crate) actor: ActorRef<EventMsg>,
    pub(crate) seat_changes: broadcast::Sender<SeatChange>,
    pub(crate) queue_ticks: broadcast::Sender<QueueTick>,
    pub(crate) timeout: Duration,
}

impl EventHandle {
    pub fn event_id(&self) -> Uuid {
        self.event_id
    }

    /// Which actor instance answers (changes when the actor is restarted).
    pub fn actor_id(&self) -> ractor::ActorId {
        self.actor.get_id()
    }

    async fn call<T: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<Result<T, EventError>>) -> EventMsg,
    ) -> Result<T, EventError> {
        match self.actor.call(build, Some(self.timeout)).await {
            Ok(CallResult::Success(result)) => result,
            Ok(CallResult::Timeout) => Err(EventError::Unavailable(
                "the event did not answer in time".into(),
            )),
            Ok(CallResult::SenderError) | Err(_) => Err(EventError::Stopped),
        }
    }

    /// Takes (or keeps) a place, or is admitted at once when nobody waits.
    pub async fn join(
        &self,
        user: UserId,
        tier1_pos: Option<u64>,
    ) -> Result<QueueView, EventError> {
        self.call(|reply| EventMsg::Join {
            user,
            tier1_pos,
            reply,
        })
        .await
    }

    pub async fn status(&self, user: UserId) -> Result<QueueView, EventError> {
        self.call(|reply| EventMsg::Status { user, reply }).await
    }

    pub async fn heartbeat(&self, user: UserId) -> Result<QueueView, EventError> {
        self.call(|reply| EventMsg::Heartbeat { user, reply }).await
    }

    /// True when the user was waiting or active.
    pub async fn leave(&self, user: UserId) -> Result<bool, EventError> {
        self.call(|reply| EventMsg::Leave { user, reply }).await
    }

    pub async fn hold_seats(
        &self,
        user: UserId,
        reservation: ReservationId,
        seats: Vec<SeatId>,
        idempotency_key: String,
    ) -> Result<HoldView, EventError> {
        self.call(|reply| EventMsg::HoldSeats {
            user,
            reservation,
            seats,
            idempotency_key,
            reply,
        })
        .await
    }

    pub async fn hold_tickets(
        &self,
        user: UserId,
        reservation: ReservationId,
        ticket_type: TicketTypeId,
        quantity: u32,
        idempotency_key: String,
    ) -> Result<HoldView, EventError> {
        self.call(|reply| EventMsg::HoldTickets {
            user,
            reservation,
            ticket_type,
            quantity,
            idempotency_key,
            reply,
        })
        .await
    }

    /// Makes a held reservation a sale, verifying its fencing tokens (payments use this).
    pub async fn confirm(&self, reservation: ReservationId) -> Result<(), EventError> {
        self.call(|reply| EventMsg::Confirm { reservation, reply })
            .await
    }

    /// Cancels the user's own pending reservation and frees its seats.
    pub async fn cancel(&self, user: UserId, reservation: ReservationId) -> Result<(), EventError> {
        self.call(|reply| EventMsg::Cancel {
            user,
            reservation,
            reply,
        })
        .await
    }

    /// Completes a lapsed reservation whose payment arrived late, if its seats are free.
    pub async fn revive(
        &self,
        user: UserId,
        reservation: ReservationId,
        seats: Vec<SeatId>,
    ) -> Result<(), EventError> {
        self.call(|reply| EventMsg::Revive {
            user,
            reservation,
            seats,
            reply,
        })
        .await
    }

    /// After a refund: the sold reservation is cancelled and its seats go back on sale.
    pub async fn refund(&self, reservation: ReservationId) -> Result<(), EventError> {
        self.call(|reply| EventMsg::Refund { reservation, reply })
            .await
    }

    pub async fn seat_statuses(&self) -> Result<Vec<(SeatId, SeatStatus)>, EventError> {
        self.call(|reply| EventMsg::SeatStatuses { reply }).await
    }

    pub async fn overview(&self) -> Result<EventOverview, EventError> {
        self.call(|reply| EventMsg::Overview { reply }).await
    }

    pub async fn update_settings(
        &self,
        settings: QueueSettings,
        on_sale: bool,
    ) -> Result<(), EventError> {
        self.call(|reply| EventMsg::UpdateSettings {
            settings,
            on_sale,
            reply,
        })
        .await
    }

    /// Live seat changes (for the seat-map stream).
    pub fn subscribe_seats(&self) -> broadcast::Receiver<SeatChange> {
        self.seat_changes.subscribe()
    }

    /// A message after every admission tick (for the queue stream).
    pub fn subscribe_queue(&self) -> broadcast::Receiver<QueueTick> {
        self.queue_ticks.subscribe()
    }

    /// Stops the actor abruptly, as a crash would (tests and operators).
    pub fn kill(&self) {
        self.actor.kill();
    }
}
