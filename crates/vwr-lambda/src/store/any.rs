//! The store chosen at start-up by configuration, without boxing every call.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{BlockJoin, Claimed, DynamoStore, PositionRecord, RedisStore, RoomRecord, VwrStore};
use crate::VwrError;
use crate::domain::ids::EventId;
use crate::domain::room::RoomState;

#[derive(Clone)]
pub enum AnyStore {
    Redis(RedisStore),
    Dynamo(DynamoStore),
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Redis($store) => $call,
            AnyStore::Dynamo($store) => $call,
        }
    };
}

impl VwrStore for AnyStore {
    async fn room(&self, event: &EventId) -> Result<Option<RoomRecord>, VwrError> {
        delegate!(self, s => s.room(event).await)
    }

    async fn save_room(
        &self,
        event: &EventId,
        state: &RoomState,
        expected: Option<u64>,
    ) -> Result<bool, VwrError> {
        delegate!(self, s => s.save_room(event, state, expected).await)
    }

    async fn seal(&self, event: &EventId, seed: u64, expected: u64) -> Result<bool, VwrError> {
        delegate!(self, s => s.seal(event, seed, expected).await)
    }

    async fn claim_block(&self, event: &EventId, count: u64) -> Result<Option<u64>, VwrError> {
        delegate!(self, s => s.claim_block(event, count).await)
    }

    async fn put_positions(
        &self,
        event: &EventId,
        records: &[PositionRecord],
    ) -> Result<(), VwrError> {
        delegate!(self, s => s.put_positions(event, records).await)
    }

    fn keeps_places(&self) -> bool {
        delegate!(self, s => s.keeps_places())
    }

    async fn claim_places(
        &self,
        event: &EventId,
        joins: &[BlockJoin],
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<Claimed>>, VwrError> {
        delegate!(self, s => s.claim_places(event, joins, now).await)
    }

    async fn position(
        &self,
        event: &EventId,
        request_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<PositionRecord>, VwrError> {
        delegate!(self, s => s.position(event, request_id, now).await)
    }

    async fn place_of(
        &self,
        event: &EventId,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>, VwrError> {
        delegate!(self, s => s.place_of(event, user, now).await)
    }

    async fn keep_place(
        &self,
        event: &EventId,
        place: &PositionRecord,
        stale: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Uuid, VwrError> {
        delegate!(self, s => s.keep_place(event, place, stale, now).await)
    }

    async fn mark_claimed(
        &self,
        event: &EventId,
        request_id: Uuid,
        wave: Option<u64>,
    ) -> Result<bool, VwrError> {
        delegate!(self, s => s.mark_claimed(event, request_id, wave).await)
    }

    async fn wave_claims(
        &self,
        event: &EventId,
        waves: &[u64],
    ) -> Result<Vec<(u64, u64)>, VwrError> {
        delegate!(self, s => s.wave_claims(event, waves).await)
    }

    async fn use_once(
        &self,
        event: &EventId,
        token: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, VwrError> {
        delegate!(self, s => s.use_once(event, token, until).await)
    }

    async fn hit(
        &self,
        event: &EventId,
        counter: &str,
        window_start: i64,
    ) -> Result<u64, VwrError> {
        delegate!(self, s => s.hit(event, counter, window_start).await)
    }

    async fn rooms(&self) -> Result<Vec<EventId>, VwrError> {
        delegate!(self, s => s.rooms().await)
    }

    fn counter_writes(&self) -> u64 {
        delegate!(self, s => s.counter_writes())
    }
}
