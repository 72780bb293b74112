//! Per-event queue and hold settings (admin-tunable), with defaults for events that have
//! none stored.

use std::time::Duration;

use sqlx::{FromRow, PgPool};
use urr_actors::event::QueueSettings;
use uuid::Uuid;

use crate::StoreError;

#[derive(FromRow)]
struct Row {
    enabled: bool,
    threshold: i32,
    batch: i32,
    tick_ms: i32,
    active_ttl_secs: i32,
    queue_ttl_secs: i32,
    hold_ttl_secs: i32,
    max_seats_per_hold: i32,
    max_seats_per_user: Option<i32>,
    waitlist_offer_secs: i32,
}

fn from_row(row: Row) -> QueueSettings {
    let secs = |s: i32| Duration::from_secs(u64::try_from(s).unwrap_or(1));
    QueueSettings {
        enabled: row.enabled,
        threshold: u32::try_from(row.threshold).unwrap_or(1),
        batch: u32::try_from(row.batch).unwrap_or(1),
        tick: Duration::from_millis(u64::try_from(row.tick_ms).unwrap_or(1000)),
        active_ttl: secs(row.active_ttl_secs),
        queue_ttl: secs(row.queue_ttl_secs),
        hold_ttl: secs(row.hold_ttl_secs),
        max_seats_per_hold: u32::try_from(row.max_seats_per_hold).unwrap_or(1),
        max_seats_per_user: row
            .max_seats_per_user
            .map(|n| u32::try_from(n).unwrap_or(1)),
        waitlist_offer_ttl: secs(row.waitlist_offer_secs),
    }
}

/// The stored settings of an event, if any.
pub async fn get(pool: &PgPool, event: Uuid) -> Result<Option<QueueSettings>, StoreError> {
    let row = sqlx::query_as::<_, Row>(
        "SELECT enabled, threshold, batch, tick_ms, active_ttl_secs, queue_ttl_secs, \
         hold_ttl_secs, max_seats_per_hold, max_seats_per_user, waitlist_offer_secs \
         FROM event_queue_settings \
         WHERE event_id = $1",
    )
    .bind(event)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(from_row))
}

pub async fn put(pool: &PgPool, event: Uuid, s: &QueueSettings) -> Result<(), StoreError> {
    let secs = |d: Duration| i32::try_from(d.as_secs()).unwrap_or(i32::MAX);
    sqlx::query(
        "INSERT INTO event_queue_settings (event_id, enabled, threshold, batch, tick_ms, \
         active_ttl_secs, queue_ttl_secs, hold_ttl_secs, max_seats_per_hold, \
         max_seats_per_user, waitlist_offer_secs) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (event_id) DO UPDATE SET enabled = $2, threshold = $3, batch = $4, \
         tick_ms = $5, active_ttl_secs = $6, queue_ttl_secs = $7, hold_ttl_secs = $8, \
         max_seats_per_hold = $9, max_seats_per_user = $10, waitlist_offer_secs = $11, \
         updated_at = now()",
    )
    .bind(event)
    .bind(s.enabled)
    .bind(i32::try_from(s.threshold).unwrap_or(i32::MAX))
    .bind(i32::try_from(s.batch).unwrap_or(i32::MAX))
    .bind(i32::try_from(s.tick.as_millis()).unwrap_or(i32::MAX))
    .bind(secs(s.active_ttl))
    .bind(secs(s.queue_ttl))
    .bind(secs(s.hold_ttl))
    .bind(i32::try_from(s.max_seats_per_hold).unwrap_or(i32::MAX))
    .bind(
        s.max_seats_per_user
            .map(|n| i32::try_from(n.clamp(1, 1000)).unwrap_or(1000)),
    )
    .bind(secs(s.waitlist_offer_ttl).max(1))
    .execute(pool)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Database(e),
    })?;
    Ok(())
}
