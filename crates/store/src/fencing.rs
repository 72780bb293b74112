//! The owner-epoch checks the stores make themselves (`docs/architecture.md#fencing`): a
//! lease says who should write, the epoch decides whose writes land.
//!
//! - PostgreSQL: every transaction of an owning actor starts by reading its event's row
//!   in `event_owners` `FOR SHARE`. A takeover raises the epoch with an `UPDATE` of that
//!   row, which waits for the shares in flight, so each transaction either committed
//!   before the takeover or sees the new epoch and rolls back.
//! - Redis: every script an owning actor runs starts with [`PRELUDE`]: it takes the
//!   event's epoch key (same `{eventId}` hash tag as the event's other keys) and the
//!   writer's epoch off the front of `KEYS` and `ARGV`, refuses a writer behind the key,
//!   and leaves the rest to the script's body, which reads its keys and arguments as if
//!   the fence were not there.
//!
//! An empty epoch means an unfenced writer (a directory alone on its stores, the hold
//! sweeper) and skips the check.

use redis::{Script, ScriptInvocation};
use sqlx::{PgPool, Postgres, Transaction};
use urr_actors::ownership::Fence;
use uuid::Uuid;

use crate::{Kv, StoreError};

/// The Lua every fenced script starts with. Never lowers anything; only compares.
const PRELUDE: &str = r"
local fence_key = table.remove(KEYS, 1)
local fence_epoch = table.remove(ARGV, 1)
if fence_epoch ~= '' then
  local current = tonumber(redis.call('GET', fence_key) or '0')
  if tonumber(fence_epoch) < current then
    return redis.error_reply('FENCED epoch ' .. fence_epoch .. ' is behind ' .. current)
  end
end
";

/// The error code of a refused script.
const FENCED: &str = "FENCED";

/// A script whose body runs only for a writer whose epoch is current.
pub(crate) fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

/// The key holding the event's current owner epoch.
pub(crate) fn epoch_key(kv: &Kv, event: Uuid) -> String {
    kv.key(&format!("owner-epoch:{{{event}}}"))
}

/// Puts the fence in front of a fenced script's keys and arguments: call it first.
pub(crate) fn bind(
    invocation: &mut ScriptInvocation<'_>,
    kv: &Kv,
    event: Uuid,
    epoch: Option<u64>,
) {
    invocation.key(epoch_key(kv, event));
    invocation.arg(epoch.map(|e| e.to_string()).unwrap_or_default());
}

/// A script's error as a store error: a refusal of the fence, or Redis failing.
pub(crate) fn redis_error(err: redis::RedisError, event: Uuid, epoch: Option<u64>) -> StoreError {
    match (err.code(), epoch) {
        (Some(FENCED), Some(epoch)) => StoreError::Fenced { event, epoch },
        _ => StoreError::Redis(err),
    }
}

/// True when a writer at `mine` must be refused because the event's epoch is `current`.
/// The one comparison both stores make (SQL and Lua spell it the same way).
pub fn is_stale(mine: u64, current: u64) -> bool {
    mine < current
}

/// Begins a transaction for the owner holding `fence`, refusing it (rolled back) when a
/// newer owner has raised the event's epoch; unfenced when `fence` is `None`.
pub(crate) async fn begin(
    db: &PgPool,
    fence: Option<&Fence>,
) -> Result<Transaction<'static, Postgres>, StoreError> {
    let mut tx = db.begin().await?;
    if let Some(fence) = fence {
        check(&mut tx, fence).await?;
    }
    Ok(tx)
}

/// The check itself, inside a transaction already begun. The share lock lasts until the
/// transaction ends, so no takeover commits in between.
pub(crate) async fn check(
    tx: &mut Transaction<'_, Postgres>,
    fence: &Fence,
) -> Result<(), StoreError> {
    let current: Option<i64> =
        sqlx::query_scalar("SELECT epoch FROM event_owners WHERE event_id = $1 FOR SHARE")
            .bind(fence.event_id)
            .fetch_optional(&mut **tx)
            .await?;
    let current = current.map_or(0, |c| u64::try_from(c).unwrap_or(0));
    if is_stale(fence.epoch, current) {
        return Err(StoreError::Fenced {
            event: fence.event_id,
            epoch: fence.epoch,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::is_stale;

    proptest! {
        /// Only an epoch behind the current one is refused: the owner that raised it and
        /// any later one write, every earlier one is fenced off.
        #[test]
        fn only_a_writer_behind_is_refused(mine in 0u64..1_000, current in 0u64..1_000) {
            prop_assert_eq!(is_stale(mine, current), mine < current);
            prop_assert!(!is_stale(current, current));
            prop_assert!(!is_stale(current + 1, current));
            if current > 0 {
                prop_assert!(is_stale(current - 1, current));
            }
        }
    }
}
