//! Seat holds, group-committed: a hold is taken in memory first (refusing conflicts at
//! once), then every hold taken meanwhile is locked in Redis with fencing tokens in one
//! script call and recorded in PostgreSQL in one transaction; a failure undoes the hold.

use chrono::Utc;
use ractor::ActorRef;

use super::error::EventError;
use super::messages::{EventMsg, Reply};
use super::state::{EventState, LOCK_GRACE, PendingHold};
use super::telemetry;
use super::turns::may_hold;
use super::views::{HoldView, SeatStatus};
use crate::ids::{ReservationId, SeatId};
use crate::ports::{InsertOutcome, LockOutcome, NewItem, NewReservation};
use crate::seat_map::HoldError;

/// Takes a seat hold in memory at once (so conflicting requests behind it are refused
/// without I/O) and queues its durable write behind the mailbox, like the queue log.
pub(super) fn hold_seats(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    hold: PendingHold,
    at: std::time::Instant,
) {
    let key = (hold.user, hold.idempotency_key.clone());
    if let Some(&existing) = state.idempotency.get(&key) {
        repeated(state, existing, hold.reply);
        return;
    }
    if !state.on_sale {
        let _ = hold.reply.send(Err(EventError::NotOnSale));
        return;
    }
    let ttl = hold.ttl;
    let max = state.settings.max_seats_per_hold as usize;
    // The per-hold limit first (a bad request), then the turn and the per-user limit.
    let checked = if hold.seats.len() > max {
        Err(EventError::TooMany { max })
    } else {
        may_hold(state, hold.user, hold.seats.len(), at)
    };
    if let Err(err) = checked {
        let _ = hold.reply.send(Err(err));
        return;
    }
    if let Err(err) = state
        .seats
        .hold(hold.user, hold.reservation, &hold.seats, at, ttl, max)
    {
        let _ = hold.reply.send(Err(hold_error(err)));
        return;
    }
    state.board.write().admission.heartbeat(hold.user, at);
    state.idempotency.insert(key, hold.reservation);
    tracing::debug!(reservation = %hold.reservation, seats = hold.seats.len(),
        "hold taken in memory, its durable write queued");
    state.pending_holds.push(hold);
    if !state.holds_flush_queued {
        state.holds_flush_queued = true;
        state.holds_flush_queued = state.send_self(myself, EventMsg::FlushHolds);
    }
}

/// A repeated idempotency key: answered with the earlier reservation, once that one is
/// durable (a caller told at once would look for a row not yet committed).
fn repeated(state: &mut EventState, existing: ReservationId, reply: Reply<HoldView>) {
    if state
        .pending_holds
        .iter()
        .any(|h| h.reservation == existing)
    {
        state.repeated_holds.push((existing, reply));
    } else {
        let _ = reply.send(Err(EventError::DuplicateRequest(existing)));
    }
}

/// Makes every hold taken since the last flush durable: one Redis script call locks all
/// their seats (all or none per hold), one Postgres transaction records them; then each
/// caller gets its answer. A hold refused at either step is undone alone.
pub(super) async fn flush_holds(state: &mut EventState) {
    state.holds_flush_queued = false;
    let holds = std::mem::take(&mut state.pending_holds);
    if holds.is_empty() {
        return;
    }
    let started = std::time::Instant::now();
    let batch = holds.len();
    // One lock time for the batch: the longest hold's (an offer outlasts a hold); a
    // shorter hold's locks are freed when it ends, not by their TTL.
    let ttl = holds
        .iter()
        .map(|h| h.ttl)
        .max()
        .unwrap_or(state.settings.hold_ttl);
    let requests: Vec<(ReservationId, Vec<SeatId>)> = holds
        .iter()
        .map(|h| (h.reservation, h.seats.clone()))
        .collect();
    let locked = state
        .store
        .lock_seats(state.event_id, &requests, ttl + LOCK_GRACE)
        .await;
    let outcomes = match locked {
        Ok(outcomes) if outcomes.len() == holds.len() => outcomes,
        Ok(_) | Err(_) => {
            let why = match locked {
                Err(err) => err.to_string(),
                Ok(_) => "lock store answered for the wrong number of holds".into(),
            };
            for hold in holds {
                refuse(state, hold, false, EventError::Unavailable(why.clone())).await;
            }
            return;
        }
    };
    let now = Utc::now();
    let mut locked_holds = Vec::with_capacity(holds.len());
    let mut records = Vec::with_capacity(holds.len());
    for (hold, outcome) in holds.into_iter().zip(outcomes) {
        match outcome {
            LockOutcome::Locked(tokens) => {
                tracing::debug!(parent: hold.reply.span(), reservation = %hold.reservation,
                    batch, tokens = ?tokens, "seats locked in Redis");
                let expires_at = now + chrono::Duration::from_std(hold.ttl).unwrap_or_default();
                records.push(record(state, &hold, &tokens, expires_at));
                locked_holds.push((hold, tokens));
            }
            LockOutcome::Taken(taken) => {
                telemetry::holds(state.event_id, "seats_taken", 1);
                refuse(state, hold, false, EventError::SeatsTaken(taken)).await;
            }
        }
    }
    if records.is_empty() {
        return;
    }
    let inserted = state.store.insert_pending(&records).await;
    let outcomes: Vec<Result<InsertOutcome, String>> = match inserted {
        Ok(outcomes) if outcomes.len() == records.len() => outcomes.into_iter().map(Ok).collect(),
        Ok(_) => vec![Err("wrong number of insert outcomes".into()); records.len()],
        Err(err) => vec![Err(err.to_string()); records.len()],
    };
    for (((hold, tokens), record), outcome) in locked_holds.into_iter().zip(records).zip(outcomes) {
        let refused = match outcome {
            Ok(InsertOutcome::Inserted) => None,
            Ok(InsertOutcome::DuplicateKey(existing)) => {
                Some(EventError::DuplicateRequest(existing))
            }
            Ok(InsertOutcome::SeatConflict) => {
                tracing::error!(event = %state.event_id, reservation = %hold.reservation,
                    "Postgres refused a hold the seat map allowed: map and database disagree");
                Some(EventError::SeatsTaken(hold.seats.clone()))
            }
            Err(why) => Some(EventError::Unavailable(why)),
        };
        if let Some(error) = refused {
            refuse(state, hold, true, error).await;
            continue;
        }
        telemetry::holds(state.event_id, "made", 1);
        tracing::debug!(parent: hold.reply.span(), reservation = %hold.reservation,
            "hold recorded in PostgreSQL");
        let pairs: Vec<_> = hold.seats.iter().copied().zip(tokens).collect();
        if let Err(err) = state.seats.attach_tokens(hold.reservation, &pairs) {
            tracing::error!(%err, "attaching fencing tokens to a hold just taken");
        }
        state.announce(hold.seats.iter().copied(), SeatStatus::Locked);
        answer_repeats(
            state,
            hold.reservation,
            Err(EventError::DuplicateRequest(hold.reservation)),
        );
        let _ = hold.reply.send(Ok(HoldView {
            reservation: hold.reservation,
            expires_at: record.expires_at,
            seats: hold.seats,
            total_amount: record.total_amount,
            replayed: false,
        }));
    }
    telemetry::commit("holds", batch, started.elapsed());
}

