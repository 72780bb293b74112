//! Invitations (`docs/architecture.md#invitations`): single-use links an operator mints for
//! an event, that put their holder into the event's Tier-2 queue at a set priority.
//!
//! Promises: every mint, use, refused use and revocation writes its audit line in the
//! same statement or transaction as the change it records; a link is used at most once,
//! even when several people present it at the same moment (one `UPDATE` whose guard only
//! the first passes); a row is never both used and revoked (the guards, and a `CHECK`).
//! Whether a link still works is decided here, on the database's clock, not by the token.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgExecutor, PgPool};
use urr_wire::status::{InvitationAction, InvitationStatus};
use uuid::Uuid;

use crate::StoreError;

/// An invitation as the operator sees it, its status derived from its row.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Invitation {
    pub id: Uuid,
    pub event_id: Uuid,
    pub label: String,
    pub priority: i64,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub redeemed_by: Option<Uuid>,
    /// The account that used it, for the operator's list.
    pub redeemed_by_email: Option<String>,
    pub redeemed_at: Option<DateTime<Utc>>,
    #[sqlx(try_from = "String")]
    pub status: InvitationStatus,
}

/// What an operator asks to mint: `count` links alike.
#[derive(Debug, Clone)]
pub struct NewInvitations {
    pub event_id: Uuid,
    pub label: String,
    pub priority: i64,
    pub count: u32,
    pub expires_in_hours: i32,
    pub created_by: Uuid,
}

/// How many of an event's invitations are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromRow)]
pub struct Counts {
    pub minted: i64,
    pub active: i64,
    pub redeemed: i64,
    pub revoked: i64,
    pub expired: i64,
}

/// A line of an event's audit log.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub invitation_id: Uuid,
    pub label: String,
    #[sqlx(try_from = "String")]
    pub action: InvitationAction,
    pub actor_id: Option<Uuid>,
    pub actor_email: Option<String>,
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// Why a link did not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Used,
    Revoked,
    Expired,
}

impl Refusal {
    /// The audit line's detail.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Used => "already used",
            Refusal::Revoked => "revoked",
            Refusal::Expired => "expired",
        }
    }
}

/// What presenting a link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// It is now this user's: used up.
    Redeemed(Invitation),
    /// It did not work; the refusal is in the audit log.
    Refused(Refusal),
}

/// What asking to revoke did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    Revoked(Invitation),
    /// Revoked before; nothing changed.
    AlreadyRevoked(Invitation),
    /// Used before; it cannot be taken back.
    Redeemed(Invitation),
}

/// The status, derived in one place for lists, counts and single rows.
const STATUS: &str = "CASE WHEN i.redeemed_at IS NOT NULL THEN 'redeemed' \
     WHEN i.revoked_at IS NOT NULL THEN 'revoked' \
     WHEN i.expires_at <= now() THEN 'expired' ELSE 'active' END";

fn columns() -> String {
    format!(
        "i.id, i.event_id, i.label, i.priority, i.created_by, i.created_at, i.expires_at, \
         i.revoked_at, i.redeemed_by, u.email AS redeemed_by_email, i.redeemed_at, \
         {STATUS} AS status"
    )
}

/// Mints `new.count` links and their audit lines in one statement: all or none.
pub async fn mint(pool: &PgPool, new: &NewInvitations) -> Result<Vec<Invitation>, StoreError> {
    let ids: Vec<Uuid> = (0..new.count).map(|_| Uuid::now_v7()).collect();
    let sql = format!(
        "WITH minted AS ( \
             INSERT INTO invitations (id, event_id, label, priority, created_by, expires_at) \
             SELECT id, $1, $2, $3, $4, now() + make_interval(hours => $5) \
             FROM unnest($6::uuid[]) AS id \
             RETURNING * \
         ), audit AS ( \
             INSERT INTO invitation_audit (invitation_id, event_id, action, actor_id, detail) \
             SELECT id, event_id, 'minted', created_by, 'priority ' || priority FROM minted \
         ) \
         SELECT {} FROM minted i LEFT JOIN users u ON u.id = i.redeemed_by ORDER BY i.id",
        columns()
    );
    sqlx::query_as::<_, Invitation>(sqlx::AssertSqlSafe(sql))
        .bind(new.event_id)
        .bind(&new.label)
        .bind(new.priority)
        .bind(new.created_by)
        .bind(new.expires_in_hours)
        .bind(&ids)
        .fetch_all(pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            _ => StoreError::Database(e),
        })
}

async fn get<'e>(db: impl PgExecutor<'e>, id: Uuid) -> Result<Option<Invitation>, StoreError> {
    let sql = format!(
        "SELECT {} FROM invitations i LEFT JOIN users u ON u.id = i.redeemed_by WHERE i.id = $1",
        columns()
    );
    Ok(sqlx::query_as::<_, Invitation>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db)
        .await?)
}

