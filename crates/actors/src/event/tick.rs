//! The actor's own timer: admits the next batch, expires lapsed admissions, places and
//! holds, keeps the event's sold-out status recorded, tells queue subscribers, and stops
//! the actor once nothing is left to do.

use std::time::Instant;

use ractor::ActorRef;

use super::messages::EventMsg;
use super::offers::offer_returned;
use super::queue_ops::log;
use super::sales::{record_sale_status, recorded};
use super::state::EventState;
use super::telemetry;
use super::turns::{record_admissions, sweep_finished};
use super::views::{QueueTick, SeatStatus};
use crate::ids::{ReservationId, SeatId};
use crate::ports::{Ending, Recorded, RecordedReservation};
use crate::queue_log::QueueLogRecord;

pub(super) async fn tick(state: &mut EventState, myself: &ActorRef<EventMsg>, at: Instant) {
    state.admit_only_with_something_to_sell();
    state.board.apply_heartbeats();
    let tick = state.board.write().admission.tick(at);
    for &user in &tick.expired {
        log(state, myself, QueueLogRecord::Expired { user });
    }
    record_admissions(state, myself, at, &tick.admitted);
    let stale = state.board.write().admission.drop_stale(at);
    for user in stale {
        log(state, myself, QueueLogRecord::Dropped { user });
    }
    sweep_finished(state, at);
    expire_holds(state, at).await;
    offer_returned(state, myself, at).await;
    record_sale_status(state).await;
    telemetry::standing(state);
    // Everyone admitted since the last tick: between ticks as room freed, then by this one.
    let mut admitted = std::mem::take(&mut state.admitted_since_tick);
    admitted.extend(tick.admitted);
    if state.queue_ticks.receiver_count() > 0 {
        let _ = state.queue_ticks.send(QueueTick { admitted });
    }
    if state.is_idle(at) {
        tracing::info!(event = %state.event_id, "event actor idle: stopping");
        myself.stop(Some("idle".into()));
    }
}

/// Frees every lapsed hold: in memory at once, then one transaction records them all as
/// expired and one script call frees their seat locks. When the transaction fails the
/// seats are still free in memory; PostgreSQL keeps the rows live until the sweeper
/// expires them, and its constraint refuses any double hold meanwhile. A hold PostgreSQL
/// says is no longer pending is settled by what it records instead (a sale whose commit
/// landed unheard is a sale: its seats and locks stay sold).
async fn expire_holds(state: &mut EventState, at: Instant) {
    // A hold whose durable write is in flight stays: its record is about to exist. So
    // does one whose sale waits for the next batch: its payment came before it lapsed.
    let (in_flight, sales) = (&state.in_flight, &state.pending_sales);
    let seat_holds = state.seats.expire_where(at, |reservation| {
        !in_flight.contains(&reservation) && !sales.iter().any(|s| s.reservation == reservation)
    });
    let mut ended: Vec<(ReservationId, Ending)> = seat_holds
        .iter()
        .map(|(reservation, _)| (*reservation, Ending::Expired))
        .collect();
    let mut ticket_holds = Vec::new();
    for (reservation, booking) in state.inventory.expire(at) {
        if let Some(user) = state.ticket_owners.remove(reservation) {
            ticket_holds.push((reservation, user, booking));
        }
        ended.push((reservation, Ending::Expired));
    }
    if ended.is_empty() {
        return;
    }
    telemetry::holds(state.event_id, "expired", ended.len());
    let finished = match state.store.finish_many(&ended, "hold expired").await {
        Ok(finished) if finished.len() == ended.len() => finished,
        Ok(_) | Err(_) => {
            tracing::warn!(holds = ended.len(), "recording expired holds failed");
            vec![true; ended.len()]
        }
    };
    let not_pending: Vec<ReservationId> = ended
        .iter()
        .zip(&finished)
        .filter(|(_, done)| !**done)
        .map(|((reservation, _), _)| *reservation)
        .collect();
    let mut unlock: Vec<(ReservationId, Vec<SeatId>)> = Vec::with_capacity(seat_holds.len());
    for (reservation, seats) in seat_holds {
        if not_pending.contains(&reservation) {
            match recorded(state, reservation).await {
                Ok(Some(RecordedReservation {
                    status: Recorded::Confirmed,
                    user,
                })) => {
                    if let Err(err) = state.seats.restore_sold(reservation, user, &seats) {
                        tracing::error!(%err, %reservation, "taking back a sale the hold outlived");
                    }
                    state.announce(seats, SeatStatus::Reserved);
                    continue;
                }
                Ok(_) => {}
                Err(err) => {
                    // Unknown: its locks stay rather than free seats that may be sold.
                    tracing::warn!(%err, %reservation, "a lapsed hold's record is unknown");
                    continue;
                }
            }
        }
        unlock.push((reservation, seats));
    }
    for (reservation, user, booking) in ticket_holds {
        if !not_pending.contains(&reservation) {
            continue;
        }
        if let Ok(Some(RecordedReservation {
            status: Recorded::Confirmed,
            ..
        })) = recorded(state, reservation).await
        {
            let restored =
                state
                    .inventory
                    .restore_sold(reservation, booking.ticket_type, booking.quantity);
            if let Err(err) = restored {
                tracing::error!(%err, %reservation, "taking back a sale the hold outlived");
            }
            state
                .ticket_owners
                .insert(reservation, user, booking.quantity);
        }
    }
    if !unlock.is_empty()
        && let Err(err) = state.store.unlock_many(state.event_id, &unlock).await
    {
        tracing::warn!(%err, "unlocking expired seats failed; locks lapse by TTL");
    }
    for (_, seats) in unlock {
        state.announce(seats.iter().copied(), SeatStatus::Available);
        state.returned.extend(seats);
    }
}
