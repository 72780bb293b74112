//! The typed way to talk to one event: each call finds where the event is served (here,
//! starting its actor if need be, or on its owner's node), waits at most the directory's
//! timeout, and is made once more when the first attempt met a stopped actor or a node
//! that no longer owns the event (`routing.rs`). Callers never see reply ports, nodes or
//! retries.

use ractor::ActorId;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::call::{EventAnswer, EventCall};
use super::directory::EventDirectory;
use super::error::EventError;
use super::routing::Route;
use super::settings::QueueSettings;
use super::views::{
    EventOverview, HoldView, QueueTick, QueueView, SeatStateView, SeatStatus, SeatUpdate,
};
use crate::ids::{ReservationId, SeatId, TicketTypeId, UserId};
use crate::ownership::{Ask, Fence};

/// One event, as its callers see it. Cheap to make and to clone.
#[derive(Clone)]
pub struct EventRef {
    directory: EventDirectory,
    event_id: Uuid,
}

/// How many times a subscription looks for a live slot before giving up.
const SUBSCRIBE_ATTEMPTS: usize = 3;

/// The owner's side of another node's relay (`relay.rs`): the event's live updates on
/// this node, which serves it, for as long as it does.
pub struct OwnerFeed {
    pub seats: broadcast::Receiver<SeatUpdate>,
    pub ticks: broadcast::Receiver<QueueTick>,
    fence: Option<Fence>,
    directory: EventDirectory,
}

