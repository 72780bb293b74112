//! What the Tier-1 room reports to Prometheus when it runs in a node (names in
//! `docs/operations.md#metrics`; on Lambda no recorder is installed and these cost
//! nothing): joins, and after each advancer step where the room stands.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::ids::EventId;
use crate::domain::room::{Phase, RoomState};

/// Beyond this many events the handles are looked up afresh rather than grow.
const MAX_EVENTS: usize = 10_000;

/// Counts new places (`urr_tier1_joins_total`), not repeats of someone's existing one,
/// with each event's counter looked up in the recorder once rather than per join.
#[derive(Clone, Default)]
pub(crate) struct Joins {
    counters: Arc<Mutex<HashMap<EventId, metrics::Counter>>>,
}

impl Joins {
    pub fn joined(&self, event: &EventId) {
        let counter = {
            let mut counters = self
                .counters
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if counters.len() >= MAX_EVENTS && !counters.contains_key(event) {
                counters.clear();
            }
            counters
                .entry(event.clone())
                .or_insert_with(
                    || metrics::counter!("urr_tier1_joins_total", "event" => event.to_string()),
                )
                .clone()
        };
        counter.increment(1);
    }
}

/// The room after an advancer step: the last position let through, places given so far,
/// and how many hold a place not yet let through (in the pre-queue before the sale
/// opens, which `phase` says).
pub(crate) fn standing(event: &EventId, state: &RoomState, next_position: u64, phase: Phase) {
    let event = event.to_string();
    let waiting = next_position.saturating_sub(state.serving_counter) as f64;
    metrics::gauge!("urr_tier1_serving", "event" => event.clone())
        .set(state.serving_counter as f64);
    metrics::gauge!("urr_tier1_positions_issued", "event" => event.clone())
        .set(next_position as f64);
    let (waiting_now, pre_queue) = match phase {
        Phase::PreQueue { .. } => (0.0, waiting),
        _ => (waiting, 0.0),
    };
    metrics::gauge!("urr_tier1_waiting", "event" => event.clone()).set(waiting_now);
    metrics::gauge!("urr_tier1_pre_queue", "event" => event).set(pre_queue);
}

/// A join refused by the room's bot defence, by why (`address_limit`, `account_limit`,
/// `challenge`, `challenge_used`, `captcha`).
pub(crate) fn refused(event: &EventId, reason: &'static str) {
    metrics::counter!(
        "urr_tier1_joins_refused_total",
        "event" => event.to_string(),
        "reason" => reason
    )
    .increment(1);
}
