//! The waiting list of a sold-out event (docs/waiting-list.md): joining, leaving, where a
//! person stands, and the next people the event's actor offers returned seats to.
//!
//! An entry's offer is the pending reservation of that user whose idempotency key is
//! `waitlist:<entry>` (`urr_actors::ports::offer_key`): the entry's state is read off it.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use urr_actors::ids::UserId;
use urr_actors::ports::WaitingEntry;
use urr_wire::status::ReservationStatus;
use uuid::Uuid;

use crate::StoreError;

/// An entry and, once it had one, its offer.
#[derive(Debug, Clone, FromRow)]
pub struct Entry {
    pub id: Uuid,
    pub event_id: Uuid,
    pub quantity: i32,
    pub joined_at: DateTime<Utc>,
    pub offer_id: Option<Uuid>,
    #[sqlx(try_from = "Option<String>")]
    pub offer_status: OfferStatus,
    pub offer_expires_at: Option<DateTime<Utc>>,
}

/// The offer's reservation status, if there is an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferStatus(pub Option<ReservationStatus>);

impl TryFrom<Option<String>> for OfferStatus {
    type Error = urr_wire::UnknownValue;

    fn try_from(value: Option<String>) -> Result<Self, Self::Error> {
        value.map(|s| s.parse()).transpose().map(OfferStatus)
    }
}

const ENTRY: &str = "SELECT w.id, w.event_id, w.quantity, w.joined_at, \
    r.id AS offer_id, r.status AS offer_status, r.expires_at AS offer_expires_at \
    FROM waiting_list w \
    LEFT JOIN reservations r ON r.user_id = w.user_id \
        AND r.idempotency_key = 'waitlist:' || w.id::text";

/// The caller's current entry at an event, if any.
pub async fn current(pool: &PgPool, event: Uuid, user: Uuid) -> Result<Option<Entry>, StoreError> {
    let sql = format!("{ENTRY} WHERE w.event_id = $1 AND w.user_id = $2 AND w.left_at IS NULL");
    Ok(sqlx::query_as::<_, Entry>(sqlx::AssertSqlSafe(sql))
        .bind(event)
        .bind(user)
        .fetch_optional(pool)
        .await?)
}

/// People ahead of an entry that still waits for an offer: those who joined before it
/// and have had none.
pub async fn ahead_of(pool: &PgPool, entry: &Entry) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM waiting_list w WHERE w.event_id = $1 AND w.left_at IS NULL \
         AND (w.joined_at, w.id) < ($2, $3) \
         AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.user_id = w.user_id \
             AND r.idempotency_key = 'waitlist:' || w.id::text)",
    )
    .bind(entry.event_id)
    .bind(entry.joined_at)
    .bind(entry.id)
    .fetch_one(pool)
    .await?)
}

/// Puts the user on the list wanting `quantity` seats. A user already on it keeps their
/// entry (and place); one whose offer ended (lapsed, declined, refunded) joins again at
/// the end. Answers the current entry.
pub async fn join(
    pool: &PgPool,
    event: Uuid,
    user: Uuid,
    quantity: i32,
) -> Result<(Entry, bool), StoreError> {
    let mut tx = pool.begin().await?;
    // Serialises one user's joins at one event (a double click).
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text || $2::text, 0))")
        .bind(event)
        .bind(user)
        .execute(&mut *tx)
        .await?;
    let sql = format!("{ENTRY} WHERE w.event_id = $1 AND w.user_id = $2 AND w.left_at IS NULL");
    let existing = sqlx::query_as::<_, Entry>(sqlx::AssertSqlSafe(sql))
        .bind(event)
        .bind(user)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(entry) = existing {
        let ended = matches!(
            entry.offer_status.0,
            Some(ReservationStatus::Expired | ReservationStatus::Cancelled)
        );
        if !ended {
            tx.commit().await?;
            return Ok((entry, false));
        }
        sqlx::query("UPDATE waiting_list SET left_at = now() WHERE id = $1")
            .bind(entry.id)
            .execute(&mut *tx)
            .await?;
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO waiting_list (id, event_id, user_id, quantity) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(event)
    .bind(user)
    .bind(quantity)
    .execute(&mut *tx)
    .await
    .map_err(|e| StoreError::unique_violation(e, "waiting list entry"))?;
    let sql = format!("{ENTRY} WHERE w.id = $1");
    let entry = sqlx::query_as::<_, Entry>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((entry, true))
}

/// Takes the user off the list; true if they were on it. An offer already made stays
/// theirs to pay or cancel.
pub async fn leave(pool: &PgPool, event: Uuid, user: Uuid) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "UPDATE waiting_list SET left_at = now() \
         WHERE event_id = $1 AND user_id = $2 AND left_at IS NULL",
    )
    .bind(event)
    .bind(user)
    .execute(pool)
    .await?
    .rows_affected()
        > 0)
}

#[derive(FromRow)]
struct Waiting {
    id: Uuid,
    user_id: Uuid,
    quantity: i32,
}

/// The first `limit` people on the list without an offer, in the order they joined.
pub async fn waiting_for_offer(
    pool: &PgPool,
    event: Uuid,
    limit: i64,
) -> Result<Vec<WaitingEntry>, StoreError> {
    let rows = sqlx::query_as::<_, Waiting>(
        "SELECT w.id, w.user_id, w.quantity FROM waiting_list w \
         WHERE w.event_id = $1 AND w.left_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.user_id = w.user_id \
             AND r.idempotency_key = 'waitlist:' || w.id::text) \
         ORDER BY w.joined_at, w.id LIMIT $2",
    )
    .bind(event)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| WaitingEntry {
            id: row.id,
            user: UserId::from(row.user_id),
            quantity: u32::try_from(row.quantity).unwrap_or(0),
        })
        .collect())
}

/// How many wait for an offer at an event (the operator's figure).
pub async fn waiting_count(pool: &PgPool, event: Uuid) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM waiting_list w WHERE w.event_id = $1 AND w.left_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.user_id = w.user_id \
             AND r.idempotency_key = 'waitlist:' || w.id::text)",
    )
    .bind(event)
    .fetch_one(pool)
    .await?)
}
