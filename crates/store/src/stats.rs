//! Per-event sales figures, applied from bus events exactly once: the consumer's
//! `processed_events` row and the counter change commit in one transaction, so a
//! redelivered event changes nothing.

use sqlx::{FromRow, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::StoreError;

/// One event's effect on the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatChange {
    Confirmed {
        amount: i64,
    },
    Cancelled,
    Expired,
    Refunded {
        amount: i64,
    },
    /// A ticket changed hands; `revenue` is what the sale's figure gains (the buyer's
    /// price when the seller was refunded, nothing when the seller is paid out).
    Transferred {
        revenue: i64,
    },
}

#[derive(Debug, Clone, Default, FromRow)]
pub struct EventStats {
    pub confirmed: i64,
    pub cancelled: i64,
    pub expired: i64,
    pub refunded: i64,
    pub revenue: i64,
    pub refunded_amount: i64,
    pub transfers: i64,
}

/// Applies `change` inside the consumer's transaction, which also records that the bus
/// event was processed: both commit together, or neither does.
pub async fn apply(
    tx: &mut Transaction<'_, Postgres>,
    event: Uuid,
    change: StatChange,
) -> Result<(), StoreError> {
    let (confirmed, cancelled, expired, refunded, revenue, refunded_amount, transfers) =
        match change {
            StatChange::Confirmed { amount } => (1, 0, 0, 0, amount, 0, 0),
            StatChange::Cancelled => (0, 1, 0, 0, 0, 0, 0),
            StatChange::Expired => (0, 0, 1, 0, 0, 0, 0),
            StatChange::Refunded { amount } => (0, 0, 0, 1, -amount, amount, 0),
            StatChange::Transferred { revenue } => (0, 0, 0, 0, revenue, 0, 1),
        };
    sqlx::query(
        "INSERT INTO event_stats (event_id, confirmed, cancelled, expired, refunded, revenue, \
         refunded_amount, transfers) SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS \
         (SELECT 1 FROM events WHERE id = $1) \
         ON CONFLICT (event_id) DO UPDATE SET \
         confirmed = event_stats.confirmed + $2, cancelled = event_stats.cancelled + $3, \
         expired = event_stats.expired + $4, refunded = event_stats.refunded + $5, \
         revenue = event_stats.revenue + $6, \
         refunded_amount = event_stats.refunded_amount + $7, \
         transfers = event_stats.transfers + $8, updated_at = now()",
    )
    .bind(event)
    .bind(confirmed)
    .bind(cancelled)
    .bind(expired)
    .bind(refunded)
    .bind(revenue)
    .bind(refunded_amount)
    .bind(transfers)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn for_event(pool: &PgPool, event: Uuid) -> Result<EventStats, StoreError> {
    Ok(sqlx::query_as::<_, EventStats>(
        "SELECT confirmed, cancelled, expired, refunded, revenue, refunded_amount, \
         transfers FROM event_stats WHERE event_id = $1",
    )
    .bind(event)
    .fetch_optional(pool)
    .await?
    .unwrap_or_default())
}

/// Totals over every event, and how many events have figures.
pub async fn overview(pool: &PgPool) -> Result<(EventStats, i64), StoreError> {
    let row: (i64, i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COALESCE(sum(confirmed), 0)::bigint, COALESCE(sum(cancelled), 0)::bigint, \
         COALESCE(sum(expired), 0)::bigint, COALESCE(sum(refunded), 0)::bigint, \
         COALESCE(sum(revenue), 0)::bigint, COALESCE(sum(refunded_amount), 0)::bigint, \
         count(*), COALESCE(sum(transfers), 0)::bigint FROM event_stats",
    )
    .fetch_one(pool)
    .await?;
    Ok((
        EventStats {
            confirmed: row.0,
            cancelled: row.1,
            expired: row.2,
            refunded: row.3,
            revenue: row.4,
            refunded_amount: row.5,
            transfers: row.7,
        },
        row.6,
    ))
}
