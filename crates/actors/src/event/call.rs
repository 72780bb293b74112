//! Every call an [`EventRef`](super::EventRef) makes, as data: asked of the local actor
//! when this node owns the event, or forwarded as it is to the owner's node
//! (`docs/architecture.md#ownership`), so every path (HTTP, payments, the bus, admin
//! writes) reaches the one owner the same way.

use std::time::Duration;

use super::mailbox::Mailbox;
use ractor::ActorRef;
use ractor::rpc::CallResult;
use tracing::Span;

use super::error::EventError;
use super::messages::{EventMsg, Reply};
use super::settings::QueueSettings;
use super::views::{EventOverview, HoldView, QueueView, SeatStateView, SeatStatus};
use crate::ids::{ReservationId, SeatId, TicketTypeId, UserId};

/// One operation on an event's actor.
#[derive(Debug, Clone, PartialEq)]
pub enum EventCall {
    Join {
        user: UserId,
        tier1_pos: Option<u64>,
    },
    Status {
        user: UserId,
    },
    Leave {
        user: UserId,
    },
    HoldSeats {
        user: UserId,
        reservation: ReservationId,
        seats: Vec<SeatId>,
        idempotency_key: String,
    },
    HoldTickets {
        user: UserId,
        reservation: ReservationId,
        ticket_type: TicketTypeId,
        quantity: u32,
        idempotency_key: String,
    },
    Confirm {
        reservation: ReservationId,
    },
    Cancel {
        user: UserId,
        reservation: ReservationId,
    },
    Revive {
        user: UserId,
        reservation: ReservationId,
        seats: Vec<SeatId>,
    },
    Refund {
        reservation: ReservationId,
    },
    SeatStatuses,
    /// The compact seat map (`published_seats`).
    SeatState,
    Overview,
    UpdateSettings {
        settings: QueueSettings,
        on_sale: bool,
    },
}

/// What a call answers, one variant per kind of answer.
#[derive(Debug, Clone, PartialEq)]
pub enum EventAnswer {
    Queue(QueueView),
    Left(bool),
    Hold(HoldView),
    Done,
    Seats(Vec<(SeatId, SeatStatus)>),
    SeatState(SeatStateView),
    Overview(EventOverview),
}

impl EventCall {
    /// Whether the call may start the event (take its lease, start its actor). New
    /// settings only matter to an actor already running: one started later reads them
    /// from storage.
    pub fn starts_event(&self) -> bool {
        !matches!(self, EventCall::UpdateSettings { .. })
    }

    /// The call's name in logs and spans.
    pub fn name(&self) -> &'static str {
        match self {
            EventCall::Join { .. } => "join",
            EventCall::Status { .. } => "status",
            EventCall::Leave { .. } => "leave",
            EventCall::HoldSeats { .. } => "hold_seats",
            EventCall::HoldTickets { .. } => "hold_tickets",
            EventCall::Confirm { .. } => "confirm",
            EventCall::Cancel { .. } => "cancel",
            EventCall::Revive { .. } => "revive",
            EventCall::Refund { .. } => "refund",
            EventCall::SeatStatuses => "seat_statuses",
            EventCall::SeatState => "seat_state",
            EventCall::Overview => "overview",
            EventCall::UpdateSettings { .. } => "update_settings",
        }
    }

    /// A read that changes nothing and logs nothing.
    pub(super) fn is_quiet_read(&self) -> bool {
        matches!(
            self,
            EventCall::Status { .. }
                | EventCall::SeatStatuses
                | EventCall::SeatState
                | EventCall::Overview
        )
    }

    /// Asks the local actor, waiting at most `timeout`; the message carries the call's
    /// span (`trace.rs`).
    pub(super) async fn ask(
        self,
        actor: &ActorRef<EventMsg>,
        mailbox: &Mailbox,
        span: Span,
        timeout: Duration,
    ) -> Result<EventAnswer, EventError> {
        use EventAnswer as A;
        let ask = Asker {
            actor,
            mailbox,
            span,
            timeout,
        };
        match self {
            EventCall::Join { user, tier1_pos } => ask
                .ask(|reply| EventMsg::Join {
                    user,
                    tier1_pos,
                    reply,
                })
                .await
                .map(A::Queue),
            EventCall::Status { user } => ask
                .ask(|reply| EventMsg::Status { user, reply })
                .await
                .map(A::Queue),
            EventCall::Leave { user } => ask
                .ask(|reply| EventMsg::Leave { user, reply })
                .await
                .map(A::Left),
            EventCall::HoldSeats {
                user,
                reservation,
                seats,
                idempotency_key,
            } => ask
                .ask(|reply| EventMsg::HoldSeats {
                    user,
                    reservation,
                    seats,
                    idempotency_key,
                    reply,
                })
                .await
                .map(A::Hold),
            EventCall::HoldTickets {
                user,
                reservation,
                ticket_type,
                quantity,
                idempotency_key,
            } => ask
                .ask(|reply| EventMsg::HoldTickets {
                    user,
                    reservation,
                    ticket_type,
                    quantity,
                    idempotency_key,
                    reply,
                })
                .await
                .map(A::Hold),
            EventCall::Confirm { reservation } => ask
                .ask(|reply| EventMsg::Confirm { reservation, reply })
                .await
                .map(|()| A::Done),
            EventCall::Cancel { user, reservation } => ask
                .ask(|reply| EventMsg::Cancel {
                    user,
                    reservation,
                    reply,
                })
                .await
                .map(|()| A::Done),
            EventCall::Revive {
                user,
                reservation,
                seats,
            } => ask
                .ask(|reply| EventMsg::Revive {
                    user,
                    reservation,
                    seats,
                    reply,
                })
                .await
                .map(|()| A::Done),
            EventCall::Refund { reservation } => ask
                .ask(|reply| EventMsg::Refund { reservation, reply })
                .await
                .map(|()| A::Done),
            EventCall::SeatStatuses => ask
                .ask(|reply| EventMsg::SeatStatuses { reply })
                .await
                .map(A::Seats),
            EventCall::SeatState => ask
                .ask(|reply| EventMsg::SeatState { reply })
                .await
                .map(A::SeatState),
            EventCall::Overview => ask
                .ask(|reply| EventMsg::Overview { reply })
                .await
                .map(A::Overview),
            EventCall::UpdateSettings { settings, on_sale } => ask
                .ask(|reply| EventMsg::UpdateSettings {
                    settings,
                    on_sale,
                    reply,
                })
                .await
                .map(|()| A::Done),
        }
    }
}

