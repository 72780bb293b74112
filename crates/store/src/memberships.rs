//! Fan clubs, memberships and their points, after the seed
//! (`docs/architecture.md#fan-clubs-pre-sales-and-transfers`): a member starts
//! silver with a welcome bonus, earns points for every confirmed reservation of the
//! artist's events, and is gold or diamond past the club's thresholds.
//!
//! Points about a reservation are written only inside the transaction that changes the
//! reservation's state (confirmed, refunded, transferred). Each of those changes happens
//! once — it is a conditional update of the reservation's status or owner — so its points
//! do too; a unique index on (membership, reservation, reason) is the backstop.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool, Postgres, Transaction};
use urr_proto::DomainEvent;
use urr_proto::events::MembershipActivated;
use urr_wire::status::{MembershipStatus, MembershipTier, PointReason};
use uuid::Uuid;

use crate::StoreError;
use crate::outbox;
use crate::payments::{Fulfilment, Payment};

/// Points for joining (and for renewing), as in the seed.
pub const JOIN_BONUS: i64 = 200;
/// Points for each confirmed reservation of the artist's events, as in the seed.
pub const PURCHASE_POINTS: i64 = 100;
/// The seed's thresholds, used when an operator sets none.
pub const DEFAULT_GOLD_POINTS: i64 = 500;
pub const DEFAULT_DIAMOND_POINTS: i64 = 1500;

/// The tier of a membership row `m` in club `c`, in SQL.
const TIER_SQL: &str = "CASE WHEN m.points >= c.diamond_points THEN 'diamond' \
     WHEN m.points >= c.gold_points THEN 'gold' ELSE 'silver' END";

#[derive(Debug, Clone, FromRow)]
pub struct FanClub {
    pub artist_id: Uuid,
    pub price: i64,
    pub gold_points: i64,
    pub diamond_points: i64,
    pub updated_at: DateTime<Utc>,
}

/// Creates or changes an artist's fan club. A changed price applies to joins from now on.
pub async fn put_club(
    pool: &PgPool,
    artist: Uuid,
    price: i64,
    gold_points: i64,
    diamond_points: i64,
) -> Result<FanClub, StoreError> {
    sqlx::query_as::<_, FanClub>(
        "INSERT INTO fan_clubs (artist_id, price, gold_points, diamond_points) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (artist_id) DO UPDATE SET price = $2, \
         gold_points = $3, diamond_points = $4, updated_at = now() \
         RETURNING artist_id, price, gold_points, diamond_points, updated_at",
    )
    .bind(artist)
    .bind(price)
    .bind(gold_points)
    .bind(diamond_points)
    .fetch_one(pool)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Database(e),
    })
}

