//! After the hold: the sale (confirm, with fencing tokens verified), the user's cancel,
//! the late completion of a lapsed hold (revive), and the refund.

use std::time::Instant;

use ractor::ActorRef;

use super::error::EventError;
use super::holds::hold_error;
use super::messages::EventMsg;
use super::queue_ops::log;
use super::state::{EventState, LOCK_GRACE};
use super::views::SeatStatus;
use crate::ids::{ReservationId, SeatId, UserId};
use crate::ports::{ConfirmOutcome, Ending, LockOutcome};
use crate::queue_log::QueueLogRecord;
use crate::seat_map::SeatState;

pub(super) async fn confirm(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    reservation: ReservationId,
    at: Instant,
) -> Result<(), EventError> {
    if let Some(booking) = state.seats.booking(reservation) {
        let buyer = booking.user;
        let mut pairs = Vec::with_capacity(booking.seats.len());
        for &seat in &booking.seats {
            match state.seats.status(seat) {
                Some(SeatState::Held {
                    reservation: holder,
                    token: Some(token),
                    expires_at,
                    ..
                }) if *holder == reservation => {
                    if *expires_at <= at {
                        return Err(EventError::HoldExpired);
                    }
                    pairs.push((seat, *token));
                }
                _ => return Err(EventError::NotPending),
            }
        }
        let outcome = state
            .store
            .confirm(state.event_id, reservation, &pairs)
            .await
            .map_err(|e| EventError::Unavailable(e.to_string()))?;
        return match outcome {
            ConfirmOutcome::Confirmed => {
                state
                    .seats
                    .confirm(reservation, at)
                    .map_err(|_| EventError::NotPending)?;
                state.announce(
                    pairs.into_iter().map(|(seat, _)| seat),
                    SeatStatus::Reserved,
                );
                end_turn(state, myself, buyer);
                Ok(())
            }
            ConfirmOutcome::StaleToken(seats) => Err(EventError::StaleFencingToken(seats)),
            ConfirmOutcome::NotPending => {
                release_seats(state, reservation).await;
                Err(EventError::NotPending)
            }
        };
    }
    if state.inventory.booking(reservation).is_some() {
        let outcome = state
            .store
            .confirm(state.event_id, reservation, &[])
            .await
            .map_err(|e| EventError::Unavailable(e.to_string()))?;
        return match outcome {
            ConfirmOutcome::Confirmed => {
                state
                    .inventory
                    .confirm(reservation, at)
                    .map_err(|_| EventError::HoldExpired)?;
                Ok(())
            }
            ConfirmOutcome::StaleToken(seats) => Err(EventError::StaleFencingToken(seats)),
            ConfirmOutcome::NotPending => {
                state.inventory.release(reservation);
                Err(EventError::NotPending)
            }
        };
    }
    Err(EventError::ReservationNotFound)
}

/// A buyer whose purchase is confirmed has had their turn: their place among the
/// active goes to the next person in line at the next tick, instead of idling until the
/// admission expires (with 1,000 active and a 10-minute TTL, a sale would otherwise
/// crawl after its first thousand buyers). Their entry token still works until it
/// expires, so a second purchase within the per-event limit is not refused.
fn end_turn(state: &mut EventState, myself: &ActorRef<EventMsg>, user: UserId) {
    if state.admission.active().contains(user) && state.admission.leave(user).is_some() {
        log(state, myself, QueueLogRecord::Left { user });
    }
}

pub(super) async fn cancel(
    state: &mut EventState,
    user: UserId,
    reservation: ReservationId,
) -> Result<(), EventError> {
    let owner = state
        .seats
        .booking(reservation)
        .map(|booking| booking.user)
        .or_else(|| state.ticket_owners.get(&reservation).copied());
    if owner != Some(user) {
        return Err(EventError::ReservationNotFound);
    }
    let finished = state
        .store
        .finish(reservation, Ending::Cancelled, "cancelled by the user")
        .await
        .map_err(|e| EventError::Unavailable(e.to_string()))?;
    if !finished {
        return Err(EventError::NotPending);
    }
    if state.seats.booking(reservation).is_some() {
        release_seats(state, reservation).await;
    } else {
        state.inventory.release(reservation);
        state.ticket_owners.remove(&reservation);
    }
    Ok(())
}

