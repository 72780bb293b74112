//! The actor's own timer: admits the next batch, expires lapsed admissions, places and
//! holds, tells queue subscribers, and stops the actor once nothing is left to do.

use std::time::Instant;

use ractor::ActorRef;

use super::messages::EventMsg;
use super::queue_ops::log;
use super::state::EventState;
use super::views::{QueueTick, SeatStatus};
use crate::ids::ReservationId;
use crate::ports::Ending;
use crate::queue_log::QueueLogRecord;

pub(super) async fn tick(state: &mut EventState, myself: &ActorRef<EventMsg>, at: Instant) {
    let tick = state.admission.tick(at);
    for &user in &tick.expired {
        log(state, myself, QueueLogRecord::Expired { user });
    }
    for &user in &tick.admitted {
        log(state, myself, QueueLogRecord::Admitted { user });
    }
    state.count_admissions(at, tick.admitted.len());
    for user in state.admission.drop_stale(at) {
        log(state, myself, QueueLogRecord::Dropped { user });
    }
    expire_holds(state, at).await;
    if state.queue_ticks.receiver_count() > 0 {
        let _ = state.queue_ticks.send(QueueTick {
            admitted: tick.admitted,
        });
    }
    if state.is_idle(at) {
        tracing::info!(event = %state.event_id, "event actor idle: stopping");
        myself.stop(Some("idle".into()));
    }
}

/// Frees every lapsed hold: in memory at once, then one transaction records them all as
/// expired and one script call frees their seat locks. When the transaction fails the
/// seats are still free in memory; PostgreSQL keeps the rows live until the sweeper
/// expires them, and its constraint refuses any double hold meanwhile.
async fn expire_holds(state: &mut EventState, at: Instant) {
    let seat_holds = state.seats.expire(at);
    let mut ended: Vec<(ReservationId, Ending)> = seat_holds
        .iter()
        .map(|(reservation, _)| (*reservation, Ending::Expired))
        .collect();
    for (reservation, _) in state.inventory.expire(at) {
        state.ticket_owners.remove(&reservation);
        ended.push((reservation, Ending::Expired));
    }
    if ended.is_empty() {
        return;
    }
    if let Err(err) = state.store.finish_many(&ended, "hold expired").await {
        tracing::warn!(%err, holds = ended.len(), "recording expired holds failed");
    }
    if !seat_holds.is_empty()
        && let Err(err) = state.store.unlock_many(state.event_id, &seat_holds).await
    {
        tracing::warn!(%err, "unlocking expired seats failed; locks lapse by TTL");
    }
    for (_, seats) in seat_holds {
        state.announce(seats, SeatStatus::Available);
    }
}