/// An event's invitations, newest first, at most `limit`.
pub async fn list(pool: &PgPool, event: Uuid, limit: i64) -> Result<Vec<Invitation>, StoreError> {
    let sql = format!(
        "SELECT {} FROM invitations i LEFT JOIN users u ON u.id = i.redeemed_by \
         WHERE i.event_id = $1 ORDER BY i.created_at DESC, i.id DESC LIMIT $2",
        columns()
    );
    Ok(sqlx::query_as::<_, Invitation>(sqlx::AssertSqlSafe(sql))
        .bind(event)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

/// How many of the event's invitations are in each state (all of them, not a page).
pub async fn counts(pool: &PgPool, event: Uuid) -> Result<Counts, StoreError> {
    let sql = format!(
        "SELECT count(*) AS minted, \
             count(*) FILTER (WHERE s = 'active') AS active, \
             count(*) FILTER (WHERE s = 'redeemed') AS redeemed, \
             count(*) FILTER (WHERE s = 'revoked') AS revoked, \
             count(*) FILTER (WHERE s = 'expired') AS expired \
         FROM (SELECT {STATUS} AS s FROM invitations i WHERE i.event_id = $1) statuses"
    );
    Ok(sqlx::query_as::<_, Counts>(sqlx::AssertSqlSafe(sql))
        .bind(event)
        .fetch_one(pool)
        .await?)
}

async fn audit_line<'e>(
    db: impl PgExecutor<'e>,
    invitation: Uuid,
    action: InvitationAction,
    actor: Uuid,
    detail: &str,
) -> Result<(), StoreError> {
    // Takes the event from the row, and writes nothing for an id that names no row.
    sqlx::query(
        "INSERT INTO invitation_audit (invitation_id, event_id, action, actor_id, detail) \
         SELECT id, event_id, $2, $3, $4 FROM invitations WHERE id = $1",
    )
    .bind(invitation)
    .bind(action.as_str())
    .bind(actor)
    .bind(detail)
    .execute(db)
    .await?;
    Ok(())
}

/// Uses the link `id` for `user`: once, while neither revoked nor expired. Of several
/// people presenting it at once, the first `UPDATE` wins and the others, which waited on
/// its row lock, find it used. Either way the outcome is audited. `NotFound` when no
/// such invitation exists (its event was deleted).
pub async fn redeem(pool: &PgPool, id: Uuid, user: Uuid) -> Result<Redemption, StoreError> {
    let mut tx = pool.begin().await?;
    let won = sqlx::query(
        "UPDATE invitations SET redeemed_by = $2, redeemed_at = now() \
         WHERE id = $1 AND redeemed_at IS NULL AND revoked_at IS NULL AND expires_at > now()",
    )
    .bind(id)
    .bind(user)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let invitation = get(&mut *tx, id).await?.ok_or(StoreError::NotFound)?;
    let outcome = if won {
        audit_line(&mut *tx, id, InvitationAction::Redeemed, user, "").await?;
        Redemption::Redeemed(invitation)
    } else {
        let refusal = match invitation.status {
            InvitationStatus::Revoked => Refusal::Revoked,
            InvitationStatus::Expired => Refusal::Expired,
            // Redeemed; `Active` only if it expired between the two statements' clocks
            // (`now()` is the transaction's, so it cannot), read as used to be safe.
            InvitationStatus::Redeemed | InvitationStatus::Active => Refusal::Used,
        };
        audit_line(
            &mut *tx,
            id,
            InvitationAction::Refused,
            user,
            refusal.as_str(),
        )
        .await?;
        Redemption::Refused(refusal)
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Records a use of link `id` by `user` that was turned away before the link was
/// consumed (e.g. they were already in the queue), with why.
pub async fn refuse(pool: &PgPool, id: Uuid, user: Uuid, why: &str) -> Result<(), StoreError> {
    audit_line(pool, id, InvitationAction::Refused, user, why).await
}

/// Gives a link `user` just used back, when what it was used for failed (the queue
/// refused the join): it works again, and the audit says why.
pub async fn release(pool: &PgPool, id: Uuid, user: Uuid, why: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let released = sqlx::query(
        "UPDATE invitations SET redeemed_by = NULL, redeemed_at = NULL \
         WHERE id = $1 AND redeemed_by = $2",
    )
    .bind(id)
    .bind(user)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if released {
        let detail = format!("given back: {why}");
        audit_line(&mut *tx, id, InvitationAction::Refused, user, &detail).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Withdraws link `id` unless it was used; `NotFound` when there is no such link.
pub async fn revoke(pool: &PgPool, id: Uuid, by: Uuid) -> Result<Revocation, StoreError> {
    let mut tx = pool.begin().await?;
    let revoked = sqlx::query(
        "UPDATE invitations SET revoked_at = now() \
         WHERE id = $1 AND revoked_at IS NULL AND redeemed_at IS NULL",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if revoked {
        audit_line(&mut *tx, id, InvitationAction::Revoked, by, "").await?;
    }
    let invitation = get(&mut *tx, id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(match invitation.status {
        _ if revoked => Revocation::Revoked(invitation),
        InvitationStatus::Redeemed => Revocation::Redeemed(invitation),
        _ => Revocation::AlreadyRevoked(invitation),
    })
}

/// An event's audit log, newest first, at most `limit` lines.
pub async fn audit(pool: &PgPool, event: Uuid, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
    Ok(sqlx::query_as::<_, AuditEntry>(
        "SELECT a.id, a.invitation_id, i.label, a.action, a.actor_id, u.email AS actor_email, \
         a.detail, a.at \
         FROM invitation_audit a JOIN invitations i ON i.id = a.invitation_id \
         LEFT JOIN users u ON u.id = a.actor_id \
         WHERE a.event_id = $1 ORDER BY a.id DESC LIMIT $2",
    )
    .bind(event)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}
