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
    /// When the owner of `email` proved it (a verification link, or Google's word).
    pub email_verified_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, email, name, password_hash, role, created_at, email_verified_at";

/// Creates a password account. A taken email (any case) is `Conflict("email")`.
pub async fn create(
    pool: &PgPool,
    email: &str,
    name: &str,
    password_hash: &str,
) -> Result<User, StoreError> {
    sqlx::query_as::<_, User>(
        "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4) \
         RETURNING id, email, name, password_hash, role, created_at, email_verified_at",
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

/// What a Google sign-in found or made.
#[derive(Debug, Clone)]
pub enum GoogleAccount {
    /// The account already linked to this Google identity.
    Found(User),
    /// An account with this email, verified, now linked to the identity.
    Linked(User),
    /// A new account without a password (its email verified by Google).
    Created(User),
    /// An account holds this email but never proved owning it: no link is made, since
    /// whoever registered it may not own the address.
    Unverified,
}

/// Finds the account for a Google identity (whose email Google has verified): by Google
/// subject first; then by email, linking only an account whose email is verified; else
/// creates one without a password.
pub async fn find_or_create_google(
    pool: &PgPool,
    google_sub: &str,
    email: &str,
    name: &str,
) -> Result<GoogleAccount, StoreError> {
    let mut tx = pool.begin().await?;
    let sql = format!("SELECT {COLUMNS} FROM users WHERE google_sub = $1");
    if let Some(user) = sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(sql))
        .bind(google_sub)
        .fetch_optional(&mut *tx)
        .await?
    {
        tx.commit().await?;
        return Ok(GoogleAccount::Found(user));
    }
    let sql = format!("SELECT {COLUMNS} FROM users WHERE lower(email) = lower($1) FOR UPDATE");
    let holder = sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(sql))
        .bind(email)
        .fetch_optional(&mut *tx)
        .await?;
    let account = match holder {
        Some(user) if user.email_verified_at.is_none() => GoogleAccount::Unverified,
        Some(user) => {
            let linked = sqlx::query_as::<_, User>(
                "UPDATE users SET google_sub = $2, updated_at = now() \
                 WHERE id = $1 AND google_sub IS NULL \
                 RETURNING id, email, name, password_hash, role, created_at, email_verified_at",
            )
            .bind(user.id)
            .bind(google_sub)
            .fetch_optional(&mut *tx)
            .await?;
            // Linked to another Google identity already: the email is taken.
            GoogleAccount::Linked(linked.ok_or(StoreError::Conflict("email"))?)
        }
        None => GoogleAccount::Created(
            sqlx::query_as::<_, User>(
                "INSERT INTO users (id, email, name, google_sub, email_verified_at) \
                 VALUES ($1, $2, $3, $4, now()) \
                 RETURNING id, email, name, password_hash, role, created_at, email_verified_at",
            )
            .bind(Uuid::now_v7())
            .bind(email)
            .bind(name)
            .bind(google_sub)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| StoreError::unique_violation(e, "email"))?,
        ),
    };
    tx.commit().await?;
    Ok(account)
}

/// What using an email verification link did.
#[derive(Debug, Clone)]
pub enum EmailVerification {
    /// The account's email is verified (now, or it was already).
    Verified(User),
    /// This link was used before.
    LinkUsed,
    /// No account holds this email any more (deleted, or its email changed).
    NoSuchAccount,
}

/// Uses the verification link `link` for `user`'s `email`: once only, and only while the
/// account still has that email.
pub async fn verify_email(
    pool: &PgPool,
    link: Uuid,
    user: Uuid,
    email: &str,
    link_expires_at: DateTime<Utc>,
) -> Result<EmailVerification, StoreError> {
    let mut tx = pool.begin().await?;
    let sql = format!(
        "UPDATE users SET email_verified_at = COALESCE(email_verified_at, now()), \
         updated_at = now() WHERE id = $1 AND lower(email) = lower($2) RETURNING {COLUMNS}"
    );
    let Some(verified) = sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(sql))
        .bind(user)
        .bind(email)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(EmailVerification::NoSuchAccount);
    };
    let first_use = sqlx::query(
        "INSERT INTO email_links_used (id, user_id, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(link)
    .bind(user)
    .bind(link_expires_at)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !first_use {
        return Ok(EmailVerification::LinkUsed);
    }
    // Used links past their expiry are refused by their signature anyway.
    sqlx::query("DELETE FROM email_links_used WHERE expires_at < now() - interval '1 day'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(EmailVerification::Verified(verified))
}

/// Makes the account with this email an admin.
pub async fn grant_admin(pool: &PgPool, email: &str) -> Result<User, StoreError> {
    set_role(pool, email, Role::Admin).await
}

/// Gives the account with `email` a role (the operator's staff page, `urr admin grant`).
pub async fn set_role(pool: &PgPool, email: &str, role: Role) -> Result<User, StoreError> {
    sqlx::query_as::<_, User>(
        "UPDATE users SET role = $2, updated_at = now() WHERE lower(email) = lower($1) \
         RETURNING id, email, name, password_hash, role, created_at, email_verified_at",
    )
    .bind(email)
    .bind(role.as_str())
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound)
}