/// The pending reservation a locked hold is recorded as.
fn record(
    state: &EventState,
    hold: &PendingHold,
    tokens: &[crate::ids::FencingToken],
    expires_at: chrono::DateTime<Utc>,
) -> NewReservation {
    let price = |seat: &SeatId| state.seat_prices.get(seat).copied().unwrap_or(0);
    NewReservation {
        id: hold.reservation,
        event_id: state.event_id,
        user: hold.user,
        idempotency_key: hold.idempotency_key.clone(),
        expires_at,
        total_amount: hold.seats.iter().map(price).sum(),
        items: hold
            .seats
            .iter()
            .zip(tokens)
            .map(|(seat, &token)| NewItem::Seat {
                seat: *seat,
                price: price(seat),
                token,
            })
            .collect(),
    }
}

/// Undoes a hold that could not be made durable and tells its caller (and the retries
/// waiting on it) why.
async fn refuse(state: &mut EventState, hold: PendingHold, locked: bool, error: EventError) {
    tracing::debug!(parent: hold.reply.span(), reservation = %hold.reservation, %error,
        "hold refused and undone");
    undo_hold(state, &hold, locked).await;
    answer_repeats(state, hold.reservation, Err(error.clone()));
    let _ = hold.reply.send(Err(error));
}

/// Answers the retries that waited on `reservation`'s hold with its outcome: the
/// duplicate (now durable) when it was made, else the reason it was not.
fn answer_repeats(
    state: &mut EventState,
    reservation: ReservationId,
    outcome: Result<HoldView, EventError>,
) {
    let (waiting, rest) = std::mem::take(&mut state.repeated_holds)
        .into_iter()
        .partition(|(id, _)| *id == reservation);
    state.repeated_holds = rest;
    for (_, reply) in waiting {
        let _ = reply.send(outcome.clone());
    }
}

/// Takes back a hold that could not be made durable: the seats in memory, the idempotency
/// key, and (when they were taken) its Redis locks.
async fn undo_hold(state: &mut EventState, hold: &PendingHold, locked: bool) {
    state.seats.release(hold.reservation);
    // A waiting-list offer that could not be made may be made again (`offers`).
    if let Some(entry) = hold
        .idempotency_key
        .strip_prefix("waitlist:")
        .and_then(|id| id.parse().ok())
    {
        state.offered.remove(&entry);
    }
    state
        .idempotency
        .remove(&(hold.user, hold.idempotency_key.clone()));
    if locked
        && let Err(err) = state
            .store
            .unlock_seats(state.event_id, hold.reservation, &hold.seats)
            .await
    {
        tracing::warn!(%err, "unlocking after a refused hold failed; locks lapse by TTL");
    }
}

/// A stopping actor refuses the holds it never made durable (and their retries).
pub(super) fn refuse_on_stop(state: &mut EventState) {
    let stopped = || Err(EventError::Unavailable("event actor stopped".into()));
    for hold in std::mem::take(&mut state.pending_holds) {
        let _ = hold.reply.send(stopped());
    }
    for (_, reply) in std::mem::take(&mut state.repeated_holds) {
        let _ = reply.send(stopped());
    }
}

pub(super) fn hold_error(err: HoldError) -> EventError {
    match err {
        HoldError::Empty => EventError::Empty,
        HoldError::TooMany { max, .. } => EventError::TooMany { max },
        HoldError::DuplicateSeats(seats) => EventError::DuplicateSeats(seats),
        HoldError::UnknownSeats(seats) => EventError::UnknownSeats(seats),
        HoldError::ReservationExists(existing) => EventError::DuplicateRequest(existing),
        HoldError::SeatsTaken(seats) => EventError::SeatsTaken(seats),
    }
}
