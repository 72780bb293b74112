//! The reconciler's schedule: payments whose settlement is unfinished (confirming past
//! its request's time, unknown, paid without a ticket, refunding), claimed a batch at a
//! time by one node (`FOR UPDATE SKIP LOCKED`), each put off by a backoff that doubles
//! with every look so a long provider outage costs few calls.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use super::settle::secs;
use super::{COLUMNS, Payment};
use crate::StoreError;

/// Claims up to `limit` payments due a look: each one's next look is moved to
/// `base · 2^attempts` (at most `cap`) from now before it is returned, so another node
/// (or this one's next round) takes it only if this look does not settle it.
pub async fn claim_due(
    pool: &PgPool,
    limit: i64,
    base: Duration,
    cap: Duration,
) -> Result<Vec<Payment>, StoreError> {
    let mut tx = pool.begin().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "WITH due AS (SELECT id FROM payments \
         WHERE status IN ('confirming', 'unknown', 'paid', 'refunding') \
         AND next_check_at <= now() ORDER BY next_check_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
         UPDATE payments p SET attempts = p.attempts + 1, next_check_at = now() + \
         make_interval(secs => LEAST($2 * power(2, LEAST(p.attempts, 20)), $3)) \
         FROM due WHERE p.id = due.id RETURNING p.id",
    )
    .bind(limit)
    .bind(secs(base))
    .bind(secs(cap))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {COLUMNS} FROM payments WHERE id = ANY($1) ORDER BY next_check_at");
    Ok(sqlx::query_as::<_, Payment>(sqlx::AssertSqlSafe(sql))
        .bind(&ids)
        .fetch_all(pool)
        .await?)
}
