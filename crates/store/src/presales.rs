//! Members-only pre-sale windows per event
//! (`docs/architecture.md#fan-clubs-pre-sales-and-transfers`). While a window is open, only members of its tier or a higher
//! one may queue and hold; outside every window the general rules apply.

use chrono::{DateTime, Duration, Utc};
use sqlx::{FromRow, PgExecutor, PgPool};
use urr_wire::status::MembershipTier as Tier;
use uuid::Uuid;

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PresaleWindow {
    /// The lowest tier the window admits.
    #[sqlx(try_from = "String")]
    pub tier: Tier,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

impl PresaleWindow {
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.opens_at <= now && now < self.closes_at
    }

    /// Whether a member of `tier` may buy in this window: the window's tier or higher.
    pub fn admits(&self, tier: Tier) -> bool {
        tier >= self.tier
    }
}

/// An event's windows, earliest first.
pub async fn for_event<'e>(
    db: impl PgExecutor<'e>,
    event: Uuid,
) -> Result<Vec<PresaleWindow>, StoreError> {
    Ok(sqlx::query_as::<_, PresaleWindow>(
        "SELECT tier, opens_at, closes_at FROM event_presales WHERE event_id = $1 \
         ORDER BY opens_at, closes_at, tier",
    )
    .bind(event)
    .fetch_all(db)
    .await?)
}

/// The windows that have not closed yet: all the queue and hold gate needs.
pub async fn upcoming(pool: &PgPool, event: Uuid) -> Result<Vec<PresaleWindow>, StoreError> {
    Ok(sqlx::query_as::<_, PresaleWindow>(
        "SELECT tier, opens_at, closes_at FROM event_presales \
         WHERE event_id = $1 AND closes_at > now() ORDER BY opens_at, closes_at, tier",
    )
    .bind(event)
    .fetch_all(pool)
    .await?)
}

/// Replaces an event's windows (none clears them), in one transaction.
pub async fn replace(
    pool: &PgPool,
    event: Uuid,
    windows: &[(Tier, DateTime<Utc>, DateTime<Utc>)],
) -> Result<Vec<PresaleWindow>, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM event_presales WHERE event_id = $1")
        .bind(event)
        .execute(&mut *tx)
        .await?;
    for (tier, opens_at, closes_at) in windows {
        sqlx::query(
            "INSERT INTO event_presales (id, event_id, tier, opens_at, closes_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(event)
        .bind(tier.as_str())
        .bind(opens_at)
        .bind(closes_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            _ => StoreError::Database(e),
        })?;
    }
    let stored = for_event(&mut *tx, event).await?;
    tx.commit().await?;
    Ok(stored)
}

/// The seed's `PreSaleSchedule`, turned to end where the general sale starts: diamond
/// members 48 hours ahead, gold 47 (the seed's one-hour gap), silver 24
/// (`docs/architecture.md#fan-clubs-pre-sales-and-transfers`).
pub fn seed_schedule(general_sale: DateTime<Utc>) -> Vec<(Tier, DateTime<Utc>, DateTime<Utc>)> {
    [(Tier::Diamond, 48), (Tier::Gold, 47), (Tier::Silver, 24)]
        .into_iter()
        .map(|(tier, hours)| (tier, general_sale - Duration::hours(hours), general_sale))
        .collect()
}

/// Why the gate refused: the window that is open and when anyone may buy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembersOnly {
    /// The open window that admits the lowest tier.
    pub window: PresaleWindow,
    /// The end of the members-only stretch that `now` falls in.
    pub general_opens_at: DateTime<Utc>,
}

/// Decides whether someone with `tier` (none: not a member) may queue or hold at `now`.
pub fn gate(
    windows: &[PresaleWindow],
    tier: Option<Tier>,
    now: DateTime<Utc>,
) -> Result<(), MembersOnly> {
    let open: Vec<&PresaleWindow> = windows.iter().filter(|w| w.is_open(now)).collect();
    if tier.is_some_and(|t| open.iter().any(|w| w.admits(t))) {
        return Ok(());
    }
    let Some(window) = open.iter().min_by_key(|w| w.tier) else {
        return Ok(());
    };
    // Windows that overlap or touch chain into one members-only stretch.
    let mut until = now;
    while let Some(later) = windows
        .iter()
        .filter(|w| w.opens_at <= until && w.closes_at > until)
        .map(|w| w.closes_at)
        .max()
    {
        until = later;
    }
    Err(MembersOnly {
        window: (*window).clone(),
        general_opens_at: until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(tier: Tier, from: i64, to: i64) -> PresaleWindow {
        let base = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        PresaleWindow {
            tier,
            opens_at: base + Duration::hours(from),
            closes_at: base + Duration::hours(to),
        }
    }

    fn at(hour: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default()
            + Duration::hours(hour)
    }

    #[test]
    fn outside_every_window_anyone_may_buy() {
        let windows = [window(Tier::Gold, 0, 2)];
        assert!(gate(&windows, None, at(-1)).is_ok());
        assert!(gate(&windows, None, at(2)).is_ok());
        assert!(gate(&[], None, at(0)).is_ok());
    }

    #[test]
    fn a_window_admits_its_tier_and_higher_only() {
        let windows = [window(Tier::Gold, 0, 2)];
        assert!(gate(&windows, Some(Tier::Gold), at(1)).is_ok());
        assert!(gate(&windows, Some(Tier::Diamond), at(1)).is_ok());
        let refused = gate(&windows, Some(Tier::Silver), at(1));
        assert_eq!(refused.map_err(|r| r.general_opens_at), Err(at(2)));
        assert!(gate(&windows, None, at(1)).is_err());
    }

    #[test]
    fn chained_windows_end_the_members_only_stretch_at_the_last_close() {
        let windows = [
            window(Tier::Diamond, 0, 3),
            window(Tier::Gold, 1, 3),
            window(Tier::Silver, 3, 5),
            window(Tier::Silver, 9, 10),
        ];
        let refused = gate(&windows, None, at(2)).err();
        assert_eq!(refused.as_ref().map(|r| r.general_opens_at), Some(at(5)));
        assert_eq!(refused.map(|r| r.window.tier), Some(Tier::Gold));
        assert!(gate(&windows, Some(Tier::Silver), at(4)).is_ok());
        assert!(gate(&windows, None, at(6)).is_ok());
    }

    #[test]
    fn the_seed_schedule_ends_at_the_general_sale() {
        let schedule = seed_schedule(at(48));
        assert_eq!(schedule.len(), 3);
        assert!(schedule.iter().all(|(_, _, closes)| *closes == at(48)));
        assert_eq!(schedule[0], (Tier::Diamond, at(0), at(48)));
    }
}
