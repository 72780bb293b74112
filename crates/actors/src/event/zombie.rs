//! The store an owning actor writes through: the durable store bound to its fence, plus
//! the one reaction every refused write needs. A refusal means a newer owner exists, so
//! the actor is a zombie: the directory stops it at once (it must not go on answering
//! from a state another node now writes) and tells the cluster its lease is gone
//! (`docs/architecture.md#fencing`). The actor's own code only sees a failed write.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use super::directory::Inner;
use crate::ids::{FencingToken, ReservationId, SeatId};
use crate::ownership::Fence;
use crate::ports::{
    ConfirmOutcome, Ending, EventSnapshot, EventStore, InsertOutcome, LockOutcome, NewReservation,
    RecordedReservation, SaleRequest, StoreFailure, WaitingEntry,
};

pub(super) struct ZombieGuard {
    store: Arc<dyn EventStore>,
    fence: Fence,
    directory: Weak<Inner>,
}

impl ZombieGuard {
    pub(super) fn new(store: Arc<dyn EventStore>, fence: Fence, directory: Weak<Inner>) -> Self {
        Self {
            store,
            fence,
            directory,
        }
    }

    fn watch<T>(&self, result: Result<T, StoreFailure>) -> Result<T, StoreFailure> {
        if let Err(StoreFailure::Fenced(_)) = &result
            && let Some(directory) = self.directory.upgrade()
        {
            directory.fenced(self.fence);
        }
        result
    }
}

#[async_trait]
impl EventStore for ZombieGuard {
    fn fenced(&self, fence: Fence) -> Arc<dyn EventStore> {
        Arc::new(ZombieGuard::new(
            self.store.fenced(fence),
            fence,
            self.directory.clone(),
        ))
    }

    async fn load(&self, event_id: Uuid) -> Result<Option<EventSnapshot>, StoreFailure> {
        self.store.load(event_id).await
    }

    async fn reservation_record(
        &self,
        reservation: ReservationId,
    ) -> Result<Option<RecordedReservation>, StoreFailure> {
        self.store.reservation_record(reservation).await
    }

    async fn clear_stray_locks(
        &self,
        event_id: Uuid,
        seats: &[SeatId],
        live: &[ReservationId],
    ) -> Result<usize, StoreFailure> {
        self.watch(self.store.clear_stray_locks(event_id, seats, live).await)
    }

    async fn record_sold_out(&self, event_id: Uuid, sold_out: bool) -> Result<(), StoreFailure> {
        self.watch(self.store.record_sold_out(event_id, sold_out).await)
    }

    async fn lock_seats(
        &self,
        event_id: Uuid,
        holds: &[(ReservationId, Vec<SeatId>)],
        ttl: Duration,
    ) -> Result<Vec<LockOutcome>, StoreFailure> {
        self.watch(self.store.lock_seats(event_id, holds, ttl).await)
    }

    async fn unlock_seats(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[SeatId],
    ) -> Result<(), StoreFailure> {
        self.watch(self.store.unlock_seats(event_id, reservation, seats).await)
    }

    async fn insert_pending(
        &self,
        reservations: &[NewReservation],
    ) -> Result<Vec<InsertOutcome>, StoreFailure> {
        self.watch(self.store.insert_pending(reservations).await)
    }

    async fn confirm(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[(SeatId, FencingToken)],
    ) -> Result<ConfirmOutcome, StoreFailure> {
        self.watch(self.store.confirm(event_id, reservation, seats).await)
    }

    async fn confirm_many(
        &self,
        event_id: Uuid,
        sales: &[SaleRequest],
    ) -> Result<Vec<ConfirmOutcome>, StoreFailure> {
        self.watch(self.store.confirm_many(event_id, sales).await)
    }

    async fn finish(
        &self,
        reservation: ReservationId,
        ending: Ending,
        note: &str,
    ) -> Result<bool, StoreFailure> {
        self.watch(self.store.finish(reservation, ending, note).await)
    }

    async fn finish_many(
        &self,
        endings: &[(ReservationId, Ending)],
        note: &str,
    ) -> Result<Vec<bool>, StoreFailure> {
        self.watch(self.store.finish_many(endings, note).await)
    }

    async fn unlock_many(
        &self,
        event_id: Uuid,
        holds: &[(ReservationId, Vec<SeatId>)],
    ) -> Result<(), StoreFailure> {
        self.watch(self.store.unlock_many(event_id, holds).await)
    }

    async fn revive(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[(SeatId, FencingToken)],
        note: &str,
    ) -> Result<bool, StoreFailure> {
        self.watch(self.store.revive(event_id, reservation, seats, note).await)
    }

    async fn cancel_confirmed(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[SeatId],
        note: &str,
    ) -> Result<bool, StoreFailure> {
        self.watch(
            self.store
                .cancel_confirmed(event_id, reservation, seats, note)
                .await,
        )
    }

    async fn append_queue_log(
        &self,
        event_id: Uuid,
        records: &[Vec<u8>],
    ) -> Result<(), StoreFailure> {
        self.watch(self.store.append_queue_log(event_id, records).await)
    }

    async fn load_queue_log(&self, event_id: Uuid) -> Result<Vec<Vec<u8>>, StoreFailure> {
        self.store.load_queue_log(event_id).await
    }

    async fn waiting_for_offer(
        &self,
        event_id: Uuid,
        limit: usize,
    ) -> Result<Vec<WaitingEntry>, StoreFailure> {
        self.store.waiting_for_offer(event_id, limit).await
    }

    async fn rewrite_queue_log(
        &self,
        event_id: Uuid,
        records: &[Vec<u8>],
    ) -> Result<(), StoreFailure> {
        self.watch(self.store.rewrite_queue_log(event_id, records).await)
    }
}
