//! Deadlines on the actor's one clock.

use std::time::{Duration, Instant};

/// `now + ttl`, without the panic `Instant + Duration` has on overflow: an absurd TTL
/// from configuration means "practically never", not a crashed actor.
pub(crate) fn deadline(now: Instant, ttl: Duration) -> Instant {
    now.checked_add(ttl)
        .or_else(|| now.checked_add(Duration::from_secs(u64::from(u32::MAX))))
        .unwrap_or(now)
}
