//! The EventActor's durable record: Redis for seat locks, fencing tokens and the queue
//! log; PostgreSQL for reservations. [`PgRedisEventStore`] implements
//! [`urr_actors::ports::EventStore`] by handing each call to the file for what it stores:
//! the event as the actor starts from it (`snapshot`), seat locks (`locks`), holds being
//! placed (`holds`) and released (`releases`), sales (`sales`), statuses read or written
//! on their own (`status`) and the queue log (`queue_log`).
//!
//! A store bound to a fence ([`EventStore::fenced`]) checks the owner epoch at the start
//! of every transaction and script it runs (`crate::fencing`), refuses a zombie's write
//! with [`StoreFailure::Fenced`], counts the refusal and logs it.

mod holds;
mod locks;
mod queue_log;
mod record;
mod releases;
mod sales;
mod snapshot;
mod status;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use urr_actors::event::QueueSettings;
use urr_actors::ids::{FencingToken, ReservationId, SeatId};
use urr_actors::ownership::Fence;
use urr_actors::ports::{
    ConfirmOutcome, Ending, EventSnapshot, EventStore, InsertOutcome, LockOutcome, NewReservation,
    RecordedReservation, SaleRequest, StoreFailure, WaitingEntry,
};
use uuid::Uuid;

use crate::{Kv, StoreError};

pub use queue_log::read_queue_log;

pub struct PgRedisEventStore {
    db: PgPool,
    kv: Kv,
    /// Settings for events that have none stored.
    defaults: QueueSettings,
    /// The acquisition this store writes for; `None`: unfenced.
    fence: Option<Fence>,
    /// Writes refused by a fence, shared by every store bound from the same one.
    refused: Arc<AtomicU64>,
}

