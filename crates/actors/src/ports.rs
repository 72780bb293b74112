//! What the EventActor needs from durable storage, as one small trait.
//!
//! The actor is the single writer of its event's seats and queue; these calls are its
//! durable record. Implementations live at the edge (`urr-store`: Redis for locks,
//! fencing tokens and the queue log; PostgreSQL for reservations).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::event::QueueSettings;
use crate::ids::{FencingToken, ReservationId, SeatId, TicketTypeId, UserId};
use crate::ownership::Fence;

/// Everything an actor loads when it starts.
#[derive(Debug, Clone)]
pub struct EventSnapshot {
    pub event_id: Uuid,
    /// Holds and joins are refused unless the event is on sale (or sold out: a refund
    /// can bring a seat back).
    pub on_sale: bool,
    /// The event's recorded status says sold out.
    pub sold_out: bool,
    pub settings: QueueSettings,
    /// Seats in layout order with their price.
    pub seats: Vec<(SeatId, i64)>,
    /// Counted ticket types: id, price, capacity (`None`: sold through the seat map).
    pub ticket_types: Vec<(TicketTypeId, i64, Option<u32>)>,
    /// Reservations that are pending or confirmed.
    pub live: Vec<LiveReservation>,
}

#[derive(Debug, Clone)]
pub struct LiveReservation {
    pub id: ReservationId,
    pub user: UserId,
    pub idempotency_key: String,
    /// `None` when confirmed.
    pub pending_until: Option<DateTime<Utc>>,
    pub seats: Vec<(SeatId, Option<FencingToken>)>,
    pub tickets: Option<(TicketTypeId, u32)>,
}

/// A hold to record as a `pending` reservation.
#[derive(Debug, Clone)]
pub struct NewReservation {
    pub id: ReservationId,
    pub event_id: Uuid,
    pub user: UserId,
    pub idempotency_key: String,
    pub expires_at: DateTime<Utc>,
    pub total_amount: i64,
    pub items: Vec<NewItem>,
}

#[derive(Debug, Clone)]
pub enum NewItem {
    Seat {
        seat: SeatId,
        price: i64,
        token: FencingToken,
    },
    Tickets {
        ticket_type: TicketTypeId,
        quantity: u32,
        unit_price: i64,
    },
}

/// The result of taking Redis seat locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    /// Every seat locked, with its new fencing token, in request order.
    Locked(Vec<FencingToken>),
    /// Some seats are locked by another owner; nothing was taken.
    Taken(Vec<SeatId>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted,
    /// This user already used the idempotency key for that reservation.
    DuplicateKey(ReservationId),
    /// Postgres refused: a seat already has a live reservation.
    SeatConflict,
}

/// A sale to make durable: the reservation and each of its seats' fencing token (none
/// for counted tickets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleRequest {
    pub reservation: ReservationId,
    pub seats: Vec<(SeatId, FencingToken)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Confirmed,
    /// These seats' locks now carry another token: someone re-took them.
    StaleToken(Vec<SeatId>),
    /// The reservation is no longer pending in Postgres.
    NotPending,
}

/// What PostgreSQL records a reservation as: the answer to an ambiguous "not pending".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Pending,
    Confirmed,
    /// Expired or cancelled.
    Ended,
}

/// A reservation as PostgreSQL records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedReservation {
    pub user: UserId,
    pub status: Recorded,
}

/// How a pending reservation ended without a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Cancelled,
    Expired,
}

/// A person on an event's waiting list who has not had an offer yet
/// (docs/waiting-list.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitingEntry {
    pub id: Uuid,
    pub user: UserId,
    /// Seats they want together.
    pub quantity: u32,
}

/// The idempotency key of the reservation that is a waiting-list entry's offer: the
/// offer is an ordinary hold, and this key ties it to the entry.
pub fn offer_key(entry: Uuid) -> String {
    format!("waitlist:{entry}")
}

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreFailure {
    /// A dependency failed; the actor answers `Unavailable` and keeps running.
    #[error("storage failure: {0}")]
    Unavailable(String),
    /// The write carried a stale epoch: another node has taken the event since, and the
    /// store refused it (`docs/architecture.md#fencing`). The actor that gets this is a
    /// zombie and stops.
    #[error("write refused: {0} is no longer the event's epoch")]
    Fenced(Fence),
}

impl StoreFailure {
    pub fn is_fenced(&self) -> bool {
        matches!(self, StoreFailure::Fenced(_))
    }
}