impl OwnerFeed {
    /// False once this node no longer serves the event (released, handed off, lapsed):
    /// the follower then looks for the new owner.
    pub fn still_owner(&self) -> bool {
        self.directory.inner.holds(self.fence.as_ref())
    }
}

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

    async fn run(&self, call: EventCall) -> Result<EventAnswer, EventError> {
        self.directory.run(self.event_id, call, false).await
    }

    /// Makes a call another node forwarded here: served here (taking the event's free
    /// lease if need be) or refused with [`EventError::NotOwner`], never sent on.
    pub async fn serve_forwarded(&self, call: EventCall) -> Result<EventAnswer, EventError> {
        self.directory.run(self.event_id, call, true).await
    }

    /// Takes (or keeps) a place, or is admitted at once when nobody waits.
    pub async fn join(
        &self,
        user: UserId,
        tier1_pos: Option<u64>,
    ) -> Result<QueueView, EventError> {
        self.run(EventCall::Join { user, tier1_pos }).await?.queue()
    }

    /// Where the user stands; asking is also the user's heartbeat.
    pub async fn status(&self, user: UserId) -> Result<QueueView, EventError> {
        self.run(EventCall::Status { user }).await?.queue()
    }

    /// True when the user was waiting or active.
    pub async fn leave(&self, user: UserId) -> Result<bool, EventError> {
        self.run(EventCall::Leave { user }).await?.left()
    }

    pub async fn hold_seats(
        &self,
        user: UserId,
        reservation: ReservationId,
        seats: Vec<SeatId>,
        idempotency_key: String,
    ) -> Result<HoldView, EventError> {
        self.run(EventCall::HoldSeats {
            user,
            reservation,
            seats,
            idempotency_key,
        })
        .await?
        .hold()
    }

    pub async fn hold_tickets(
        &self,
        user: UserId,
        reservation: ReservationId,
        ticket_type: TicketTypeId,
        quantity: u32,
        idempotency_key: String,
    ) -> Result<HoldView, EventError> {
        self.run(EventCall::HoldTickets {
            user,
            reservation,
            ticket_type,
            quantity,
            idempotency_key,
        })
        .await?
        .hold()
    }

    /// Makes a held reservation a sale, verifying its fencing tokens (payments use this).
    pub async fn confirm(&self, reservation: ReservationId) -> Result<(), EventError> {
        self.run(EventCall::Confirm { reservation }).await?.done()
    }

    /// Cancels the user's own pending reservation and frees its seats.
    pub async fn cancel(&self, user: UserId, reservation: ReservationId) -> Result<(), EventError> {
        self.run(EventCall::Cancel { user, reservation })
            .await?
            .done()
    }

    /// Completes a lapsed reservation whose payment arrived late, if its seats are free.
    pub async fn revive(
        &self,
        user: UserId,
        reservation: ReservationId,
        seats: Vec<SeatId>,
    ) -> Result<(), EventError> {
        self.run(EventCall::Revive {
            user,
            reservation,
            seats,
        })
        .await?
        .done()
    }

    /// After a refund: the sold reservation is cancelled and its seats go back on sale.
    pub async fn refund(&self, reservation: ReservationId) -> Result<(), EventError> {
        self.run(EventCall::Refund { reservation }).await?.done()
    }

    pub async fn seat_statuses(&self) -> Result<Vec<(SeatId, SeatStatus)>, EventError> {
        self.run(EventCall::SeatStatuses).await?.seats()
    }

    /// The compact seat map: every seat's status in layout order, and its version.
    pub async fn seat_state(&self) -> Result<SeatStateView, EventError> {
        self.run(EventCall::SeatState).await?.seat_state()
    }

    pub async fn overview(&self) -> Result<EventOverview, EventError> {
        self.run(EventCall::Overview).await?.overview()
    }

    /// Applies new settings to the event's actor if one runs (or is starting), here or
    /// on its owner's node; an actor started later reads them from storage, so none is
    /// started for this.
    pub async fn update_settings(
        &self,
        settings: QueueSettings,
        on_sale: bool,
    ) -> Result<(), EventError> {
        self.run(EventCall::UpdateSettings { settings, on_sale })
            .await?
            .done()
    }

    /// Live seat changes (for the seat-map stream), across actor restarts and moves:
    /// after one, a [`SeatUpdate::Resync`]. Starts the actor if need be; for an event
    /// owned by another node, follows the owner's changes.
    pub async fn subscribe_seats(&self) -> Result<broadcast::Receiver<SeatUpdate>, EventError> {
        for _ in 0..SUBSCRIBE_ATTEMPTS {
            if let Some(receiver) = self.subscribe(|slot| slot.subscribe_seats()).await? {
                return Ok(receiver);
            }
        }
        Err(EventError::Stopped)
    }

    /// A message after every admission tick (for the queue stream), across actor
    /// restarts and moves. Starts the actor if need be.
    pub async fn subscribe_queue(&self) -> Result<broadcast::Receiver<QueueTick>, EventError> {
        for _ in 0..SUBSCRIBE_ATTEMPTS {
            if let Some(receiver) = self.subscribe(|slot| slot.subscribe_queue()).await? {
                return Ok(receiver);
            }
        }
        Err(EventError::Stopped)
    }

    async fn subscribe<R>(
        &self,
        take: impl Fn(&super::directory::Slot) -> Option<R>,
    ) -> Result<Option<R>, EventError> {
        match self.directory.route(self.event_id, Ask::serve()).await? {
            Route::Local(slot, _) => Ok(take(&slot)),
            Route::Remote(_) => {
                let slot = self.directory.inner.slot(self.event_id);
                let receiver = take(&slot);
                if receiver.is_some() {
                    self.directory.relay(&slot);
                }
                Ok(receiver)
            }
            Route::Nowhere => Ok(None),
        }
    }

    /// The event's live updates for another node's relay: served here (taking the free
    /// lease if need be), or [`EventError::NotOwner`].
    pub async fn feed_here(&self) -> Result<OwnerFeed, EventError> {
        let route = self
            .directory
            .route(self.event_id, Ask::serve().forwarded())
            .await?;
        let Route::Local(slot, _) = route else {
            return Err(EventError::NotOwner);
        };
        let (Some(seats), Some(ticks)) = (slot.subscribe_seats(), slot.subscribe_queue()) else {
            return Err(EventError::Stopped);
        };
        let fence = slot.serving().and_then(|(_, fence)| fence);
        Ok(OwnerFeed {
            seats,
            ticks,
            fence,
            directory: self.directory.clone(),
        })
    }

    /// Starts the event's actor on this node (rebuilt from storage) if it is not
    /// running, taking the event's lease when nobody holds it; its id.
    /// [`EventError::NotOwner`] when another node owns the event.
    pub async fn start(&self) -> Result<ActorId, EventError> {
        match self
            .directory
            .route(self.event_id, Ask::serve().forwarded())
            .await?
        {
            Route::Local(_, serving) => Ok(serving.actor.get_id()),
            Route::Remote(_) | Route::Nowhere => Err(EventError::NotOwner),
        }
    }

    /// The actor serving the event on this node now, if one runs (another one after a
    /// restart).
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
