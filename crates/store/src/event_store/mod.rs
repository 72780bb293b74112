//! The EventActor's durable record: Redis for seat locks, fencing tokens and the queue
//! log; PostgreSQL for reservations. [`PgRedisEventStore`] implements
//! [`urr_actors::ports::EventStore`] by handing each call to the file for what it stores:
//! the event as the actor starts from it (`snapshot`), seat locks (`locks`), holds being
//! placed (`holds`) and released (`releases`), sales (`sales`), statuses read or written
//! on their own (`status`) and the queue log (`queue_log`).

mod holds;
mod locks;
mod queue_log;
mod record;
mod releases;
mod sales;
mod snapshot;
mod status;

use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use urr_actors::event::QueueSettings;
use urr_actors::ids::{FencingToken, ReservationId, SeatId};
use urr_actors::ports::{
    ConfirmOutcome, Ending, EventSnapshot, EventStore, InsertOutcome, LockOutcome, NewReservation,
    RecordedReservation, StoreFailure,
};
use uuid::Uuid;

use crate::{Kv, StoreError};

pub use queue_log::read_queue_log;

pub struct PgRedisEventStore {
    db: PgPool,
    kv: Kv,
    /// Settings for events that have none stored.
    defaults: QueueSettings,
}

impl PgRedisEventStore {
    pub fn new(db: PgPool, kv: Kv, defaults: QueueSettings) -> Self {
        Self { db, kv, defaults }
    }
}

/// Store errors travel to the actor as text: it only logs them and fails the request.
fn failure(err: impl Into<StoreError>) -> StoreFailure {
    StoreFailure(err.into().to_string())
}

#[async_trait]
impl EventStore for PgRedisEventStore {
    async fn load(&self, event_id: Uuid) -> Result<Option<EventSnapshot>, StoreFailure> {
        snapshot::load(&self.db, event_id, self.defaults).await
    }

    async fn lock_seats(
        &self,
        event_id: Uuid,
        holds: &[(ReservationId, Vec<SeatId>)],
        ttl: Duration,
    ) -> Result<Vec<LockOutcome>, StoreFailure> {
        locks::lock(&self.kv, event_id, holds, ttl).await
    }

    async fn unlock_seats(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[SeatId],
    ) -> Result<(), StoreFailure> {
        locks::unlock(&self.kv, event_id, reservation, seats).await?;
        crate::seat_releases::struck_off(&self.db, &[reservation.0])
            .await
            .map_err(failure)
    }

    async fn insert_pending(
        &self,
        reservations: &[NewReservation],
    ) -> Result<Vec<InsertOutcome>, StoreFailure> {
        holds::insert_pending(&self.db, reservations).await
    }

    async fn confirm(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[(SeatId, FencingToken)],
    ) -> Result<ConfirmOutcome, StoreFailure> {
        sales::confirm(&self.db, &self.kv, event_id, reservation, seats).await
    }

    async fn finish(
        &self,
        reservation: ReservationId,
        ending: Ending,
        note: &str,
    ) -> Result<bool, StoreFailure> {
        releases::finish(&self.db, reservation, ending, note).await
    }

    async fn revive(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[(SeatId, FencingToken)],
        note: &str,
    ) -> Result<bool, StoreFailure> {
        sales::revive(&self.db, &self.kv, event_id, reservation, seats, note).await
    }

    async fn cancel_confirmed(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[SeatId],
        note: &str,
    ) -> Result<bool, StoreFailure> {
        sales::cancel_confirmed(&self.db, &self.kv, event_id, reservation, seats, note).await
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
        locks::clear_stray(&self.kv, event_id, seats, live).await
    }

    async fn record_sold_out(&self, event_id: Uuid, sold_out: bool) -> Result<(), StoreFailure> {
        status::record_sold_out(&self.db, event_id, sold_out).await
    }

    async fn append_queue_log(
        &self,
        event_id: Uuid,
        records: &[Vec<u8>],
    ) -> Result<(), StoreFailure> {
        queue_log::append(&self.kv, event_id, records)
            .await
            .map_err(failure)
    }

    async fn load_queue_log(&self, event_id: Uuid) -> Result<Vec<Vec<u8>>, StoreFailure> {
        read_queue_log(&self.kv, event_id).await.map_err(failure)
    }

    async fn rewrite_queue_log(
        &self,
        event_id: Uuid,
        records: &[Vec<u8>],
    ) -> Result<(), StoreFailure> {
        queue_log::rewrite(&self.kv, event_id, records)
            .await
            .map_err(failure)
    }

    async fn finish_many(
        &self,
        endings: &[(ReservationId, Ending)],
        note: &str,
    ) -> Result<Vec<bool>, StoreFailure> {
        releases::finish_many(&self.db, endings, note).await
    }

    async fn unlock_many(
        &self,
        event_id: Uuid,
        holds: &[(ReservationId, Vec<SeatId>)],
    ) -> Result<(), StoreFailure> {
        locks::unlock_many(&self.kv, event_id, holds).await?;
        let reservations: Vec<Uuid> = holds.iter().map(|(r, _)| r.0).collect();
        crate::seat_releases::struck_off(&self.db, &reservations)
            .await
            .map_err(failure)
    }
}
