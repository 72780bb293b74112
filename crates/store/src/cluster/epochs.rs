//! Each event's owner and epoch in PostgreSQL, the system of record of ownership: every
//! acquisition raises the epoch by one (`docs/architecture.md#fencing`).

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::StoreError;

/// One acquisition, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acquired {
    pub epoch: u64,
    /// The node that owned the event before and never gave it back (it died, froze or
    /// was cut off owning it): this acquisition is a failover. `None` after a release,
    /// or for the event's first owner.
    pub failover_from: Option<String>,
}

/// Raises `event`'s epoch and names `node` (reached at `url`) its owner, in one
/// transaction. The `UPDATE` of the event's row waits for the old owner's transactions
/// that hold it `FOR SHARE`. `None` when there is no such event.
pub async fn acquire(
    db: &PgPool,
    event: Uuid,
    node: &str,
    url: &str,
) -> Result<Option<Acquired>, StoreError> {
    let mut tx = db.begin().await?;
    let previous: Option<(String, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT owner_node, released_at FROM event_owners WHERE event_id = $1 FOR UPDATE",
    )
    .bind(event)
    .fetch_optional(&mut *tx)
    .await?;
    let epoch: Option<i64> = sqlx::query_scalar(
        "INSERT INTO event_owners (event_id, owner_node, owner_url, epoch) \
         SELECT id, $2, $3, 1 FROM events WHERE id = $1 \
         ON CONFLICT (event_id) DO UPDATE SET epoch = event_owners.epoch + 1, \
         owner_node = EXCLUDED.owner_node, owner_url = EXCLUDED.owner_url, \
         acquired_at = now(), released_at = NULL \
         RETURNING epoch",
    )
    .bind(event)
    .bind(node)
    .bind(url)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(epoch) = epoch else {
        return Ok(None);
    };
    tx.commit().await?;
    Ok(Some(Acquired {
        epoch: u64::try_from(epoch).unwrap_or(0),
        failover_from: previous
            .filter(|(_, released)| released.is_none())
            .map(|(node, _)| node),
    }))
}

/// Records that the owner at `epoch` gave the event back (nothing when a newer owner
/// already took it).
pub async fn release(db: &PgPool, event: Uuid, epoch: u64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE event_owners SET released_at = now() \
         WHERE event_id = $1 AND epoch = $2 AND released_at IS NULL",
    )
    .bind(event)
    .bind(i64::try_from(epoch).unwrap_or(i64::MAX))
    .execute(db)
    .await?;
    Ok(())
}

/// The event's current epoch (0 when it was never owned).
pub async fn current(db: &PgPool, event: Uuid) -> Result<u64, StoreError> {
    let epoch: Option<i64> =
        sqlx::query_scalar("SELECT epoch FROM event_owners WHERE event_id = $1")
            .bind(event)
            .fetch_optional(db)
            .await?;
    Ok(epoch.map_or(0, |e| u64::try_from(e).unwrap_or(0)))
}

/// One event's ownership, for the operator.
#[derive(Debug, Clone, FromRow)]
pub struct OwnerRow {
    pub event_id: Uuid,
    pub title: String,
    pub owner_node: String,
    pub owner_url: String,
    pub epoch: i64,
    pub acquired_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
}

/// The most recently acquired events' owners, newest first.
pub async fn owners(db: &PgPool, limit: i64) -> Result<Vec<OwnerRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT o.event_id, e.title, o.owner_node, o.owner_url, o.epoch, o.acquired_at, \
         o.released_at FROM event_owners o JOIN events e ON e.id = o.event_id \
         ORDER BY o.acquired_at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await?)
}
