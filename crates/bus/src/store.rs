//! The bus's SQL: claiming outbox rows for the relay and recording processed events.

use sqlx::{PgConnection, PgPool};

/// An outbox row claimed for publishing.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct OutboxRow {
    pub id: i64,
    pub topic: String,
    pub key: String,
    pub event_type: String,
    pub payload: Vec<u8>,
}

/// Locks up to `limit` unpublished rows in id order. SKIP LOCKED lets several relays run
/// at once: each takes rows nobody else holds, and a row committed as published by
/// another relay while we scan is re-checked and dropped by Postgres.
pub(crate) async fn claim_unpublished(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<OutboxRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, topic, key, event_type, payload FROM outbox \
         WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub(crate) async fn mark_published(
    conn: &mut PgConnection,
    ids: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
        .bind(ids)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records that `consumer` processed `event_id`; false when it already had. The insert
/// takes the key's lock, so a concurrent duplicate waits for this transaction and then
/// sees the row (or, after a rollback, gets to process the event itself).
pub(crate) async fn record_processed(
    conn: &mut PgConnection,
    consumer: &str,
    event_id: &str,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) \
         ON CONFLICT DO NOTHING",
    )
    .bind(consumer)
    .bind(event_id)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Rows still waiting for the relay, for the operator's view.
pub(crate) async fn unpublished_count(db: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(db)
        .await
}

/// Rows waiting for the relay, and the age in seconds of the oldest (0 when none).
pub(crate) async fn backlog(db: &PgPool) -> Result<(i64, f64), sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at))::float8, 0) \
         FROM outbox WHERE published_at IS NULL",
    )
    .fetch_one(db)
    .await
}
