//! After the hold: the sale (confirm, with fencing tokens verified), the user's cancel,
//! the late completion of a lapsed hold (revive), and the refund.
//!
//! Confirming is idempotent: a reservation already sold, in memory or in PostgreSQL,
//! answers `Ok` and changes nothing. When the store answers "not pending" for a
//! reservation the actor still holds, the actor asks PostgreSQL what it records and
//! follows it (sold: memory agrees; ended: the hold is released), never guessing.

use std::time::Instant;

use ractor::ActorRef;

use super::error::EventError;
use super::holds::hold_error;
use super::messages::EventMsg;
use super::offers::offer_returned;
use super::state::{EventState, LOCK_GRACE};
use super::turns::end_turn;
use super::views::SeatStatus;
use crate::booking::BookingStatus;
use crate::ids::{FencingToken, ReservationId, SeatId, UserId};
use crate::ports::{ConfirmOutcome, Ending, LockOutcome, Recorded, RecordedReservation};
use crate::seat_map::SeatState;

/// What confirming a reservation asks of the store, read off memory.
pub(super) enum Sale {
    /// Sold already: the answer is `Ok`, nothing to write.
    Sold,
    /// The seats' fencing tokens to check (none for counted tickets), and whether the
    /// hold had lapsed when the payment came.
    Write {
        pairs: Vec<(SeatId, FencingToken)>,
        lapsed: bool,
    },
}

/// What `reservation`'s sale needs, or why there is none.
pub(super) fn prepare(
    state: &EventState,
    reservation: ReservationId,
    at: Instant,
) -> Result<Sale, EventError> {
    let mut lapsed = false;
    let pairs = if let Some(booking) = state.seats.booking(reservation) {
        if booking.status == BookingStatus::Sold {
            return Ok(Sale::Sold);
        }
        let mut pairs = Vec::with_capacity(booking.seats.len());
        for &seat in &booking.seats {
            match state.seats.status(seat) {
                Some(SeatState::Held {
                    reservation: holder,
                    token: Some(token),
                    expires_at,
                    ..
                }) if *holder == reservation => {
                    lapsed |= *expires_at <= at;
                    pairs.push((seat, *token));
                }
                _ => return Err(EventError::NotPending),
            }
        }
        pairs
    } else if let Some(booking) = state.inventory.booking(reservation) {
        match booking.status {
            BookingStatus::Sold => return Ok(Sale::Sold),
            BookingStatus::Held { expires_at } => lapsed = expires_at <= at,
        }
        Vec::new()
    } else {
        return Err(EventError::ReservationNotFound);
    };
    Ok(Sale::Write { pairs, lapsed })
}

pub(super) async fn confirm(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    reservation: ReservationId,
    at: Instant,
) -> Result<(), EventError> {
    let pairs = match prepare(state, reservation, at)? {
        Sale::Sold => return Ok(()),
        Sale::Write { lapsed: true, .. } => {
            return confirm_lapsed(state, myself, reservation, at).await;
        }
        Sale::Write { pairs, .. } => pairs,
    };
    let outcome = state
        .store
        .confirm(state.event_id, reservation, &pairs)
        .await
        .map_err(|e| EventError::Unavailable(e.to_string()))?;
    settle(state, myself, reservation, at, outcome).await
}

/// The hold's expiry is checked before anything commits: a lapsed hold is no sale,
/// unless PostgreSQL already records one (a confirmation whose answer was lost).
pub(super) async fn confirm_lapsed(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    reservation: ReservationId,
    at: Instant,
) -> Result<(), EventError> {
    match recorded(state, reservation).await? {
        Some(RecordedReservation {
            status: Recorded::Confirmed,
            ..
        }) => sale_made(state, myself, reservation, at).await,
        _ => Err(EventError::HoldExpired),
    }
}

/// Memory follows what the store did with a sale.
pub(super) async fn settle(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    reservation: ReservationId,
    at: Instant,
    outcome: ConfirmOutcome,
) -> Result<(), EventError> {
    match outcome {
        ConfirmOutcome::Confirmed => sale_made(state, myself, reservation, at).await,
        ConfirmOutcome::StaleToken(seats) => Err(EventError::StaleFencingToken(seats)),
        ConfirmOutcome::NotPending => match recorded(state, reservation).await? {
            Some(RecordedReservation {
                status: Recorded::Confirmed,
                ..
            }) => sale_made(state, myself, reservation, at).await,
            Some(RecordedReservation {
                status: Recorded::Pending,
                ..
            }) => Err(EventError::Unavailable(
                "the reservation changed while it was confirmed; try again".into(),
            )),
            Some(_) | None => {
                release(state, reservation).await;
                Err(EventError::NotPending)
            }
        },
    }
}

