//! The typed way to talk to one event: each call finds the event's actor (starting it if
//! need be), waits at most the directory's timeout, and is made once more on a fresh
//! actor when the first one had stopped (an idle stop racing the call). Callers never see
//! reply ports nor write the retry.

use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{ActorId, ActorRef};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::directory::EventDirectory;
use super::error::EventError;
use super::messages::{EventMsg, Reply};
use super::settings::QueueSettings;
use super::telemetry;
use super::views::{EventOverview, HoldView, QueueTick, QueueView, SeatStatus, SeatUpdate};
use crate::ids::{ReservationId, SeatId, TicketTypeId, UserId};

/// One event, as its callers see it. Cheap to make and to clone.
#[derive(Clone)]
pub struct EventRef {
    directory: EventDirectory,
    event_id: Uuid,
}

/// How many times a subscription looks for a live slot before giving up.
const SUBSCRIBE_ATTEMPTS: usize = 3;

impl EventRef {
    pub(super) fn new(directory: EventDirectory, event_id: Uuid) -> Self {
        Self {
            directory,
            event_id,
        }
    }

    pub fn event_id(&self) -> Uuid {
        self.event_id
    }

    fn timeout(&self) -> Duration {
        self.directory.inner.options.call_timeout
    }

    async fn call<T: Send + 'static>(
        &self,
        build: impl Fn(Reply<T>) -> EventMsg,
    ) -> Result<T, EventError> {
        let (_, actor) = self.directory.actor(self.event_id).await?;
        telemetry::in_flight(self.event_id, 1.0);
        let answer = match ask(&actor, &build, self.timeout()).await {
            Err(EventError::Stopped) => match self.directory.actor(self.event_id).await {
                Ok((_, fresh)) => ask(&fresh, &build, self.timeout()).await,
                Err(err) => Err(err),
            },
            other => other,
        };
        telemetry::in_flight(self.event_id, -1.0);
        answer
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

    /// Where the user stands; asking is also the user's heartbeat.
    pub async fn status(&self, user: UserId) -> Result<QueueView, EventError> {
        self.call(|reply| EventMsg::Status { user, reply }).await
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
            seats: seats.clone(),
            idempotency_key: idempotency_key.clone(),
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
            idempotency_key: idempotency_key.clone(),
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
            seats: seats.clone(),
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

    /// Applies new settings to the event's actor if one runs (or is starting); an actor
    /// started later reads them from storage, so none is started for this.
    pub async fn update_settings(
        &self,
        settings: QueueSettings,
        on_sale: bool,
    ) -> Result<(), EventError> {
        let Some(actor) = self.directory.running_after_start(self.event_id).await else {
            return Ok(());
        };
        let build = |reply| EventMsg::UpdateSettings {
            settings,
            on_sale,
            reply,
        };
        match ask(&actor, &build, self.timeout()).await {
            Err(EventError::Stopped) => Ok(()),
            other => other,
        }
    }

    /// Live seat changes (for the seat-map stream), across actor restarts: after one, a
    /// [`SeatUpdate::Resync`]. Starts the actor if need be.
    pub async fn subscribe_seats(&self) -> Result<broadcast::Receiver<SeatUpdate>, EventError> {
        for _ in 0..SUBSCRIBE_ATTEMPTS {
            let (slot, _) = self.directory.actor(self.event_id).await?;
            if let Some(receiver) = slot.subscribe_seats() {
                return Ok(receiver);
            }
        }
        Err(EventError::Stopped)
    }

    /// A message after every admission tick (for the queue stream), across actor
    /// restarts. Starts the actor if need be.
    pub async fn subscribe_queue(&self) -> Result<broadcast::Receiver<QueueTick>, EventError> {
        for _ in 0..SUBSCRIBE_ATTEMPTS {
            let (slot, _) = self.directory.actor(self.event_id).await?;
            if let Some(receiver) = slot.subscribe_queue() {
                return Ok(receiver);
            }
        }
        Err(EventError::Stopped)
    }

    /// Starts the event's actor (rebuilt from storage) if it is not running; its id.
    pub async fn start(&self) -> Result<ActorId, EventError> {
        let (_, actor) = self.directory.actor(self.event_id).await?;
        Ok(actor.get_id())
    }

    /// The actor serving the event now, if one runs (another one after a restart).
    pub fn running_actor(&self) -> Option<ActorId> {
        self.directory
            .running(self.event_id)
            .map(|actor| actor.get_id())
    }

    /// Stops the running actor abruptly, as a crash would (tests and operators); the
    /// directory starts a fresh one at once. False when none ran.
    pub fn kill(&self) -> bool {
        let actor = self.directory.running(self.event_id);
        if let Some(actor) = &actor {
            actor.kill();
        }
        actor.is_some()
    }
}

async fn ask<T: Send + 'static>(
    actor: &ActorRef<EventMsg>,
    build: &impl Fn(Reply<T>) -> EventMsg,
    timeout: Duration,
) -> Result<T, EventError> {
    match actor.call(build, Some(timeout)).await {
        Ok(CallResult::Success(result)) => result,
        Ok(CallResult::Timeout) => Err(EventError::Unavailable(
            "the event did not answer in time".into(),
        )),
        Ok(CallResult::SenderError) | Err(_) => Err(EventError::Stopped),
    }
}
