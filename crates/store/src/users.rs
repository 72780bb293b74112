//! Accounts: who can sign in, and with which role.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use urr_wire::status::Role;
use uuid::Uuid;

use crate::StoreError;

#[derive(Debug, Clone, FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    #[sqlx(try_from = "String")]
    pub role: Role,
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

/// Creates many accounts sharing one password hash in one statement: how a load test or a
/// demo provisions the people who signed up before the sale, without paying argon2 for
/// each. Returns the new ids in input order; any taken email fails the whole batch.
pub async fn create_many(
    pool: &PgPool,
    accounts: &[(String, String)],
    password_hash: &str,
) -> Result<Vec<Uuid>, StoreError> {
    let ids: Vec<Uuid> = accounts.iter().map(|_| Uuid::now_v7()).collect();
    let (emails, names): (Vec<&str>, Vec<&str>) = accounts
        .iter()
        .map(|(email, name)| (email.as_str(), name.as_str()))
        .unzip();
    sqlx::query(
        "INSERT INTO users (id, email, name, password_hash) \
         SELECT id, email, name, $4 FROM UNNEST($1::uuid[], $2::text[], $3::text[]) \
         AS a(id, email, name)",
    )
    .bind(&ids)
    .bind(&emails)
    .bind(&names)
    .bind(password_hash)
    .execute(pool)
    .await
    .map_err(|e| StoreError::unique_violation(e, "email"))?;
    Ok(ids)
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
