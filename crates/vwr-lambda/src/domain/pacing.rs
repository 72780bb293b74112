//! How often a waiting client should poll, and how long it will likely wait.

/// Seconds until the next check, by how many people are ahead (`docs/architecture.md#the-gateway`): close to the
/// front a client polls often so admission is noticed quickly; far back it polls rarely
/// so the rush does not turn into a polling storm.
pub fn next_poll_secs(ahead: u64) -> u64 {
    match ahead {
        0..=500 => 2,
        501..=2_000 => 5,
        2_001..=10_000 => 10,
        _ => 15,
    }
}

/// Seconds until `ahead` people have been served at `rate` per second. The rate is the
/// one measured by the advancer; until it has measured one, the configured batch per
/// interval stands in.
pub fn estimated_wait_secs(
    ahead: u64,
    measured_rate: Option<f64>,
    batch: u64,
    interval_secs: u64,
) -> u64 {
    if ahead == 0 {
        return 0;
    }
    let configured = batch as f64 / interval_secs.max(1) as f64;
    let rate = match measured_rate {
        Some(r) if r.is_finite() && r > 0.0 => r,
        _ => configured,
    };
    if rate <= 0.0 {
        // Admission is paused or the batch is zero: no honest estimate beyond "long".
        return u64::MAX / 2;
    }
    (ahead as f64 / rate).ceil().min(u64::MAX as f64 / 4.0) as u64
}

/// Folds one advancer observation (positions served over elapsed seconds) into the
/// running rate. An exponential average follows a changing batch within a few cycles
/// without jumping on one short or stalled cycle.
pub fn fold_rate(previous: Option<f64>, served: u64, elapsed_secs: f64) -> Option<f64> {
    if elapsed_secs <= 0.0 || !elapsed_secs.is_finite() {
        return previous;
    }
    let sample = served as f64 / elapsed_secs;
    Some(match previous {
        Some(prev) if prev.is_finite() => 0.7 * prev + 0.3 * sample,
        _ => sample,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_ladder_matches_the_spec() {
        assert_eq!(next_poll_secs(0), 2);
        assert_eq!(next_poll_secs(500), 2);
        assert_eq!(next_poll_secs(501), 5);
        assert_eq!(next_poll_secs(2_000), 5);
        assert_eq!(next_poll_secs(2_001), 10);
        assert_eq!(next_poll_secs(10_000), 10);
        assert_eq!(next_poll_secs(10_001), 15);
        assert_eq!(next_poll_secs(u64::MAX), 15);
    }

    #[test]
    fn wait_uses_measured_rate_then_configured_batch() {
        assert_eq!(estimated_wait_secs(0, None, 500, 10), 0);
        assert_eq!(estimated_wait_secs(1000, None, 500, 10), 20);
        assert_eq!(estimated_wait_secs(1000, Some(100.0), 500, 10), 10);
        assert_eq!(estimated_wait_secs(1000, Some(f64::NAN), 500, 10), 20);
        assert!(estimated_wait_secs(1, None, 0, 10) > 1_000_000);
    }

    #[test]
    fn rate_follows_observations() {
        let r = fold_rate(None, 500, 10.0);
        assert_eq!(r, Some(50.0));
        let r = fold_rate(r, 0, 10.0).unwrap();
        assert!((r - 35.0).abs() < 1e-9);
        assert_eq!(fold_rate(Some(1.0), 5, 0.0), Some(1.0));
    }
}
