//! Seat locks and their fencing tokens in Redis, in the actor's terms.

use std::collections::HashSet;
use std::time::Duration;

use urr_actors::ids::{FencingToken, ReservationId, SeatId};
use urr_actors::ownership::Fence;
use urr_actors::ports::{LockOutcome, StoreFailure};
use uuid::Uuid;

use super::failure;
use crate::{Kv, seat_locks};

pub(super) async fn lock(
    kv: &Kv,
    fence: Option<&Fence>,
    event_id: Uuid,
    holds: &[(ReservationId, Vec<SeatId>)],
    ttl: Duration,
) -> Result<Vec<LockOutcome>, StoreFailure> {
    let requests: Vec<(Uuid, Vec<Uuid>)> = holds
        .iter()
        .map(|(r, seats)| (r.0, seats.iter().map(|s| s.0).collect()))
        .collect();
    let results = seat_locks::lock(kv, event_id, fence.map(|f| f.epoch), &requests, ttl)
        .await
        .map_err(failure)?;
    Ok(results
        .into_iter()
        .zip(holds)
        .map(|(result, (_, seats))| match result {
            Ok(tokens) => LockOutcome::Locked(tokens.into_iter().map(FencingToken).collect()),
            Err(taken) => LockOutcome::Taken(
                taken
                    .into_iter()
                    .filter_map(|i| seats.get(i).copied())
                    .collect(),
            ),
        })
        .collect())
}

pub(super) async fn unlock(
    kv: &Kv,
    fence: Option<&Fence>,
    event_id: Uuid,
    reservation: ReservationId,
    seats: &[SeatId],
) -> Result<(), StoreFailure> {
    let ids: Vec<Uuid> = seats.iter().map(|s| s.0).collect();
    seat_locks::unlock(kv, event_id, fence.map(|f| f.epoch), reservation.0, &ids)
        .await
        .map_err(failure)
}

/// Frees the locks of many holds in one script call (the tick's batch of lapsed holds).
pub(super) async fn unlock_many(
    kv: &Kv,
    fence: Option<&Fence>,
    event_id: Uuid,
    holds: &[(ReservationId, Vec<SeatId>)],
) -> Result<(), StoreFailure> {
    let holds: Vec<(Uuid, Vec<Uuid>)> = holds
        .iter()
        .map(|(r, seats)| (r.0, seats.iter().map(|s| s.0).collect()))
        .collect();
    seat_locks::unlock_many(kv, event_id, fence.map(|f| f.epoch), &holds)
        .await
        .map_err(failure)
}

/// Deletes every lock of the event's `seats` whose owner is not a `live` reservation,
/// compare-and-delete, so a lock taken again after it was read stays. A value no owner can
/// be read from is no live reservation's either, and goes too.
pub(super) async fn clear_stray(
    kv: &Kv,
    epoch: Option<u64>,
    event_id: Uuid,
    seats: &[SeatId],
    live: &[ReservationId],
) -> Result<usize, StoreFailure> {
    let ids: Vec<Uuid> = seats.iter().map(|s| s.0).collect();
    let values = seat_locks::read_many(kv, event_id, &ids)
        .await
        .map_err(failure)?;
    let live: HashSet<Uuid> = live.iter().map(|r| r.0).collect();
    let stray: Vec<(Uuid, String)> = ids
        .into_iter()
        .zip(values)
        .filter_map(|(seat, value)| {
            let value = value?;
            let owned = seat_locks::owner_of(&value).is_some_and(|owner| live.contains(&owner));
            (!owned).then_some((seat, value))
        })
        .collect();
    if stray.is_empty() {
        return Ok(0);
    }
    seat_locks::delete_unchanged(kv, event_id, epoch, &stray)
        .await
        .map_err(failure)
}
