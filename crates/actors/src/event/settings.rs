use std::time::Duration;

use crate::admission::AdmissionConfig;

/// Per-event queue and hold settings (admin-tunable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// When false, the event sells without a Tier-2 queue (no entry token needed).
    pub enabled: bool,
    pub threshold: u32,
    pub batch: u32,
    pub tick: Duration,
    pub active_ttl: Duration,
    pub queue_ttl: Duration,
    pub hold_ttl: Duration,
    pub max_seats_per_hold: u32,
    /// Most seats (or tickets) one user may hold or have bought at this event, across
    /// all their reservations; `None`: as many as one hold may take.
    pub max_seats_per_user: Option<u32>,
    /// How long a waiting-list offer holds its seats for the person it was offered to
    /// (docs/waiting-list.md); then it passes to the next.
    pub waitlist_offer_ttl: Duration,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            threshold: 1_000,
            batch: 100,
            tick: Duration::from_secs(1),
            active_ttl: Duration::from_secs(600),
            queue_ttl: Duration::from_secs(60),
            hold_ttl: Duration::from_secs(300),
            max_seats_per_hold: 4,
            max_seats_per_user: None,
            waitlist_offer_ttl: Duration::from_secs(600),
        }
    }
}

impl QueueSettings {
    pub fn admission(&self) -> AdmissionConfig {
        AdmissionConfig {
            threshold: self.threshold as usize,
            batch: self.batch as usize,
            active_ttl: self.active_ttl,
            queue_ttl: self.queue_ttl,
        }
    }

    /// The per-user limit in force (see [`Self::max_seats_per_user`]).
    pub fn seats_per_user(&self) -> u32 {
        self.max_seats_per_user.unwrap_or(self.max_seats_per_hold)
    }

    /// People admitted per second at full flow, for wait estimates.
    pub fn admissions_per_sec(&self) -> f64 {
        let tick = self.tick.as_secs_f64().max(0.001);
        f64::from(self.batch) / tick
    }
}
