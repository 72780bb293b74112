//! Seat locks owed a release. Freeing sold seats (a refund, or the sweeper expiring a hold
//! whose locks were marked sold before a crash) writes the release here in the same
//! transaction, deletes the locks in Redis after the commit, and strikes the release off
//! once Redis has done it. When Redis fails in between, the reconciler retries until the
//! release lands: a sold lock has no expiry, and without this the seat would show free
//! and never be held again. Releasing is idempotent: a lock is deleted only while its
//! owner is still the reservation.

use std::time::Duration;

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::{Kv, StoreError, seat_locks};

/// Records that `reservation`'s locks on `seats` must be deleted (inside the transaction
/// that frees the seats).
pub(crate) async fn owe(
    tx: &mut Transaction<'_, Postgres>,
    reservation: Uuid,
    event: Uuid,
    seats: &[Uuid],
) -> Result<(), StoreError> {
    if seats.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO seat_releases_owed (reservation_id, event_id, seat_ids) \
         VALUES ($1, $2, $3) ON CONFLICT (reservation_id) DO UPDATE \
         SET seat_ids = (SELECT array_agg(DISTINCT s) FROM \
         unnest(seat_releases_owed.seat_ids || EXCLUDED.seat_ids) s), next_try_at = now()",
    )
    .bind(reservation)
    .bind(event)
    .bind(seats)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// [`owe`] for a batch of ended reservations of one event, in one statement.
pub(crate) async fn owe_many(
    tx: &mut Transaction<'_, Postgres>,
    event: Uuid,
    released: &[(Uuid, Uuid)],
) -> Result<(), StoreError> {
    if released.is_empty() {
        return Ok(());
    }
    let (reservations, seats): (Vec<Uuid>, Vec<Uuid>) = released.iter().copied().unzip();
    sqlx::query(
        "INSERT INTO seat_releases_owed (reservation_id, event_id, seat_ids) \
         SELECT reservation, $2, array_agg(seat) \
         FROM UNNEST($1::uuid[], $3::uuid[]) AS t(reservation, seat) GROUP BY reservation \
         ON CONFLICT (reservation_id) DO UPDATE \
         SET seat_ids = (SELECT array_agg(DISTINCT s) FROM \
         unnest(seat_releases_owed.seat_ids || EXCLUDED.seat_ids) s), next_try_at = now()",
    )
    .bind(&reservations)
    .bind(event)
    .bind(&seats)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Strikes off the releases of `reservations` once their locks are gone from Redis.
pub(crate) async fn struck_off(db: &PgPool, reservations: &[Uuid]) -> Result<(), StoreError> {
    if reservations.is_empty() {
        return Ok(());
    }
    sqlx::query("DELETE FROM seat_releases_owed WHERE reservation_id = ANY($1)")
        .bind(reservations)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes the locks in Redis, then strikes the release off.
pub async fn release(
    db: &PgPool,
    kv: &Kv,
    epoch: Option<u64>,
    reservation: Uuid,
    event: Uuid,
    seats: &[Uuid],
) -> Result<(), StoreError> {
    seat_locks::unlock(kv, event, epoch, reservation, seats).await?;
    sqlx::query("DELETE FROM seat_releases_owed WHERE reservation_id = $1")
        .bind(reservation)
        .execute(db)
        .await?;
    Ok(())
}

/// Retries up to `limit` owed releases that are due, one node each (`SKIP LOCKED`); a
/// failed one waits `base · 2^attempts` (at most `cap`). Returns how many landed.
pub async fn retry_due(
    db: &PgPool,
    kv: &Kv,
    limit: i64,
    base: Duration,
    cap: Duration,
) -> Result<usize, StoreError> {
    let mut tx = db.begin().await?;
    let due: Vec<(Uuid, Uuid, Vec<Uuid>)> = sqlx::query_as(
        "WITH due AS (SELECT reservation_id FROM seat_releases_owed WHERE next_try_at <= now() \
         ORDER BY next_try_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
         UPDATE seat_releases_owed o SET attempts = o.attempts + 1, next_try_at = now() + \
         make_interval(secs => LEAST($2 * power(2, LEAST(o.attempts, 20)), $3)) \
         FROM due WHERE o.reservation_id = due.reservation_id \
         RETURNING o.reservation_id, o.event_id, o.seat_ids",
    )
    .bind(limit)
    .bind(base.as_secs_f64())
    .bind(cap.as_secs_f64())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut landed = 0;
    for (reservation, event, seats) in due {
        match release(db, kv, None, reservation, event, &seats).await {
            Ok(()) => landed += 1,
            Err(err) => {
                tracing::warn!(%err, %reservation, "releasing seat locks failed; retrying later");
            }
        }
    }
    Ok(landed)
}

/// How many releases are still owed (tests and operators).
pub async fn owed(db: &PgPool) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM seat_releases_owed")
            .fetch_one(db)
            .await?,
    )
}
