//! Finishes what a crashed actor left: pending reservations well past their expiry are
//! expired in Postgres (`FOR UPDATE SKIP LOCKED`, so several nodes can sweep at once) and
//! their Redis locks freed (owed until freed, see `seat_releases`). A live actor expires
//! its own holds first, on its own clock; the grace period keeps the sweeper out of its
//! way.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::{Kv, StoreError, seat_releases};

/// Expires up to `limit` abandoned holds; returns how many.
pub async fn sweep(db: &PgPool, kv: &Kv, grace: Duration, limit: i64) -> Result<usize, StoreError> {
    let mut tx = db.begin().await?;
    let grace_secs = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
    let expired: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "WITH doomed AS (SELECT id FROM reservations WHERE status = 'pending' \
         AND expires_at < now() - make_interval(secs => $1) ORDER BY expires_at LIMIT $2 \
         FOR UPDATE SKIP LOCKED) \
         UPDATE reservations r SET status = 'expired', updated_at = now() FROM doomed \
         WHERE r.id = doomed.id RETURNING r.id, r.event_id",
    )
    .bind(grace_secs as f64)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if expired.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = expired.iter().map(|(id, _)| *id).collect();
    let seats: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "UPDATE reservation_items SET live = false WHERE reservation_id = ANY($1) \
         RETURNING reservation_id, seat_id",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await
    .map(|rows: Vec<(Uuid, Option<Uuid>)>| {
        rows.into_iter()
            .filter_map(|(r, s)| s.map(|s| (r, s)))
            .collect()
    })?;
    sqlx::query(
        "INSERT INTO reservation_history (reservation_id, status, note) \
         SELECT unnest($1::uuid[]), 'expired', 'expired by the sweeper'",
    )
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    let owned = |reservation: Uuid| -> Vec<Uuid> {
        seats
            .iter()
            .filter(|(r, _)| *r == reservation)
            .map(|(_, s)| *s)
            .collect()
    };
    // A crash between marking a hold's locks sold and committing its confirmation leaves
    // sold locks (no expiry) on a pending hold: their release is owed until it lands.
    for (reservation, event) in &expired {
        seat_releases::owe(&mut tx, *reservation, *event, &owned(*reservation)).await?;
    }
    tx.commit().await?;
    for (reservation, event) in &expired {
        let seats = owned(*reservation);
        if let Err(err) = seat_releases::release(db, kv, None, *reservation, *event, &seats).await {
            tracing::warn!(%err, %reservation, "sweeper could not free locks; the reconciler retries");
        }
    }
    tracing::info!(count = expired.len(), "sweeper expired abandoned holds");
    Ok(expired.len())
}
