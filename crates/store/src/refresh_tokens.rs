//! Refresh-token families: rotation on every use, and reuse detection.
//!
//! A token is presented once. Presenting it again means someone else holds a copy (it was
//! stolen, or replayed), so the whole family — every token descended from that sign-in,
//! including the newest — is revoked.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::StoreError;

/// A token to store: only its hash is kept.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current; it is now used and `replacement` is stored in its family.
    Rotated { user_id: Uuid, family_id: Uuid },
    /// The token had been used before: its family is now revoked.
    Reused { family_id: Uuid },
    /// Expired, revoked, or never issued.
    Invalid,
}

#[derive(sqlx::FromRow)]
struct StoredToken {
    family_id: Uuid,
    user_id: Uuid,
    expires_at: DateTime<Utc>,
    rotated_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert(pool: &PgPool, token: &NewRefreshToken) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::now_v7())
    .bind(token.family_id)
    .bind(token.user_id)
    .bind(&token.token_hash)
    .bind(token.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Presents the token with `hash`. When it is current, marks it used and stores
/// `replacement` (whose family and user are taken from the presented token) in the same
/// transaction; the row lock makes two concurrent presentations of one token resolve as
/// one rotation and one reuse.
pub async fn rotate(
    pool: &PgPool,
    hash: &[u8],
    replacement_hash: &[u8],
    replacement_expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Rotation, StoreError> {
    let mut tx = pool.begin().await?;
    let row: Option<StoredToken> = sqlx::query_as(
        "SELECT family_id, user_id, expires_at, rotated_at, revoked_at \
         FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(StoredToken {
        family_id,
        user_id,
        expires_at,
        rotated_at,
        revoked_at,
    }) = row
    else {
        return Ok(Rotation::Invalid);
    };
    if revoked_at.is_some() {
        return Ok(Rotation::Invalid);
    }
    if rotated_at.is_some() {
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $2 \
             WHERE family_id = $1 AND revoked_at IS NULL",
        )
        .bind(family_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(Rotation::Reused { family_id });
    }
    if expires_at <= now {
        return Ok(Rotation::Invalid);
    }
    sqlx::query("UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1")
        .bind(hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::now_v7())
    .bind(family_id)
    .bind(user_id)
    .bind(replacement_hash)
    .bind(replacement_expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Rotation::Rotated { user_id, family_id })
}

/// Revokes the family of the token with `hash` (sign-out). Unknown tokens are ignored.
pub async fn revoke_family_of(
    pool: &PgPool,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND family_id = \
         (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)",
    )
    .bind(hash)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}
