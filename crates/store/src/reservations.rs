//! Reading reservations (the actor writes them through the event store).

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use urr_wire::status::{HistoryStatus, ReservationStatus};
use uuid::Uuid;

use crate::StoreError;

#[derive(Debug, Clone, FromRow)]
pub struct Reservation {
    pub id: Uuid,
    pub user_id: Uuid,
    pub event_id: Uuid,
    pub event_title: String,
    #[sqlx(try_from = "String")]
    pub status: ReservationStatus,
    pub total_amount: i64,
    pub idempotency_key: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, FromRow)]
pub struct Item {
    pub reservation_id: Uuid,
    pub seat_id: Option<Uuid>,
    /// `SECTION-ROW-SEAT` for seats.
    pub seat_label: Option<String>,
    pub ticket_type_id: Option<Uuid>,
    pub ticket_type_name: Option<String>,
    pub quantity: i32,
    pub unit_price: i64,
}

const SELECT: &str = "SELECT r.id, r.user_id, r.event_id, e.title AS event_title, r.status, \
    r.total_amount, r.idempotency_key, r.expires_at, r.created_at, r.confirmed_at \
    FROM reservations r JOIN events e ON e.id = r.event_id";

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<(Reservation, Vec<Item>)>, StoreError> {
    let Some(reservation) = without_items(pool, id).await? else {
        return Ok(None);
    };
    let items = items(pool, &[id]).await?;
    Ok(Some((reservation, items)))
}

/// A reservation without its items, for a caller that needs only its terms.
pub async fn without_items(pool: &PgPool, id: Uuid) -> Result<Option<Reservation>, StoreError> {
    let sql = format!("{SELECT} WHERE r.id = $1");
    Ok(sqlx::query_as::<_, Reservation>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// A reservation's status alone, without its items: what a payment's completion looks at
/// between its steps.
pub async fn status(pool: &PgPool, id: Uuid) -> Result<Option<ReservationStatus>, StoreError> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM reservations WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(status.map(ReservationStatus::try_from).transpose()?)
}

/// The reservation a user made with an idempotency key, if any.
pub async fn find_by_key(pool: &PgPool, user: Uuid, key: &str) -> Result<Option<Uuid>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM reservations WHERE user_id = $1 AND idempotency_key = $2",
    )
    .bind(user)
    .bind(key)
    .fetch_optional(pool)
    .await?)
}

/// A user's reservations, newest first, with their items, and the total count.
pub async fn list_for_user(
    pool: &PgPool,
    user: Uuid,
    limit: i64,
    offset: i64,
) -> Result<(Vec<(Reservation, Vec<Item>)>, i64), StoreError> {
    let sql = format!(
        "{SELECT} WHERE r.user_id = $1 ORDER BY r.created_at DESC, r.id LIMIT $2 OFFSET $3"
    );
    let reservations = sqlx::query_as::<_, Reservation>(sqlx::AssertSqlSafe(sql))
        .bind(user)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM reservations WHERE user_id = $1")
        .bind(user)
        .fetch_one(pool)
        .await?;
    let ids: Vec<Uuid> = reservations.iter().map(|r| r.id).collect();
    let mut all_items = items(pool, &ids).await?;
    let listed = reservations
        .into_iter()
        .map(|r| {
            let mine = all_items
                .iter()
                .filter(|i| i.reservation_id == r.id)
                .cloned()
                .collect();
            (r, mine)
        })
        .collect();
    all_items.clear();
    Ok((listed, total))
}

/// The items of several reservations at once, in layout order.
pub async fn items(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<Item>, StoreError> {
    Ok(sqlx::query_as::<_, Item>(
        "SELECT i.reservation_id, i.seat_id, \
         sec.name || '-' || s.row_number || '-' || s.seat_number AS seat_label, \
         i.ticket_type_id, t.name AS ticket_type_name, i.quantity, i.unit_price \
         FROM reservation_items i \
         LEFT JOIN seats s ON s.id = i.seat_id \
         LEFT JOIN seat_sections sec ON sec.id = s.section_id \
         LEFT JOIN ticket_types t ON t.id = i.ticket_type_id \
         WHERE i.reservation_id = ANY($1) ORDER BY sec.sort_order, s.row_number, s.seat_number",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?)
}

/// How many live reservations hold each seat of an event: the oversell check, straight
/// from the system of record (every value must be 1).
pub async fn live_holders_per_seat(
    pool: &PgPool,
    event: Uuid,
) -> Result<Vec<(Uuid, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT i.seat_id, count(*) FROM reservation_items i \
         JOIN reservations r ON r.id = i.reservation_id \
         WHERE i.event_id = $1 AND i.seat_id IS NOT NULL AND r.status IN ('pending', 'confirmed') \
         GROUP BY i.seat_id",
    )
    .bind(event)
    .fetch_all(pool)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct HistoryEntry {
    #[sqlx(try_from = "String")]
    pub status: HistoryStatus,
    pub note: String,
    pub at: DateTime<Utc>,
}

/// What happened to a reservation, oldest first.
pub async fn history(pool: &PgPool, id: Uuid) -> Result<Vec<HistoryEntry>, StoreError> {
    Ok(sqlx::query_as::<_, HistoryEntry>(
        "SELECT status, note, at FROM reservation_history WHERE reservation_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?)
}
