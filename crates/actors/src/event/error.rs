use crate::ids::SeatId;

/// Why an event call was refused. Travels in the reply, so the actor keeps running.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event not found")]
    EventNotFound,
    #[error("event is not on sale")]
    NotOnSale,
    #[error("seats are taken")]
    SeatsTaken(Vec<SeatId>),
    #[error("unknown seats for this event")]
    UnknownSeats(Vec<SeatId>),
    #[error("a seat was requested twice")]
    DuplicateSeats(Vec<SeatId>),
    #[error("at most {max} per reservation")]
    TooMany { max: usize },
    #[error("nothing requested")]
    Empty,
    /// The user's seats (or tickets) at this event, held or bought, would pass the
    /// per-user limit.
    #[error("at most {max} per person for this event; {owned} already held or bought")]
    UserLimit { max: u32, owned: u32 },
    /// The event's queue is on and the user is not admitted now (never admitted, left
    /// the line, or their turn ended or lapsed), whatever entry token they still hold.
    #[error("not admitted to this event now: wait in the queue first")]
    NotAdmitted,
    #[error("unknown ticket type for this event")]
    UnknownTicketType,
    #[error("not enough tickets left")]
    SoldOut,
    #[error("reservation not found")]
    ReservationNotFound,
    #[error("reservation is not pending")]
    NotPending,
    #[error("the hold has expired")]
    HoldExpired,
    #[error("a seat lock was re-taken: stale fencing token")]
    StaleFencingToken(Vec<SeatId>),
    #[error("the queue is full")]
    QueueFull,
    #[error("this event sells through its seat map")]
    HasSeatMap,
    /// The same idempotency key already made this reservation.
    #[error("reservation {0} already made with this key")]
    DuplicateRequest(crate::ids::ReservationId),
    /// The actor stopped between lookup and call; the caller may retry.
    #[error("event actor stopped")]
    Stopped,
    /// A forwarded call reached a node that does not own the event (ownership moved);
    /// the forwarder looks the owner up afresh and may retry.
    #[error("this node does not own the event")]
    NotOwner,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}
