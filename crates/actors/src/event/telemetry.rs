//! What the EventActor reports to Prometheus (the `metrics` facade; the node installs the
//! recorder). Names and meanings are listed in `docs/operations.md#metrics`. Every series
//! carries the event's id: an on-sale has few live events per node, so the label stays
//! small.

use std::time::Duration;

use uuid::Uuid;

use super::state::EventState;

/// Gauges of where the event stands, set after each admission tick.
pub(super) fn standing(state: &EventState) {
    let event = state.event_id.to_string();
    let queue = state.board.read().admission.overview();
    let seats = state.seats.counts();
    metrics::gauge!("urr_event_waiting", "event" => event.clone()).set(queue.waiting as f64);
    metrics::gauge!("urr_event_active", "event" => event.clone()).set(queue.active as f64);
    for (kind, count) in [
        ("available", seats.available),
        ("held", seats.held),
        ("sold", seats.sold),
    ] {
        metrics::gauge!("urr_event_seats", "event" => event.clone(), "state" => kind)
            .set(count as f64);
    }
}

/// People admitted (by a tick, or at once on joining an empty line).
pub(super) fn admitted(event: Uuid, count: usize) {
    if count > 0 {
        metrics::counter!("urr_event_admitted_total", "event" => event.to_string())
            .increment(count as u64);
    }
}

/// Holds answered: made, refused because a seat was taken (the 409s of a rush), expired.
pub(super) fn holds(event: Uuid, outcome: &'static str, count: usize) {
    if count > 0 {
        metrics::counter!("urr_event_holds_total", "event" => event.to_string(), "outcome" => outcome)
            .increment(count as u64);
    }
}

/// One group commit: how many requests it carried and how long the durable write took.
pub(super) fn commit(kind: &'static str, batch: usize, took: Duration) {
    metrics::histogram!("urr_actor_commit_batch", "kind" => kind).record(batch as f64);
    metrics::histogram!("urr_actor_commit_seconds", "kind" => kind).record(took.as_secs_f64());
}

/// Calls waiting on an event's actor (its mailbox and the one being handled).
pub(super) fn in_flight(event: Uuid, delta: f64) {
    metrics::gauge!("urr_actor_calls_in_flight", "event" => event.to_string()).increment(delta);
}

/// Messages waiting in an event actor's mailbox: raised as each is sent (calls, its own
/// timer and flushes), lowered as the actor takes it up.
pub(super) fn mailbox(event: Uuid) -> metrics::Gauge {
    metrics::gauge!("urr_actor_mailbox_depth", "event" => event.to_string())
}

/// A crashed actor restarted by its supervisor.
pub(super) fn restarted(event: Uuid) {
    metrics::counter!("urr_actor_restarts_total", "event" => event.to_string()).increment(1);
}
