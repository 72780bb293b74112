//! When a failed event is tried again, and when it is given up on.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait before the second delivery; doubles with each further one. It is also how
    /// long an entry may sit with a consumer before another one takes it over, so it must
    /// exceed the time a handler normally takes (a takeover during a slow handler only
    /// costs a duplicate, which `processed_events` absorbs).
    pub base: Duration,
    /// Ceiling of the doubling.
    pub max: Duration,
    /// Deliveries after which a failing entry goes to the dead-letter stream.
    pub max_deliveries: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            max: Duration::from_secs(300),
            max_deliveries: 5,
        }
    }
}

impl RetryPolicy {
    /// How long an entry delivered `deliveries` times must have been idle before it is
    /// delivered again: base, 2·base, 4·base, ... capped at `max`.
    pub fn backoff(&self, deliveries: usize) -> Duration {
        let doublings = deliveries.saturating_sub(1).min(31) as u32;
        self.base
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max)
            .min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_ceiling() {
        let policy = RetryPolicy {
            base: Duration::from_millis(100),
            max: Duration::from_millis(500),
            max_deliveries: 5,
        };
        let waits: Vec<u128> = (0..6).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 100, 200, 400, 500, 500]);
        assert_eq!(policy.backoff(usize::MAX), policy.max);
    }
}