#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// This store bound to one acquisition of one event: every transaction and script it
    /// runs first checks that `fence` is still the event's epoch and refuses the write
    /// with [`StoreFailure::Fenced`] when a newer owner has raised it.
    fn fenced(&self, fence: Fence) -> Arc<dyn EventStore>;

    /// The event's seats, ticket types, settings and live reservations; `None` if unknown.
    async fn load(&self, event_id: Uuid) -> Result<Option<EventSnapshot>, StoreFailure>;

    /// For each hold, locks every one of its seats for its reservation with a fresh
    /// fencing token each, all or none per hold; one round trip for the whole batch.
    async fn lock_seats(
        &self,
        event_id: Uuid,
        holds: &[(ReservationId, Vec<SeatId>)],
        ttl: Duration,
    ) -> Result<Vec<LockOutcome>, StoreFailure>;

    /// Frees the seats' locks that `reservation` still owns.
    async fn unlock_seats(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[SeatId],
    ) -> Result<(), StoreFailure>;

    /// Records holds as `pending` reservations, one outcome per reservation, in as few
    /// transactions as the batch allows.
    async fn insert_pending(
        &self,
        reservations: &[NewReservation],
    ) -> Result<Vec<InsertOutcome>, StoreFailure>;

    /// Verifies each seat's fencing token is still the current one and, only then, makes
    /// the sale durable (locks permanent, reservation `confirmed`, seats `reserved`).
    async fn confirm(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[(SeatId, FencingToken)],
    ) -> Result<ConfirmOutcome, StoreFailure>;

    /// [`confirm`](Self::confirm) for many reservations in one transaction: the outcome
    /// of each, in order, as it would be alone. Those that do not check out are left as
    /// they are; an `Err` means none of them was written.
    async fn confirm_many(
        &self,
        event_id: Uuid,
        sales: &[SaleRequest],
    ) -> Result<Vec<ConfirmOutcome>, StoreFailure>;

    /// Ends a pending reservation; false if it was no longer pending.
    async fn finish(
        &self,
        reservation: ReservationId,
        ending: Ending,
        note: &str,
    ) -> Result<bool, StoreFailure>;

    /// Ends many pending reservations in one transaction, each as [`finish`](Self::finish)
    /// would (its outbox event included); per reservation, false if it was no longer
    /// pending.
    async fn finish_many(
        &self,
        endings: &[(ReservationId, Ending)],
        note: &str,
    ) -> Result<Vec<bool>, StoreFailure>;

    /// Frees the seat locks each reservation still owns, for many reservations in one
    /// round trip.
    async fn unlock_many(
        &self,
        event_id: Uuid,
        holds: &[(ReservationId, Vec<SeatId>)],
    ) -> Result<(), StoreFailure>;

    /// Completes an `expired` reservation whose payment arrived late, on locks just
    /// re-taken with `seats`' new tokens: verifies the tokens (marking the locks sold),
    /// makes it `confirmed` with live items and reserved seats, notes why in its history.
    /// False if it was not expired or a seat now has another live reservation.
    async fn revive(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[(SeatId, FencingToken)],
        note: &str,
    ) -> Result<bool, StoreFailure>;

    /// Ends a confirmed (sold) reservation after its refund: cancelled, its seats back to
    /// available, its locks freed. False if it was not confirmed.
    async fn cancel_confirmed(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[SeatId],
        note: &str,
    ) -> Result<bool, StoreFailure>;

    /// What PostgreSQL records `reservation` as; `None` if it has no row.
    async fn reservation_record(
        &self,
        reservation: ReservationId,
    ) -> Result<Option<RecordedReservation>, StoreFailure>;

    /// Deletes every seat lock of the event whose owner is not in `live` (the event's
    /// pending and confirmed reservations), each only if it still reads as it was read;
    /// returns how many were freed. A rebuilt actor calls it so that no lock outlives the
    /// chance of its reservation being written (`docs/architecture.md#fencing`).
    async fn clear_stray_locks(
        &self,
        event_id: Uuid,
        seats: &[SeatId],
        live: &[ReservationId],
    ) -> Result<usize, StoreFailure>;

    /// Records the event as sold out (`true`) or back on sale (`false`); only an event on
    /// sale becomes sold out and only a sold-out one goes back, so an operator's status
    /// (upcoming, ended, cancelled) is never overwritten.
    async fn record_sold_out(&self, event_id: Uuid, sold_out: bool) -> Result<(), StoreFailure>;

    /// Appends encoded queue-log records, in order, in one write.
    async fn append_queue_log(
        &self,
        event_id: Uuid,
        records: &[Vec<u8>],
    ) -> Result<(), StoreFailure>;

    async fn load_queue_log(&self, event_id: Uuid) -> Result<Vec<Vec<u8>>, StoreFailure>;

    /// The first `limit` people on the event's waiting list without an offer, in order.
    async fn waiting_for_offer(
        &self,
        event_id: Uuid,
        limit: usize,
    ) -> Result<Vec<WaitingEntry>, StoreFailure>;

    /// Replaces the log with a compacted one (same resulting queue).
    async fn rewrite_queue_log(
        &self,
        event_id: Uuid,
        records: &[Vec<u8>],
    ) -> Result<(), StoreFailure>;
}
