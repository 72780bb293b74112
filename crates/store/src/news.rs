//! News that operators publish. Text is stored exactly as written; the edge escapes it.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::StoreError;

#[derive(Debug, Clone, FromRow)]
pub struct News {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub author_id: Option<Uuid>,
    pub published_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT id, title, body, author_id, published_at, updated_at FROM news";

pub async fn create(
    pool: &PgPool,
    author_id: Uuid,
    title: &str,
    body: &str,
) -> Result<News, StoreError> {
    Ok(sqlx::query_as::<_, News>(
        "INSERT INTO news (id, title, body, author_id) VALUES ($1, $2, $3, $4) \
         RETURNING id, title, body, author_id, published_at, updated_at",
    )
    .bind(Uuid::now_v7())
    .bind(title)
    .bind(body)
    .bind(author_id)
    .fetch_one(pool)
    .await?)
}

/// One page of news, newest first, and the total.
pub async fn list(pool: &PgPool, limit: i64, offset: i64) -> Result<(Vec<News>, i64), StoreError> {
    let items = sqlx::query_as::<_, News>(sqlx::AssertSqlSafe(format!(
        "{SELECT} ORDER BY published_at DESC, id DESC LIMIT $1 OFFSET $2"
    )))
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM news")
        .fetch_one(pool)
        .await?;
    Ok((items, total))
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<News>, StoreError> {
    Ok(
        sqlx::query_as::<_, News>(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// Changes the title and/or body; `NotFound` when there is no such item.
pub async fn update(
    pool: &PgPool,
    id: Uuid,
    title: Option<&str>,
    body: Option<&str>,
) -> Result<News, StoreError> {
    sqlx::query_as::<_, News>(
        "UPDATE news SET title = COALESCE($2, title), body = COALESCE($3, body), \
         updated_at = now() WHERE id = $1 \
         RETURNING id, title, body, author_id, published_at, updated_at",
    )
    .bind(id)
    .bind(title)
    .bind(body)
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound)
}

pub async fn delete(pool: &PgPool, id: Uuid) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM news WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}