/// Sells a lapsed reservation's seats after all, when its payment arrived late and every
/// seat is still free: locks re-taken with fresh fencing tokens, then one transaction.
pub(super) async fn revive(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    user: UserId,
    reservation: ReservationId,
    seats: Vec<SeatId>,
    at: Instant,
) -> Result<(), EventError> {
    if state.seats.booking(reservation).is_some() {
        return confirm(state, myself, reservation, at).await;
    }
    let taken: Vec<SeatId> = seats
        .iter()
        .copied()
        .filter(|s| !matches!(state.seats.status(*s), Some(SeatState::Available)))
        .collect();
    if !taken.is_empty() {
        return Err(EventError::SeatsTaken(taken));
    }
    let ttl = state.settings.hold_ttl;
    state
        .seats
        .hold(user, reservation, &seats, at, ttl, usize::MAX)
        .map_err(hold_error)?;
    let locked = state
        .store
        .lock_seats(
            state.event_id,
            &[(reservation, seats.clone())],
            ttl + LOCK_GRACE,
        )
        .await;
    let tokens = match locked.map(|mut outcomes| outcomes.pop()) {
        Ok(Some(LockOutcome::Locked(tokens))) => tokens,
        Ok(Some(LockOutcome::Taken(taken))) => {
            state.seats.release(reservation);
            return Err(EventError::SeatsTaken(taken));
        }
        Ok(None) | Err(_) => {
            state.seats.release(reservation);
            return Err(EventError::Unavailable("locking seats failed".into()));
        }
    };
    let pairs: Vec<_> = seats.iter().copied().zip(tokens).collect();
    let note = "paid after the hold lapsed; the seats were still free, so the sale was completed";
    let revived = state
        .store
        .revive(state.event_id, reservation, &pairs, note)
        .await;
    if !matches!(revived, Ok(true)) {
        state.seats.release(reservation);
        let _ = state
            .store
            .unlock_seats(state.event_id, reservation, &seats)
            .await;
        return Err(match revived {
            Err(err) => EventError::Unavailable(err.to_string()),
            Ok(_) => EventError::SeatsTaken(seats),
        });
    }
    if let Err(err) = state.seats.attach_tokens(reservation, &pairs) {
        tracing::error!(%err, "attaching fencing tokens to a revived hold");
    }
    state
        .seats
        .confirm(reservation, at)
        .map_err(|_| EventError::NotPending)?;
    state.announce(seats, SeatStatus::Reserved);
    Ok(())
}

pub(super) async fn refund(
    state: &mut EventState,
    reservation: ReservationId,
) -> Result<(), EventError> {
    let seats: Vec<SeatId> = match state.seats.booking(reservation) {
        Some(booking) => booking.seats.clone(),
        None if state.ticket_owners.contains_key(&reservation) => Vec::new(),
        None => return Err(EventError::ReservationNotFound),
    };
    let done = state
        .store
        .cancel_confirmed(state.event_id, reservation, &seats, "refunded")
        .await
        .map_err(|e| EventError::Unavailable(e.to_string()))?;
    if !done {
        return Err(EventError::NotPending);
    }
    if seats.is_empty() {
        state.inventory.release(reservation);
        state.ticket_owners.remove(&reservation);
    } else {
        let freed = state.seats.release(reservation);
        state.announce(freed, SeatStatus::Available);
    }
    Ok(())
}

/// Frees a reservation's seats in memory and in Redis, and tells subscribers.
async fn release_seats(state: &mut EventState, reservation: ReservationId) {
    let seats = state.seats.release(reservation);
    if let Err(err) = state
        .store
        .unlock_seats(state.event_id, reservation, &seats)
        .await
    {
        tracing::warn!(%err, %reservation, "unlocking seats failed; locks lapse by TTL");
    }
    state.announce(seats, SeatStatus::Available);
}
