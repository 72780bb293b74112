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

/// Frees every lapsed hold, in memory, in PostgreSQL and in Redis.
async fn expire_holds(state: &mut EventState, at: Instant) {
    for (reservation, seats) in state.seats.expire(at) {
        finish_expired(state, reservation).await;
        if let Err(err) = state
            .store
            .unlock_seats(state.event_id, reservation, &seats)
            .await
        {
            tracing::warn!(%err, %reservation, "unlocking expired seats failed");
        }
        state.announce(seats, SeatStatus::Available);
    }
    for (reservation, _) in state.inventory.expire(at) {
        state.ticket_owners.remove(&reservation);
        finish_expired(state, reservation).await;
    }
}

async fn finish_expired(state: &EventState, reservation: ReservationId) {
    if let Err(err) = state
        .store
        .finish(reservation, Ending::Expired, "hold expired")
        .await
    {
        // The seats are free in memory; Postgres keeps the row live until the sweeper
        // expires it, and its constraint refuses any double hold meanwhile.
        tracing::warn!(%err, %reservation, "recording an expired hold failed");
    }
}
