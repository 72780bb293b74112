//! A buyer's turn: who may hold now, how much, and when the turn ends.
//!
//! The entry token the edge checks only says that the user was admitted once; the actor,
//! which keeps the active set, decides whether they still are. While the event's queue is
//! on, a hold is refused to anyone not admitted now: never admitted, gone from the line,
//! or whose admission lapsed. A confirmed purchase ends the turn at once (the place goes
//! to the next in line), but the buyer may still finish, within the per-user limit, until
//! their admission would have lapsed; leaving the line or joining it again ends that too.
//! The per-user limit counts every live reservation of the user at this event, seats and
//! tickets, held or bought.

use std::time::Instant;

use ractor::ActorRef;

use super::error::EventError;
use super::messages::EventMsg;
use super::queue_ops::log;
use super::state::EventState;
use crate::admission::UserStatus;
use crate::ids::UserId;
use crate::queue_log::QueueLogRecord;
use crate::time::deadline;

/// Refuses a hold of `more` seats or tickets that the user may not take now.
pub(super) fn may_hold(
    state: &EventState,
    user: UserId,
    more: usize,
    at: Instant,
) -> Result<(), EventError> {
    if state.settings.enabled && !is_admitted(state, user, at) {
        return Err(EventError::NotAdmitted);
    }
    let max = state.settings.seats_per_user();
    let owned = u32::try_from(state.seats.seats_of(user))
        .unwrap_or(u32::MAX)
        .saturating_add(state.ticket_owners.tickets_of(user));
    let more = u32::try_from(more).unwrap_or(u32::MAX);
    if owned.saturating_add(more) > max {
        return Err(EventError::UserLimit { max, owned });
    }
    Ok(())
}

fn is_admitted(state: &EventState, user: UserId, at: Instant) -> bool {
    // A status read off the mailbox may have renewed the admission since.
    state.board.apply_heartbeats();
    let status = state.board.read().admission.status(user);
    match status {
        Some(UserStatus::Active { expires_at }) => expires_at > at,
        _ => state.finishing.get(&user).is_some_and(|&until| until > at),
    }
}

/// A buyer whose purchase is confirmed has had their turn: their place among the active
/// goes to the next person in line at once ([`fill_freed_room`]), instead of idling until
/// the admission expires (with 1,000 active and a 10-minute TTL, a sale would otherwise
/// crawl after its first thousand buyers). They may still finish until their admission
/// would have lapsed (see the module docs).
pub(super) fn end_turn(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    user: UserId,
    at: Instant,
) {
    let left = {
        let mut standing = state.board.write();
        standing.admission.active().contains(user) && standing.admission.leave(user).is_some()
    };
    if left {
        log(state, myself, QueueLogRecord::Left { user });
        let until = deadline(at, state.settings.active_ttl);
        state.finishing.insert(user, until);
        fill_freed_room(state, myself, at);
    }
}

/// Gives room that freed between ticks to the head of the line at once, within the
/// tick's budget (`Admission::admit_freed`, `docs/architecture.md#tier-1-and-tier-2`):
/// a place among the active that waited for the next tick stood empty for half a tick
/// on average, a sizeable part of a turn in a rush. Nobody is admitted once everything is
/// sold. Queue subscribers hear of it with the next tick.
pub(super) fn fill_freed_room(state: &mut EventState, myself: &ActorRef<EventMsg>, at: Instant) {
    state.admit_only_with_something_to_sell();
    let admitted = state.board.write().admission.admit_freed(at);
    record_admissions(state, myself, at, &admitted);
    state.admitted_since_tick.extend(admitted);
}

/// What every admission from the line leaves behind, by a tick or between ticks: its
/// `Admitted` record in the log, the operators' rate and the metric.
pub(super) fn record_admissions(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    at: Instant,
    admitted: &[UserId],
) {
    for &user in admitted {
        log(state, myself, QueueLogRecord::Admitted { user });
    }
    state.count_admissions(at, admitted.len());
    super::telemetry::admitted(state.event_id, admitted.len());
}

/// Forgets the buyers whose time to finish has passed.
pub(super) fn sweep_finished(state: &mut EventState, at: Instant) {
    state.finishing.retain(|_, until| *until > at);
}