impl PgRedisEventStore {
    pub fn new(db: PgPool, kv: Kv, defaults: QueueSettings) -> Self {
        Self {
            db,
            kv,
            defaults,
            fence: None,
            refused: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Writes refused by a fence so far, by this store and every store bound from it.
    pub fn refused_writes(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// The counter behind [`refused_writes`](Self::refused_writes), for the node's
    /// published counters.
    pub fn refused_counter(&self) -> Arc<AtomicU64> {
        self.refused.clone()
    }

    fn fence(&self) -> Option<&Fence> {
        self.fence.as_ref()
    }

    fn epoch(&self) -> Option<u64> {
        self.fence.map(|f| f.epoch)
    }

    /// Counts and logs a write the fence refused; passes every result on.
    fn watch<T>(&self, what: &str, result: Result<T, StoreFailure>) -> Result<T, StoreFailure> {
        if let Err(StoreFailure::Fenced(fence)) = &result {
            let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(event = %fence.event_id, epoch = fence.epoch, write = what,
                refused, "fenced: a write with a stale owner epoch was refused");
        }
        result
    }
}

/// Store errors travel to the actor as text (it only logs them and fails the request),
/// except a fence's refusal, which the actor must tell apart.
fn failure(err: impl Into<StoreError>) -> StoreFailure {
    match err.into() {
        StoreError::Fenced { event, epoch } => StoreFailure::Fenced(Fence {
            event_id: event,
            epoch,
        }),
        other => StoreFailure::Unavailable(other.to_string()),
    }
}

#[async_trait]
impl EventStore for PgRedisEventStore {
    fn fenced(&self, fence: Fence) -> Arc<dyn EventStore> {
        Arc::new(Self {
            db: self.db.clone(),
            kv: self.kv.clone(),
            defaults: self.defaults,
            fence: Some(fence),
            refused: self.refused.clone(),
        })
    }

    async fn load(&self, event_id: Uuid) -> Result<Option<EventSnapshot>, StoreFailure> {
        snapshot::load(&self.db, event_id, self.defaults).await
    }

    async fn lock_seats(
        &self,
        event_id: Uuid,
        holds: &[(ReservationId, Vec<SeatId>)],
        ttl: Duration,
    ) -> Result<Vec<LockOutcome>, StoreFailure> {
        let locked = locks::lock(&self.kv, self.fence(), event_id, holds, ttl).await;
        self.watch("lock seats", locked)
    }

    async fn unlock_seats(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[SeatId],
    ) -> Result<(), StoreFailure> {
        let unlocked = locks::unlock(&self.kv, self.fence(), event_id, reservation, seats).await;
        self.watch("unlock seats", unlocked)?;
        crate::seat_releases::struck_off(&self.db, &[reservation.0])
            .await
            .map_err(failure)
    }

    async fn insert_pending(
        &self,
        reservations: &[NewReservation],
    ) -> Result<Vec<InsertOutcome>, StoreFailure> {
        let inserted = holds::insert_pending(&self.db, self.fence(), reservations).await;
        self.watch("insert holds", inserted)
    }

    async fn confirm(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[(SeatId, FencingToken)],
    ) -> Result<ConfirmOutcome, StoreFailure> {
        let confirmed = sales::confirm(
            &self.db,
            &self.kv,
            self.fence(),
            event_id,
            reservation,
            seats,
        )
        .await;
        self.watch("confirm", confirmed)
    }

    async fn confirm_many(
        &self,
        event_id: Uuid,
        sales: &[SaleRequest],
    ) -> Result<Vec<ConfirmOutcome>, StoreFailure> {
        let confirmed =
            sales::confirm_many(&self.db, &self.kv, self.fence(), event_id, sales).await;
        self.watch("confirm many", confirmed)
    }

    async fn finish(
        &self,
        reservation: ReservationId,
        ending: Ending,
        note: &str,
    ) -> Result<bool, StoreFailure> {
        let finished = releases::finish(&self.db, self.fence(), reservation, ending, note).await;
        self.watch("finish", finished)
    }

    async fn revive(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[(SeatId, FencingToken)],
        note: &str,
    ) -> Result<bool, StoreFailure> {
        let revived = sales::revive(
            &self.db,
            &self.kv,
            self.fence(),
            event_id,
            reservation,
            seats,
            note,
        )
        .await;
        self.watch("revive", revived)
    }

    async fn cancel_confirmed(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[SeatId],
        note: &str,
    ) -> Result<bool, StoreFailure> {
        let cancelled = sales::cancel_confirmed(
            &self.db,
            &self.kv,
            self.fence(),
            event_id,
            reservation,
            seats,
            note,
        )
        .await;
        self.watch("cancel confirmed", cancelled)
    }

    async fn reservation_record(
        &self,
        reservation: ReservationId,
    ) -> Result<Option<RecordedReservation>, StoreFailure> {
        status::reservation(&self.db, reservation).await
    }

    async fn clear_stray_locks(
        &self,
        event_id: Uuid,
        seats: &[SeatId],
        live: &[ReservationId],
    ) -> Result<usize, StoreFailure> {
        let cleared = locks::clear_stray(&self.kv, self.epoch(), event_id, seats, live).await;
        self.watch("clear stray locks", cleared)
    }

    async fn record_sold_out(&self, event_id: Uuid, sold_out: bool) -> Result<(), StoreFailure> {
        let recorded = status::record_sold_out(&self.db, self.fence(), event_id, sold_out).await;
        self.watch("record sold out", recorded)
    }

    async fn append_queue_log(
        &self,
        event_id: Uuid,
        records: &[Vec<u8>],
    ) -> Result<(), StoreFailure> {
        let appended = queue_log::append(&self.kv, event_id, self.epoch(), records)
            .await
            .map_err(failure);
        self.watch("append queue log", appended)
    }

    async fn load_queue_log(&self, event_id: Uuid) -> Result<Vec<Vec<u8>>, StoreFailure> {
        read_queue_log(&self.kv, event_id).await.map_err(failure)
    }

    async fn waiting_for_offer(
        &self,
        event_id: Uuid,
        limit: usize,
    ) -> Result<Vec<WaitingEntry>, StoreFailure> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        crate::waiting_list::waiting_for_offer(&self.db, event_id, limit)
            .await
            .map_err(failure)
    }

    async fn rewrite_queue_log(
        &self,
        event_id: Uuid,
        records: &[Vec<u8>],
    ) -> Result<(), StoreFailure> {
        let rewritten = queue_log::rewrite(&self.kv, event_id, self.epoch(), records)
            .await
            .map_err(failure);
        self.watch("rewrite queue log", rewritten)
    }

    async fn finish_many(
        &self,
        endings: &[(ReservationId, Ending)],
        note: &str,
    ) -> Result<Vec<bool>, StoreFailure> {
        let finished = releases::finish_many(&self.db, self.fence(), endings, note).await;
        self.watch("finish many", finished)
    }

    async fn unlock_many(
        &self,
        event_id: Uuid,
        holds: &[(ReservationId, Vec<SeatId>)],
    ) -> Result<(), StoreFailure> {
        let unlocked = locks::unlock_many(&self.kv, self.fence(), event_id, holds).await;
        self.watch("unlock many", unlocked)?;
        let reservations: Vec<Uuid> = holds.iter().map(|(r, _)| r.0).collect();
        crate::seat_releases::struck_off(&self.db, &reservations)
            .await
            .map_err(failure)
    }
}