pub async fn club(pool: &PgPool, artist: Uuid) -> Result<Option<FanClub>, StoreError> {
    Ok(sqlx::query_as::<_, FanClub>(
        "SELECT artist_id, price, gold_points, diamond_points, updated_at FROM fan_clubs \
         WHERE artist_id = $1",
    )
    .bind(artist)
    .fetch_optional(pool)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct Membership {
    pub id: Uuid,
    pub user_id: Uuid,
    pub artist_id: Uuid,
    pub artist_name: String,
    /// `expired` is an active membership whose year ran out.
    #[sqlx(try_from = "String")]
    pub status: MembershipStatus,
    /// From the points and the club's thresholds.
    #[sqlx(try_from = "String")]
    pub tier: MembershipTier,
    pub points: i64,
    pub price: i64,
    pub gold_points: i64,
    pub diamond_points: i64,
    pub joined_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

fn select() -> String {
    format!(
        "SELECT m.id, m.user_id, m.artist_id, a.name AS artist_name, \
         CASE WHEN m.status = 'active' AND m.expires_at <= now() THEN 'expired' \
         ELSE m.status END AS status, {TIER_SQL} AS tier, m.points, m.price, \
         c.gold_points, c.diamond_points, m.joined_at, m.expires_at, m.created_at \
         FROM memberships m JOIN artists a ON a.id = m.artist_id \
         JOIN fan_clubs c ON c.artist_id = m.artist_id"
    )
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Membership>, StoreError> {
    let sql = format!("{} WHERE m.id = $1", select());
    Ok(sqlx::query_as::<_, Membership>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// A user's memberships, newest first.
pub async fn list_for_user(pool: &PgPool, user: Uuid) -> Result<Vec<Membership>, StoreError> {
    let sql = format!(
        "{} WHERE m.user_id = $1 ORDER BY m.created_at DESC, m.id",
        select()
    );
    Ok(sqlx::query_as::<_, Membership>(sqlx::AssertSqlSafe(sql))
        .bind(user)
        .fetch_all(pool)
        .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct PointEntry {
    pub delta: i64,
    #[sqlx(try_from = "String")]
    pub reason: PointReason,
    pub reservation_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// A membership's newest point changes.
pub async fn points_history(
    pool: &PgPool,
    membership: Uuid,
    limit: i64,
) -> Result<Vec<PointEntry>, StoreError> {
    Ok(sqlx::query_as::<_, PointEntry>(
        "SELECT delta, reason, reservation_id, at FROM membership_points \
         WHERE membership_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(membership)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Joins `user` to `artist`'s fan club: active at once when the club is free, else
/// pending until paid. Rejoining after expiry reuses the membership and its points.
/// Returns the membership and whether this call opened it (false: it was already pending).
pub async fn join(
    pool: &PgPool,
    user: Uuid,
    artist: Uuid,
) -> Result<(Membership, bool), StoreError> {
    let mut tx = pool.begin().await?;
    let price: Option<i64> =
        sqlx::query_scalar("SELECT price FROM fan_clubs WHERE artist_id = $1 FOR SHARE")
            .bind(artist)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(price) = price else {
        return Err(StoreError::NotFound);
    };
    // The stored status: `pending` or `active` (an expired one is active, lapsed).
    let existing: Option<(Uuid, String, bool)> = sqlx::query_as(
        "SELECT id, status, COALESCE(expires_at > now(), false) FROM memberships \
         WHERE user_id = $1 AND artist_id = $2 FOR UPDATE",
    )
    .bind(user)
    .bind(artist)
    .fetch_optional(&mut *tx)
    .await?;
    let existing = existing
        .map(|(id, status, live)| {
            Ok::<_, StoreError>((id, status.parse::<MembershipStatus>()?, live))
        })
        .transpose()?;
    let (id, opened) = match existing {
        Some((_, MembershipStatus::Active, true)) => {
            return Err(StoreError::Conflict("already a member of this fan club"));
        }
        Some((id, MembershipStatus::Pending, _)) if price > 0 => (id, false),
        Some((id, _, _)) => {
            sqlx::query(
                "UPDATE memberships SET status = 'pending', price = $2, updated_at = now() \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(price)
            .execute(&mut *tx)
            .await?;
            (id, true)
        }
        None => {
            let id = Uuid::now_v7();
            sqlx::query(
                "INSERT INTO memberships (id, user_id, artist_id, status, price) \
                 VALUES ($1, $2, $3, 'pending', $4)",
            )
            .bind(id)
            .bind(user)
            .bind(artist)
            .bind(price)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                StoreError::unique_violation(e, "a join of this fan club is in progress")
            })?;
            (id, true)
        }
    };
    if price == 0 {
        activate(&mut tx, id).await?;
    }
    tx.commit().await?;
    let membership = get(pool, id).await?.ok_or(StoreError::NotFound)?;
    Ok((membership, opened))
}

/// Records a paid membership fee and activates the membership, in one transaction.
/// `Impossible` (and nothing written) when the membership is no longer pending: the
/// caller refunds.
pub async fn pay_and_activate(
    pool: &PgPool,
    payment: &Payment,
    method: &str,
) -> Result<Fulfilment<()>, StoreError> {
    let Some(membership) = payment.membership_id else {
        return Ok(Fulfilment::Impossible);
    };
    let mut tx = pool.begin().await?;
    if !crate::payments::record_success(&mut tx, payment, method).await? {
        return Ok(Fulfilment::AlreadySettled);
    }
    if !activate(&mut tx, membership).await? {
        return Ok(Fulfilment::Impossible);
    }
    tx.commit().await?;
    Ok(Fulfilment::Delivered(()))
}

/// Pending → active for a year, with the welcome bonus and `MembershipActivated`, inside
/// the caller's transaction. False when the membership was not pending.
async fn activate(
    tx: &mut Transaction<'_, Postgres>,
    membership: Uuid,
) -> Result<bool, StoreError> {
    let activated: Option<(Uuid, Uuid)> = sqlx::query_as(
        "UPDATE memberships SET status = 'active', joined_at = now(), \
         expires_at = now() + interval '1 year', points = points + $2, updated_at = now() \
         WHERE id = $1 AND status = 'pending' RETURNING user_id, artist_id",
    )
    .bind(membership)
    .bind(JOIN_BONUS)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((user, artist)) = activated else {
        return Ok(false);
    };
    sqlx::query(
        "INSERT INTO membership_points (membership_id, delta, reason) VALUES ($1, $2, 'join')",
    )
    .bind(membership)
    .bind(JOIN_BONUS)
    .execute(&mut **tx)
    .await?;
    let sql = format!(
        "SELECT {TIER_SQL} FROM memberships m JOIN fan_clubs c ON c.artist_id = m.artist_id \
         WHERE m.id = $1"
    );
    let tier: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(membership)
        .fetch_one(&mut **tx)
        .await?;
    let event = MembershipActivated {
        membership_id: membership.to_string(),
        user_id: user.to_string(),
        artist_id: artist.to_string(),
        tier,
        occurred_at_ms: Utc::now().timestamp_millis(),
    };
    let key = membership.to_string();
    outbox::append(tx, &DomainEvent::MembershipActivated(event), &key).await?;
    Ok(true)
}

/// The tier of `user`'s active membership in the fan club of `event`'s artist, if any.
pub async fn tier_for_event(
    pool: &PgPool,
    user: Uuid,
    event: Uuid,
) -> Result<Option<MembershipTier>, StoreError> {
    let sql = format!(
        "SELECT {TIER_SQL} FROM events e \
         JOIN memberships m ON m.artist_id = e.artist_id \
         JOIN fan_clubs c ON c.artist_id = e.artist_id \
         WHERE e.id = $1 AND m.user_id = $2 AND m.status = 'active' AND m.expires_at > now()"
    );
    let tier: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(event)
        .bind(user)
        .fetch_optional(pool)
        .await?;
    Ok(tier.as_deref().map(str::parse).transpose()?)
}

/// Credits `points` to `user`'s active membership in the club of `event`'s artist (no
/// membership, no points), for `reservation`, inside the caller's transaction.
pub(crate) async fn credit(
    tx: &mut Transaction<'_, Postgres>,
    user: Uuid,
    event: Uuid,
    reservation: Uuid,
    points: i64,
    reason: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "WITH member AS ( \
             SELECT m.id FROM memberships m JOIN events e ON e.artist_id = m.artist_id \
             WHERE e.id = $2 AND m.user_id = $1 AND m.status = 'active' \
             AND m.expires_at > now()), \
         entry AS ( \
             INSERT INTO membership_points (membership_id, reservation_id, delta, reason) \
             SELECT id, $3, $4, $5 FROM member \
             ON CONFLICT (membership_id, reservation_id, reason) \
             WHERE reservation_id IS NOT NULL DO NOTHING \
             RETURNING membership_id, delta) \
         UPDATE memberships SET points = points + entry.delta, updated_at = now() \
         FROM entry WHERE memberships.id = entry.membership_id",
    )
    .bind(user)
    .bind(event)
    .bind(reservation)
    .bind(points)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// [`credit`] for many purchases of one event in one statement, each `(buyer,
/// reservation)` once. One buyer may appear more than once; their membership gains the
/// sum of the new entries.
pub(crate) async fn credit_many(
    tx: &mut Transaction<'_, Postgres>,
    event: Uuid,
    purchases: &[(Uuid, Uuid)],
    points: i64,
    reason: &str,
) -> Result<(), StoreError> {
    if purchases.is_empty() {
        return Ok(());
    }
    let buyers: Vec<Uuid> = purchases.iter().map(|(buyer, _)| *buyer).collect();
    let reservations: Vec<Uuid> = purchases.iter().map(|(_, r)| *r).collect();
    sqlx::query(
        "WITH purchase AS ( \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[]) AS p(user_id, reservation_id)), \
         member AS ( \
             SELECT m.id, purchase.reservation_id FROM purchase \
             JOIN memberships m ON m.user_id = purchase.user_id \
             JOIN events e ON e.artist_id = m.artist_id \
             WHERE e.id = $3 AND m.status = 'active' AND m.expires_at > now()), \
         entry AS ( \
             INSERT INTO membership_points (membership_id, reservation_id, delta, reason) \
             SELECT id, reservation_id, $4, $5 FROM member \
             ON CONFLICT (membership_id, reservation_id, reason) \
             WHERE reservation_id IS NOT NULL DO NOTHING \
             RETURNING membership_id, delta), \
         gained AS ( \
             SELECT membership_id, sum(delta) AS delta FROM entry GROUP BY membership_id) \
         UPDATE memberships SET points = points + gained.delta, updated_at = now() \
         FROM gained WHERE memberships.id = gained.membership_id",
    )
    .bind(&buyers)
    .bind(&reservations)
    .bind(event)
    .bind(points)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes back whatever `user`'s memberships still hold for `reservation` (its purchase
/// credit, less anything already taken back), inside the caller's transaction.
pub(crate) async fn take_back(
    tx: &mut Transaction<'_, Postgres>,
    user: Uuid,
    reservation: Uuid,
    reason: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "WITH held AS ( \
             SELECT p.membership_id, sum(p.delta) AS outstanding FROM membership_points p \
             JOIN memberships m ON m.id = p.membership_id \
             WHERE p.reservation_id = $2 AND m.user_id = $1 \
             GROUP BY p.membership_id HAVING sum(p.delta) <> 0), \
         entry AS ( \
             INSERT INTO membership_points (membership_id, reservation_id, delta, reason) \
             SELECT membership_id, $2, -outstanding, $3 FROM held \
             ON CONFLICT (membership_id, reservation_id, reason) \
             WHERE reservation_id IS NOT NULL DO NOTHING \
             RETURNING membership_id, delta) \
         UPDATE memberships SET points = GREATEST(points + entry.delta, 0), updated_at = now() \
         FROM entry WHERE memberships.id = entry.membership_id",
    )
    .bind(user)
    .bind(reservation)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
