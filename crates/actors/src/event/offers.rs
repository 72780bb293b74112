//! The waiting list's timed offers (docs/waiting-list.md): seats that come back (a hold
//! that lapsed or was cancelled, a refund) go to the people on the event's waiting list,
//! in the order they joined, before anyone else can take them.
//!
//! An offer is an ordinary hold taken by the actor for the person, with the event's offer
//! time instead of its hold time, and the idempotency key `waitlist:<entry>`
//! ([`offer_key`]). So an offered seat is held like any other: the seat map, the Redis
//! lock and PostgreSQL's one-live-reservation-per-seat rule each refuse a second holder,
//! and no seat is offered to two people. The person pays it as any reservation, or lets
//! it lapse; then its seats come back and are offered to the next.

use std::time::Instant;

use ractor::ActorRef;
use uuid::Uuid;

use super::messages::{EventMsg, Reply};
use super::state::{EventState, PendingHold};
use crate::ids::{ReservationId, SeatId};
use crate::ports::offer_key;
use crate::seat_map::SeatState;

/// How many waiting people one round looks at: far more than one round of returned
/// seats can serve, even when people near the head want more seats than came back.
const LOOK_AHEAD: usize = 200;

/// Offers the seats that came back since the last round, if anyone is waiting. Runs
/// before the seats can be held by anyone else: in the same message that freed them.
pub(super) async fn offer_returned(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    at: Instant,
) {
    if state.returned.is_empty() {
        return;
    }
    let mut free: Vec<SeatId> = std::mem::take(&mut state.returned);
    free.retain(|seat| matches!(state.seats.status(*seat), Some(SeatState::Available)));
    free.dedup();
    if free.is_empty() || !state.on_sale {
        return;
    }
    let waiting = match state
        .store
        .waiting_for_offer(state.event_id, LOOK_AHEAD)
        .await
    {
        Ok(waiting) => waiting,
        Err(err) => {
            // The seats stay on sale to everyone: better than holding them for nobody.
            tracing::warn!(event = %state.event_id, %err, "waiting list unreadable; returned seats go on sale");
            return;
        }
    };
    let ttl = state.settings.waitlist_offer_ttl;
    let max = state.settings.seats_per_user() as usize;
    let mut made = 0usize;
    for entry in waiting {
        if free.is_empty() {
            break;
        }
        let wanted = entry.quantity as usize;
        // In order, but a person who wants more seats than are free keeps their place
        // for a later return that fits, rather than holding the seats for nobody.
        if wanted == 0 || wanted > free.len() || state.offered.contains(&entry.id) {
            continue;
        }
        let seats: Vec<SeatId> = free[..wanted].to_vec();
        let reservation = ReservationId::from(Uuid::now_v7());
        if let Err(err) = state
            .seats
            .hold(entry.user, reservation, &seats, at, ttl, max)
        {
            // Over their limit with other holds, say: the next person may fit.
            tracing::debug!(entry = %entry.id, ?err, "waiting-list offer not possible");
            continue;
        }
        free.drain(..wanted);
        let key = offer_key(entry.id);
        state.offered.insert(entry.id);
        state
            .idempotency
            .insert((entry.user, key.clone()), reservation);
        tracing::info!(event = %state.event_id, entry = %entry.id, %reservation,
            seats = seats.len(), "waiting-list offer taken in memory, its durable write queued");
        state.pending_holds.push(PendingHold {
            user: entry.user,
            reservation,
            seats,
            idempotency_key: key,
            reply: Reply::detached(tracing::Span::current()),
            ttl,
        });
        made += 1;
    }
    if made > 0 && !state.holds_flush_queued {
        state.holds_flush_queued = true;
        state.holds_flush_queued = state.send_self(myself, EventMsg::FlushHolds);
    }
}
