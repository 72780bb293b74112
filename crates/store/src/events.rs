//! Events and their ticket types, with the seat layout they are sold from.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool, Postgres, Transaction};
use urr_wire::status::EventStatus;
use uuid::Uuid;

use crate::StoreError;

/// An event as listed: with its artist's name, its price range and its layout id.
#[derive(Debug, Clone, FromRow)]
pub struct EventSummary {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub artist_id: Option<Uuid>,
    pub artist_name: Option<String>,
    pub venue: String,
    pub address: String,
    pub starts_at: DateTime<Utc>,
    pub sale_starts_at: DateTime<Utc>,
    pub sale_ends_at: Option<DateTime<Utc>>,
    #[sqlx(try_from = "String")]
    pub status: EventStatus,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub seat_layout_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct TicketType {
    pub id: Uuid,
    pub name: String,
    pub price: i64,
    pub quantity: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct EventDetail {
    pub event: EventSummary,
    pub ticket_types: Vec<TicketType>,
    /// Members-only windows before the general sale, earliest first.
    pub presale_windows: Vec<crate::presales::PresaleWindow>,
}

#[derive(Debug, Clone)]
pub struct NewTicketType {
    pub name: String,
    pub price: i64,
    pub quantity: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct NewSection {
    pub name: String,
    pub rows: i32,
    pub seats_per_row: i32,
    pub price: i64,
}

/// An event to create, already validated by the caller.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub title: String,
    pub description: Option<String>,
    pub artist_id: Option<Uuid>,
    pub venue: String,
    pub address: String,
    pub starts_at: DateTime<Utc>,
    pub sale_starts_at: DateTime<Utc>,
    pub sale_ends_at: Option<DateTime<Utc>>,
    pub status: EventStatus,
    pub ticket_types: Vec<NewTicketType>,
    pub sections: Option<Vec<NewSection>>,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EventPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub artist_id: Option<Uuid>,
    pub venue: Option<String>,
    pub address: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub sale_starts_at: Option<DateTime<Utc>>,
    pub sale_ends_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub status: Option<EventStatus>,
    /// Case-insensitive substring of title, artist name, venue or address.
    pub q: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

const SUMMARY_SELECT: &str = "\
SELECT e.id, e.title, e.description, e.artist_id, a.name AS artist_name, e.venue, e.address,
       e.starts_at, e.sale_starts_at, e.sale_ends_at, e.status,
       p.min_price, p.max_price, lay.id AS seat_layout_id, e.created_at, e.updated_at
FROM events e
LEFT JOIN artists a ON a.id = e.artist_id
LEFT JOIN seat_layouts lay ON lay.event_id = e.id
LEFT JOIN LATERAL (
    SELECT min(price) AS min_price, max(price) AS max_price FROM (
        SELECT t.price FROM ticket_types t WHERE t.event_id = e.id
        UNION ALL
        SELECT s.price FROM seat_sections s WHERE s.layout_id = lay.id
    ) prices
) p ON true";

const FILTER: &str = "\
WHERE ($1::text IS NULL OR e.status = $1)
  AND ($2::text IS NULL OR e.title ILIKE $2 OR e.venue ILIKE $2 OR e.address ILIKE $2
       OR a.name ILIKE $2)";

/// One page of events sorted by sale start, and how many match in all.
pub async fn list(
    pool: &PgPool,
    filter: &EventFilter,
) -> Result<(Vec<EventSummary>, i64), StoreError> {
    let pattern = filter.q.as_deref().map(crate::like_pattern);
    let sql =
        format!("{SUMMARY_SELECT} {FILTER} ORDER BY e.sale_starts_at, e.id LIMIT $3 OFFSET $4");
    let status = filter.status.map(EventStatus::as_str);
    let events = sqlx::query_as::<_, EventSummary>(sqlx::AssertSqlSafe(sql))
        .bind(status)
        .bind(&pattern)
        .bind(filter.limit)
        .bind(filter.offset)
        .fetch_all(pool)
        .await?;
    let count_sql =
        format!("SELECT count(*) FROM events e LEFT JOIN artists a ON a.id = e.artist_id {FILTER}");
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql))
        .bind(status)
        .bind(&pattern)
        .fetch_one(pool)
        .await?;
    Ok((events, total))
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<EventDetail>, StoreError> {
    let mut conn = pool.acquire().await?;
    let sql = format!("{SUMMARY_SELECT} WHERE e.id = $1");
    let Some(event) = sqlx::query_as::<_, EventSummary>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let ticket_types = sqlx::query_as::<_, TicketType>(
        "SELECT id, name, price, quantity FROM ticket_types WHERE event_id = $1 \
         ORDER BY sort_order, id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let presale_windows = crate::presales::for_event(&mut *conn, id).await?;
    Ok(Some(EventDetail {
        event,
        ticket_types,
        presale_windows,
    }))
}

/// Creates the event, its ticket types, and its layout with one row per seat, in one
/// transaction: an event is never visible half-built.
pub async fn create(pool: &PgPool, new: &NewEvent) -> Result<EventDetail, StoreError> {
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO events (id, title, description, artist_id, venue, address, starts_at, \
         sale_starts_at, sale_ends_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(&new.title)
    .bind(&new.description)
    .bind(new.artist_id)
    .bind(&new.venue)
    .bind(&new.address)
    .bind(new.starts_at)
    .bind(new.sale_starts_at)
    .bind(new.sale_ends_at)
    .bind(new.status.as_str())
    .execute(&mut *tx)
    .await
    .map_err(foreign_key_is_artist)?;
    for (order, ticket_type) in new.ticket_types.iter().enumerate() {
        sqlx::query(
            "INSERT INTO ticket_types (id, event_id, name, price, quantity, sort_order) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(id)
        .bind(&ticket_type.name)
        .bind(ticket_type.price)
        .bind(ticket_type.quantity)
        .bind(i32::try_from(order).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
    }
    if let Some(sections) = &new.sections {
        insert_layout(&mut tx, id, sections).await?;
    }
    tx.commit().await?;
    get(pool, id).await?.ok_or(StoreError::NotFound)
}

async fn insert_layout(
    tx: &mut Transaction<'_, Postgres>,
    event_id: Uuid,
    sections: &[NewSection],
) -> Result<(), StoreError> {
    let layout_id = Uuid::now_v7();
    sqlx::query("INSERT INTO seat_layouts (id, event_id) VALUES ($1, $2)")
        .bind(layout_id)
        .bind(event_id)
        .execute(&mut **tx)
        .await?;
    for (order, section) in sections.iter().enumerate() {
        let section_id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO seat_sections (id, layout_id, name, rows, seats_per_row, price, \
             sort_order) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(section_id)
        .bind(layout_id)
        .bind(&section.name)
        .bind(section.rows)
        .bind(section.seats_per_row)
        .bind(section.price)
        .bind(i32::try_from(order).unwrap_or(i32::MAX))
        .execute(&mut **tx)
        .await
        .map_err(|e| StoreError::unique_violation(e, "section name"))?;
        // One statement per section: generate_series makes the rows server-side, so a
        // 10,000-seat section costs one round trip.
        sqlx::query(
            "INSERT INTO seats (id, event_id, section_id, row_number, seat_number, price) \
             SELECT gen_random_uuid(), $1, $2, r, n, $3 \
             FROM generate_series(1, $4) AS r, generate_series(1, $5) AS n",
        )
        .bind(event_id)
        .bind(section_id)
        .bind(section.price)
        .bind(section.rows)
        .bind(section.seats_per_row)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Applies `patch`; the sale window rule of the table still holds afterwards.
pub async fn update(
    pool: &PgPool,
    id: Uuid,
    patch: &EventPatch,
) -> Result<EventDetail, StoreError> {
    let updated = sqlx::query(
        "UPDATE events SET title = COALESCE($2, title), description = COALESCE($3, description), \
         artist_id = COALESCE($4, artist_id), venue = COALESCE($5, venue), \
         address = COALESCE($6, address), starts_at = COALESCE($7, starts_at), \
         sale_starts_at = COALESCE($8, sale_starts_at), \
         sale_ends_at = COALESCE($9, sale_ends_at), updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(&patch.title)
    .bind(&patch.description)
    .bind(patch.artist_id)
    .bind(&patch.venue)
    .bind(&patch.address)
    .bind(patch.starts_at)
    .bind(patch.sale_starts_at)
    .bind(patch.sale_ends_at)
    .execute(pool)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_check_violation() => StoreError::Conflict("sale window"),
        _ => foreign_key_is_artist(e),
    })?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(pool, id).await?.ok_or(StoreError::NotFound)
}

/// Changes the status. A cancelled event stays cancelled: tickets were refunded.
pub async fn set_status(
    pool: &PgPool,
    id: Uuid,
    status: EventStatus,
) -> Result<EventDetail, StoreError> {
    let current: Option<String> = sqlx::query_scalar(
        "UPDATE events SET status = $2, updated_at = now() \
         WHERE id = $1 AND (status <> 'cancelled' OR $2 = 'cancelled') \
         RETURNING status",
    )
    .bind(id)
    .bind(status.as_str())
    .fetch_optional(pool)
    .await?;
    if current.is_none() {
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM events WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
        return Err(match exists {
            Some(_) => StoreError::Conflict("event is cancelled"),
            None => StoreError::NotFound,
        });
    }
    get(pool, id).await?.ok_or(StoreError::NotFound)
}

fn foreign_key_is_artist(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::MissingReference("artist")
        }
        _ => StoreError::Database(err),
    }
}
