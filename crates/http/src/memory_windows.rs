//! The rate limits' in-memory fallback while Redis is away: a sliding window of hits per
//! caller, kept in two generations. A caller touched in the current generation lives in
//! `current`; when a window has passed, `current` becomes `previous` and whatever was
//! left in the old `previous` (callers idle for a whole window, so without a hit inside
//! it) is dropped at once. Each hit is a few map operations however many callers are
//! tracked; dropping a generation costs one step per caller it held, paid once.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// What one hit decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Refused { retry_after: Duration },
}

#[derive(Debug)]
pub struct MemoryWindows {
    window: Duration,
    current: HashMap<String, VecDeque<Instant>>,
    previous: HashMap<String, VecDeque<Instant>>,
    turned_at: Instant,
}

impl MemoryWindows {
    pub fn new(window: Duration, now: Instant) -> Self {
        Self {
            window,
            current: HashMap::new(),
            previous: HashMap::new(),
            turned_at: now,
        }
    }

    /// Counts a hit for `name` at `now` if it had fewer than `limit` in the last window.
    pub fn hit(&mut self, name: &str, limit: u64, now: Instant) -> Verdict {
        if now.saturating_duration_since(self.turned_at) >= self.window {
            self.previous = std::mem::take(&mut self.current);
            self.turned_at = now;
        }
        if !self.current.contains_key(name) {
            let carried = self.previous.remove(name).unwrap_or_default();
            self.current.insert(name.to_owned(), carried);
        }
        let Some(hits) = self.current.get_mut(name) else {
            return Verdict::Allowed;
        };
        while hits
            .front()
            .is_some_and(|first| now.saturating_duration_since(*first) >= self.window)
        {
            hits.pop_front();
        }
        if (hits.len() as u64) < limit {
            hits.push_back(now);
            return Verdict::Allowed;
        }
        let retry_after = hits
            .front()
            .map(|first| {
                self.window
                    .saturating_sub(now.saturating_duration_since(*first))
            })
            .unwrap_or(self.window);
        Verdict::Refused { retry_after }
    }

    /// Callers tracked (both generations).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(60);

    #[test]
    fn a_window_allows_its_limit_then_refuses_until_the_oldest_hit_leaves() {
        let t0 = Instant::now();
        let mut windows = MemoryWindows::new(WINDOW, t0);
        for i in 0..3 {
            assert_eq!(
                windows.hit("a", 3, t0 + Duration::from_secs(i)),
                Verdict::Allowed
            );
        }
        assert_eq!(
            windows.hit("a", 3, t0 + Duration::from_secs(10)),
            Verdict::Refused {
                retry_after: Duration::from_secs(50)
            }
        );
        assert_eq!(windows.hit("b", 3, t0), Verdict::Allowed, "callers apart");
        // Across a generation turn the window slides on: the hits at 1 s and 2 s still
        // count at 60 s, the one at 0 s does not.
        assert_eq!(windows.hit("a", 3, t0 + WINDOW), Verdict::Allowed);
        assert!(matches!(
            windows.hit("a", 3, t0 + WINDOW + Duration::from_millis(500)),
            Verdict::Refused { .. }
        ));
        assert_eq!(
            windows.hit("a", 3, t0 + WINDOW + Duration::from_secs(2)),
            Verdict::Allowed
        );
    }

    #[test]
    fn idle_callers_are_forgotten_within_two_windows() {
        let t0 = Instant::now();
        let mut windows = MemoryWindows::new(WINDOW, t0);
        for i in 0..1000 {
            windows.hit(&format!("caller-{i}"), 10, t0);
        }
        assert_eq!(windows.len(), 1000);
        windows.hit("active", 10, t0 + WINDOW);
        windows.hit("active", 10, t0 + 2 * WINDOW);
        assert_eq!(windows.len(), 1, "only the caller still hitting is kept");
    }

    /// The old fallback scanned its whole map on every hit once it tracked 10,000 callers:
    /// 60,000 live callers took minutes. Here they take well under a second's work each
    /// way (a debug build, with a wide margin).
    #[test]
    fn a_hit_costs_the_same_however_many_callers_are_tracked() {
        let t0 = Instant::now();
        let mut windows = MemoryWindows::new(WINDOW, t0);
        let names: Vec<String> = (0..60_000).map(|i| format!("ip:10.0.{i}")).collect();
        let started = Instant::now();
        for (i, name) in names.iter().enumerate() {
            let now = t0 + Duration::from_micros(i as u64);
            assert_eq!(windows.hit(name, 5, now), Verdict::Allowed);
        }
        for (i, name) in names.iter().enumerate() {
            let now = t0 + Duration::from_millis(100) + Duration::from_micros(i as u64);
            assert_eq!(windows.hit(name, 5, now), Verdict::Allowed);
        }
        let took = started.elapsed();
        assert_eq!(windows.len(), 60_000);
        assert!(took < Duration::from_secs(3), "120,000 hits took {took:?}");
    }
}
