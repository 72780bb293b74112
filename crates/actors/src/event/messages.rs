//! What the EventActor is told and what it starts from (ractor's `Msg` and `Arguments`).

use std::sync::Arc;
use std::time::Duration;

use ractor::RpcReplyPort;
use tokio::sync::broadcast;
use tracing::Span;

use super::board::StatusBoard;
use super::error::EventError;
use super::mailbox::Mailbox;
use super::settings::QueueSettings;
use super::views::{
    EventOverview, HoldView, QueueTick, QueueView, SeatStateView, SeatStatus, SeatUpdate,
};
use crate::ids::{ReservationId, SeatId, TicketTypeId, UserId};
use crate::ports::{EventSnapshot, EventStore};

/// Where an answer goes; a domain refusal travels in it, the actor keeps running. It
/// carries the span of the call it answers (`trace.rs`), so work done for the call later,
/// in a group commit, is logged as part of it.
pub struct Reply<T> {
    port: RpcReplyPort<Result<T, EventError>>,
    span: Span,
}

impl<T> Reply<T> {
    pub(super) fn new(port: RpcReplyPort<Result<T, EventError>>, span: Span) -> Self {
        Self { port, span }
    }

    /// A reply nobody waits for: a hold the actor takes itself (a waiting-list offer,
    /// `offers`), whose outcome the store records and the owner reads from there.
    pub(super) fn detached(span: Span) -> Self {
        let (port, _unheard) = tokio::sync::oneshot::channel();
        Self::new(RpcReplyPort::from(port), span)
    }

    /// Answers the call; an error means the caller stopped waiting.
    pub fn send(
        self,
        answer: Result<T, EventError>,
    ) -> Result<(), ractor::MessagingErr<Result<T, EventError>>> {
        self.port.send(answer)
    }

    /// The span of the call this answers.
    pub fn span(&self) -> &Span {
        &self.span
    }
}

pub enum EventMsg {
    Join {
        user: UserId,
        tier1_pos: Option<u64>,
        reply: Reply<QueueView>,
    },
    /// Where the user stands. Asking is a sign of life (a heartbeat): a client that polls
    /// as told, or keeps the stream open, never loses its place.
    Status {
        user: UserId,
        reply: Reply<QueueView>,
    },
    Leave {
        user: UserId,
        reply: Reply<bool>,
    },
    HoldSeats {
        user: UserId,
        reservation: ReservationId,
        seats: Vec<SeatId>,
        idempotency_key: String,
        reply: Reply<HoldView>,
    },
    HoldTickets {
        user: UserId,
        reservation: ReservationId,
        ticket_type: TicketTypeId,
        quantity: u32,
        idempotency_key: String,
        reply: Reply<HoldView>,
    },
    Confirm {
        reservation: ReservationId,
        reply: Reply<()>,
    },
    Cancel {
        user: UserId,
        reservation: ReservationId,
        reply: Reply<()>,
    },
    /// A payment arrived after the hold lapsed: complete the sale if every seat is free.
    Revive {
        user: UserId,
        reservation: ReservationId,
        seats: Vec<SeatId>,
        reply: Reply<()>,
    },
    /// A sold reservation was refunded: its seats go back on sale.
    Refund {
        reservation: ReservationId,
        reply: Reply<()>,
    },
    SeatStatuses {
        reply: Reply<Vec<(SeatId, SeatStatus)>>,
    },
    SeatState {
        reply: Reply<SeatStateView>,
    },
    Overview {
        reply: Reply<EventOverview>,
    },
    UpdateSettings {
        settings: QueueSettings,
        on_sale: bool,
        reply: Reply<()>,
    },
    /// Admission, hold expiry and the idle check (the actor's own timer).
    Tick,
    /// Writes the buffered queue-log records (queued behind the mailbox).
    FlushLog,
    /// Makes the holds taken since the last flush durable (queued behind the mailbox).
    FlushHolds,
    /// Writes the seat sales queued since the last batch (queued behind the mailbox).
    FlushSales,
    /// A batch's durable write finished (`holds`): what became of each hold.
    HoldsRecorded(super::holds::RecordedBatch),
}

impl EventMsg {
    /// The span of the call this message carries; none for the actor's own messages.
    pub(super) fn span(&self) -> Span {
        let span = match self {
            EventMsg::Join { reply, .. } | EventMsg::Status { reply, .. } => reply.span(),
            EventMsg::Leave { reply, .. } => reply.span(),
            EventMsg::HoldSeats { reply, .. } | EventMsg::HoldTickets { reply, .. } => reply.span(),
            EventMsg::Confirm { reply, .. }
            | EventMsg::Cancel { reply, .. }
            | EventMsg::Revive { reply, .. }
            | EventMsg::Refund { reply, .. }
            | EventMsg::UpdateSettings { reply, .. } => reply.span(),
            EventMsg::SeatStatuses { reply } => reply.span(),
            EventMsg::SeatState { reply } => reply.span(),
            EventMsg::Overview { reply } => reply.span(),
            EventMsg::Tick
            | EventMsg::FlushLog
            | EventMsg::FlushHolds
            | EventMsg::FlushSales
            | EventMsg::HoldsRecorded(_) => return Span::none(),
        };
        span.clone()
    }

    /// True for the messages the actor sends itself: they are not a sign of use.
    pub(super) fn is_internal(&self) -> bool {
        matches!(
            self,
            EventMsg::Tick
                | EventMsg::FlushLog
                | EventMsg::FlushHolds
                | EventMsg::FlushSales
                | EventMsg::HoldsRecorded(_)
        )
    }

    /// The reservation a call is about, for the calls that change one.
    pub(super) fn reservation(&self) -> Option<ReservationId> {
        match self {
            EventMsg::Confirm { reservation, .. }
            | EventMsg::Cancel { reservation, .. }
            | EventMsg::Revive { reservation, .. }
            | EventMsg::Refund { reservation, .. } => Some(*reservation),
            _ => None,
        }
    }
}

pub struct EventArgs {
    pub snapshot: EventSnapshot,
    pub store: Arc<dyn EventStore>,
    /// The event's channels; they outlive any one actor, so a subscriber hears from the
    /// actor that replaces a crashed one.
    pub seat_changes: broadcast::Sender<SeatUpdate>,
    pub queue_ticks: broadcast::Sender<QueueTick>,
    /// Stop after this long with nobody waiting, active or holding.
    pub idle_after: Duration,
    /// Chunks of holds written at once, and the most holds one chunk carries while
    /// there is room for more chunks (`holds`).
    pub hold_batches_in_flight: usize,
    pub holds_per_write: usize,
    /// Where the actor keeps its line for status readers (`board`).
    pub board: Arc<StatusBoard>,
    /// Counted by every sender and by the actor (`mailbox`).
    pub(super) mailbox: Mailbox,
}
