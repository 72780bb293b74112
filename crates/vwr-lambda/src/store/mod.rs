//! Where a room lives: the [`VwrStore`] trait and its two homes, Redis (inside the edge)
//! and DynamoDB (behind API Gateway). Both give the same atomicity: the join counter moves
//! only while the room is active, room settings change by compare-and-set on a version,
//! the pre-queue seal reads the counter in the same write that seals it, a user's one
//! place in a room is recorded by a conditional write that only the first join wins, a
//! challenge is marked used by a conditional write too, and join limits are atomic
//! counters.

mod any;
pub mod dynamo;
pub mod redis;

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use any::AnyStore;
pub use dynamo::{DynamoStore, DynamoTables};
pub use redis::RedisStore;

use crate::VwrError;
use crate::domain::ids::EventId;
use crate::domain::room::{RoomState, Seal};

/// A room as stored: the settings and bookkeeping, the join counter, the seal.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomRecord {
    pub state: RoomState,
    /// The last join ticket handed out (`nextPosition` in the API).
    pub next_position: u64,
    pub seal: Option<Seal>,
    /// Bumped by every settings write, for compare-and-set.
    pub version: u64,
}

/// One join: who, which ticket, until when the record lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionRecord {
    pub request_id: Uuid,
    pub user_id: String,
    pub ticket: u64,
    pub expires_at: DateTime<Utc>,
}

/// One join of a block ([`VwrStore::claim_places`]): who, the request id a new place
/// gets, and until when it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockJoin {
    pub user_id: String,
    pub request_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// What a block write did with one join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// A new ticket, its position record stored and kept as the user's one place.
    Placed(PositionRecord),
    /// A new ticket and its position record stored; the user's place is still to be kept
    /// ([`VwrStore::keep_place`]).
    Recorded(PositionRecord),
    /// The user already holds this live place (its position record exists): no ticket
    /// was taken.
    Held(Uuid),
}

/// The operations the waiting room needs from a store. Every method is one atomic step
/// in the store; anything composite is built above the trait.
pub trait VwrStore: Clone + Send + Sync + 'static {
    fn room(
        &self,
        event: &EventId,
    ) -> impl Future<Output = Result<Option<RoomRecord>, VwrError>> + Send;

    /// Writes the settings if the stored version is `expected` (`None`: only if the room
    /// does not exist yet). `false` when another writer got there first.
    fn save_room(
        &self,
        event: &EventId,
        state: &RoomState,
        expected: Option<u64>,
    ) -> impl Future<Output = Result<bool, VwrError>> + Send;

    /// Seals the pre-queue at the counter's current value with `seed`, if the version is
    /// still `expected` and no seal exists. `false` when it lost a race.
    fn seal(
        &self,
        event: &EventId,
        seed: u64,
        expected: u64,
    ) -> impl Future<Output = Result<bool, VwrError>> + Send;

    /// Hands out the next `count` tickets in one counter write, only while the room is
    /// active: returns the last ticket of the block, or `None` when the room is off.
    fn claim_block(
        &self,
        event: &EventId,
        count: u64,
    ) -> impl Future<Output = Result<Option<u64>, VwrError>> + Send;

    fn put_positions(
        &self,
        event: &EventId,
        records: &[PositionRecord],
    ) -> impl Future<Output = Result<(), VwrError>> + Send;

    /// Whether [`Self::claim_places`] keeps each join's place in the same atomic step
    /// (and answers the join of someone who holds a live place with that place): a join
    /// then needs no [`Self::place_of`] beforehand, nor a [`Self::keep_place`] after.
    fn keeps_places(&self) -> bool {
        false
    }

    /// Tickets for a block of joins, in order, only while the room is active (`None`
    /// when it is off). Here: one counter write for the whole block, then its position
    /// records in one batch, each [`Claimed::Recorded`]. A store that
    /// [`Self::keeps_places`] does it all in one atomic step and also keeps the places.
    fn claim_places(
        &self,
        event: &EventId,
        joins: &[BlockJoin],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Vec<Claimed>>, VwrError>> + Send {
        let _ = now;
        async move {
            let count = joins.len() as u64;
            let Some(last) = self.claim_block(event, count).await? else {
                return Ok(None);
            };
            let first = last + 1 - count;
            let records: Vec<PositionRecord> = joins
                .iter()
                .zip(first..=last)
                .map(|(join, ticket)| PositionRecord {
                    request_id: join.request_id,
                    user_id: join.user_id.clone(),
                    ticket,
                    expires_at: join.expires_at,
                })
                .collect();
            self.put_positions(event, &records).await?;
            Ok(Some(records.into_iter().map(Claimed::Recorded).collect()))
        }
    }

    /// The join `request_id`, unless it is unknown or has expired by `now`.
    fn position(
        &self,
        event: &EventId,
        request_id: Uuid,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<PositionRecord>, VwrError>> + Send;

    /// The request id of the place `user` holds in the room, unless none or it has
    /// expired by `now`.
    fn place_of(
        &self,
        event: &EventId,
        user: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Uuid>, VwrError>> + Send;

    /// Records `place` (a join's position record, already stored) as `user`'s one place in
    /// the room, unless they hold another live one; a held place equal to `stale` (one
    /// whose position record is gone) does not count. Returns the request id the user
    /// holds afterwards: `place.request_id`, or the earlier one that won.
    fn keep_place(
        &self,
        event: &EventId,
        place: &PositionRecord,
        stale: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Uuid, VwrError>> + Send;

    /// Records that an admitted join came back for its token, counting it to `wave` the
    /// first time only. `true` on that first time.
    fn mark_claimed(
        &self,
        event: &EventId,
        request_id: Uuid,
        wave: Option<u64>,
    ) -> impl Future<Output = Result<bool, VwrError>> + Send;

    /// How many positions of each wave came back for a token.
    fn wave_claims(
        &self,
        event: &EventId,
        waves: &[u64],
    ) -> impl Future<Output = Result<Vec<(u64, u64)>, VwrError>> + Send;

    /// Marks `token` (a proof-of-work challenge's nonce) used in `event`'s room until
    /// `until`, when the challenge has expired anyway. `true` the first time only: the
    /// one-use rule of `docs/architecture.md#bot-defence-at-tier-1`.
    fn use_once(
        &self,
        event: &EventId,
        token: &str,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, VwrError>> + Send;

    /// Counts one join attempt on `counter` (an address's or an account's) in the fixed
    /// window starting at `window_start` (Unix seconds): the attempts in that window so
    /// far, this one included. The count outlives its window a little, then vanishes.
    fn hit(
        &self,
        event: &EventId,
        counter: &str,
        window_start: i64,
    ) -> impl Future<Output = Result<u64, VwrError>> + Send;

    /// Every event that has a room, for the advancer.
    fn rooms(&self) -> impl Future<Output = Result<Vec<EventId>, VwrError>> + Send;

    /// Counter writes made by this handle since it was created; the measure of how far
    /// block claiming gets past one item's write limit.
    fn counter_writes(&self) -> u64;
}
