//! Accounts: who can sign in, and with which role.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::StoreError;

#[derive(Debug, Clone, FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, email, name, password_hash, role, created_at";

/// Creates a password account. A taken email (any case) is `Conflict("email")`.
pub async fn create(
    pool: &PgPool,
    email: &str,
    name: &str,
    password_hash: &str,
) -> Result<User, StoreError> {
    sqlx::query_as::<_, User>(
        "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4) \
         RETURNING id, email, name, password_hash, role, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(email)
    .bind(name)
    .bind(password_hash)
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::unique_violation(e, "email"))
}

pub async fn find_by_email(pool: &PgPool, email: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE lower(email) = lower($1)");
    Ok(sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(sql))
        .bind(email)
        .fetch_optional(pool)
        .await?)
}

pub async fn find_by_id(pool: &PgPool, id: Uuid) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    Ok(sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// Finds the account for a Google identity: by Google subject first, then by email (and
/// links the subject to it), else creates one without a password.
pub async fn find_or_create_google(
    pool: &PgPool,
    google_sub: &str,
    email: &str,
    name: &str,
) -> Result<User, StoreError> {
    let mut tx = pool.begin().await?;
    let sql = format!("SELECT {COLUMNS} FROM users WHERE google_sub = $1");
    if let Some(user) = sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(sql))
        .bind(google_sub)
        .fetch_optional(&mut *tx)
        .await?
    {
        tx.commit().await?;
        return Ok(user);
    }
    let linked = sqlx::query_as::<_, User>(
        "UPDATE users SET google_sub = $2, updated_at = now() \
         WHERE lower(email) = lower($1) AND google_sub IS NULL \
         RETURNING id, email, name, password_hash, role, created_at",
    )
    .bind(email)
    .bind(google_sub)
    .fetch_optional(&mut *tx)
    .await?;
    let user = match linked {
        Some(user) => user,
        None => sqlx::query_as::<_, User>(
            "INSERT INTO users (id, email, name, google_sub) VALUES ($1, $2, $3, $4) \
             RETURNING id, email, name, password_hash, role, created_at",
        )
        .bind(Uuid::now_v7())
        .bind(email)
        .bind(name)
        .bind(google_sub)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::unique_violation(e, "email"))?,
    };
    tx.commit().await?;
    Ok(user)
}

/// Makes the account with this email an admin.
pub async fn grant_admin(pool: &PgPool, email: &str) -> Result<User, StoreError> {
    sqlx::query_as::<_, User>(
        "UPDATE users SET role = 'admin', updated_at = now() WHERE lower(email) = lower($1) \
         RETURNING id, email, name, password_hash, role, created_at",
    )
    .bind(email)
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound)
}