impl EventAnswer {
    fn kind(&self) -> &'static str {
        match self {
            EventAnswer::Queue(_) => "queue",
            EventAnswer::Left(_) => "left",
            EventAnswer::Hold(_) => "hold",
            EventAnswer::Done => "done",
            EventAnswer::Seats(_) => "seats",
            EventAnswer::SeatState(_) => "seat_state",
            EventAnswer::Overview(_) => "overview",
        }
    }

    fn unexpected(self, wanted: &str) -> EventError {
        EventError::Unavailable(format!(
            "the event answered {} where {wanted} was expected",
            self.kind()
        ))
    }

    pub(super) fn queue(self) -> Result<QueueView, EventError> {
        match self {
            EventAnswer::Queue(view) => Ok(view),
            other => Err(other.unexpected("queue")),
        }
    }

    pub(super) fn left(self) -> Result<bool, EventError> {
        match self {
            EventAnswer::Left(left) => Ok(left),
            other => Err(other.unexpected("left")),
        }
    }

    pub(super) fn hold(self) -> Result<HoldView, EventError> {
        match self {
            EventAnswer::Hold(view) => Ok(view),
            other => Err(other.unexpected("hold")),
        }
    }

    pub(super) fn done(self) -> Result<(), EventError> {
        match self {
            EventAnswer::Done => Ok(()),
            other => Err(other.unexpected("done")),
        }
    }

    pub(super) fn seats(self) -> Result<Vec<(SeatId, SeatStatus)>, EventError> {
        match self {
            EventAnswer::Seats(seats) => Ok(seats),
            other => Err(other.unexpected("seats")),
        }
    }

    pub(super) fn seat_state(self) -> Result<SeatStateView, EventError> {
        match self {
            EventAnswer::SeatState(view) => Ok(view),
            other => Err(other.unexpected("seat_state")),
        }
    }

    pub(super) fn overview(self) -> Result<EventOverview, EventError> {
        match self {
            EventAnswer::Overview(overview) => Ok(overview),
            other => Err(other.unexpected("overview")),
        }
    }
}

/// One message to the local actor and the wait for its answer.
struct Asker<'a> {
    actor: &'a ActorRef<EventMsg>,
    /// Raised here, lowered by the actor as it takes the message up.
    mailbox: &'a Mailbox,
    span: Span,
    timeout: Duration,
}

impl Asker<'_> {
    async fn ask<T: Send + 'static>(
        self,
        build: impl FnOnce(Reply<T>) -> EventMsg,
    ) -> Result<T, EventError> {
        let span = self.span;
        self.mailbox.increment(1.0);
        let called = self
            .actor
            .call(|port| build(Reply::new(port, span)), Some(self.timeout))
            .await;
        match called {
            Ok(CallResult::Success(result)) => result,
            Ok(CallResult::Timeout) => Err(EventError::Unavailable(
                "the event did not answer in time".into(),
            )),
            Ok(CallResult::SenderError) => Err(EventError::Stopped),
            Err(_) => {
                // Never queued: the actor had stopped.
                self.mailbox.decrement(1.0);
                Err(EventError::Stopped)
            }
        }
    }
}