/// PostgreSQL records the sale: memory follows, and the event's sale status with it.
async fn sale_made(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    reservation: ReservationId,
    at: Instant,
) -> Result<(), EventError> {
    sold(state, myself, reservation, at);
    record_sale_status(state).await;
    Ok(())
}

/// What PostgreSQL records `reservation` as (a failure to ask is no answer: the caller
/// is told to retry rather than the actor guessing).
pub(super) async fn recorded(
    state: &EventState,
    reservation: ReservationId,
) -> Result<Option<RecordedReservation>, EventError> {
    state
        .store
        .reservation_record(reservation)
        .await
        .map_err(|e| EventError::Unavailable(e.to_string()))
}

/// Memory takes a held reservation as sold (storage has recorded the sale), tells the
/// seat map's subscribers, and ends the buyer's turn.
fn sold(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    reservation: ReservationId,
    at: Instant,
) {
    let buyer = if let Ok(confirmed) = state.seats.record_sale(reservation) {
        state.announce(
            confirmed.seats.iter().map(|&(seat, _)| seat),
            SeatStatus::Reserved,
        );
        Some(confirmed.user)
    } else if state.inventory.record_sale(reservation).is_ok() {
        state.ticket_owners.owner(reservation)
    } else {
        None
    };
    if let Some(buyer) = buyer {
        end_turn(state, myself, buyer, at);
    }
}

pub(super) async fn cancel(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    user: UserId,
    reservation: ReservationId,
    at: Instant,
) -> Result<(), EventError> {
    let owner = state
        .seats
        .booking(reservation)
        .map(|booking| booking.user)
        .or_else(|| state.ticket_owners.owner(reservation));
    if owner != Some(user) {
        return Err(EventError::ReservationNotFound);
    }
    let finished = state
        .store
        .finish(reservation, Ending::Cancelled, "cancelled by the user")
        .await
        .map_err(|e| EventError::Unavailable(e.to_string()))?;
    if !finished {
        // Sold (perhaps by a confirmation whose answer was lost) or already ended:
        // memory follows PostgreSQL either way, and a sale is not cancelled here.
        match recorded(state, reservation).await? {
            Some(RecordedReservation {
                status: Recorded::Confirmed,
                ..
            }) => sold(state, myself, reservation, at),
            Some(RecordedReservation {
                status: Recorded::Pending,
                ..
            }) => {}
            Some(_) | None => release(state, reservation).await,
        }
        return Err(EventError::NotPending);
    }
    release(state, reservation).await;
    Ok(())
}

/// Frees a reservation's seats or tickets in memory (and its seat locks in Redis).
async fn release(state: &mut EventState, reservation: ReservationId) {
    if state.seats.booking(reservation).is_some() {
        release_seats(state, reservation).await;
    } else {
        state.inventory.release(reservation);
        state.ticket_owners.remove(reservation);
    }
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
        .record_sale(reservation)
        .map_err(|_| EventError::NotPending)?;
    state.announce(seats, SeatStatus::Reserved);
    record_sale_status(state).await;
    Ok(())
}

pub(super) async fn refund(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    reservation: ReservationId,
    at: Instant,
) -> Result<(), EventError> {
    let seats: Vec<SeatId> = match state.seats.booking(reservation) {
        Some(booking) => booking.seats.clone(),
        None if state.ticket_owners.contains(reservation) => Vec::new(),
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
        state.ticket_owners.remove(reservation);
    } else {
        let freed = state.seats.release(reservation);
        state.announce(freed.iter().copied(), SeatStatus::Available);
        state.returned.extend(freed);
        offer_returned(state, myself, at).await;
    }
    record_sale_status(state).await;
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
    state.announce(seats.iter().copied(), SeatStatus::Available);
    state.returned.extend(seats);
}

/// Records the event as sold out in PostgreSQL when its last seat or ticket sold, and as
/// on sale again when one came back; a failed write is tried again on the next tick.
pub(super) async fn record_sale_status(state: &mut EventState) {
    let sold_out = state.sold_out();
    if sold_out == state.recorded_sold_out {
        return;
    }
    match state.store.record_sold_out(state.event_id, sold_out).await {
        Ok(()) => {
            state.recorded_sold_out = sold_out;
            tracing::info!(event = %state.event_id, sold_out, "event sale status recorded");
        }
        Err(err) => {
            tracing::warn!(event = %state.event_id, %err, "recording the sale status failed");
        }
    }
}
