//! Artists, whose events, fan clubs and communities hang off them.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::StoreError;

#[derive(Debug, Clone, FromRow)]
pub struct Artist {
    pub id: Uuid,
    pub name: String,
    pub genre: Option<String>,
    pub description: Option<String>,
    pub image_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct NewArtist {
    pub name: String,
    pub genre: Option<String>,
    pub description: Option<String>,
    pub image_url: Option<String>,
}

pub async fn create(pool: &PgPool, artist: &NewArtist) -> Result<Artist, StoreError> {
    Ok(sqlx::query_as::<_, Artist>(
        "INSERT INTO artists (id, name, genre, description, image_url) \
         VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, name, genre, description, image_url, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(&artist.name)
    .bind(&artist.genre)
    .bind(&artist.description)
    .bind(&artist.image_url)
    .fetch_one(pool)
    .await?)
}

/// One page of artists by name, optionally filtered by a case-insensitive substring, and
/// the total that match.
pub async fn list(
    pool: &PgPool,
    q: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Artist>, i64), StoreError> {
    let pattern = q.map(crate::like_pattern);
    let artists = sqlx::query_as::<_, Artist>(
        "SELECT id, name, genre, description, image_url, created_at FROM artists \
         WHERE ($1::text IS NULL OR name ILIKE $1) ORDER BY lower(name), id LIMIT $2 OFFSET $3",
    )
    .bind(&pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM artists WHERE ($1::text IS NULL OR name ILIKE $1)",
    )
    .bind(&pattern)
    .fetch_one(pool)
    .await?;
    Ok((artists, total))
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Artist>, StoreError> {
    Ok(sqlx::query_as::<_, Artist>(
        "SELECT id, name, genre, description, image_url, created_at FROM artists WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?)
}
