//! Seat holds, group-committed: a hold is taken in memory first (refusing conflicts at
//! once), then the holds taken meanwhile are written in chunks, each locked in Redis with
//! fencing tokens in one script call and recorded in PostgreSQL in one transaction; a
//! failure undoes the hold. Each chunk's I/O runs off the actor and several chunks are
//! written at once, on different connections, so their scripts and commits run side by
//! side (docs/architecture.md#holds-in-flight).

use chrono::Utc;
use ractor::ActorRef;
use tracing::instrument::WithSubscriber;

use super::error::EventError;
use super::messages::{EventMsg, Reply};
use super::state::{EventState, LOCK_GRACE, PendingHold};
use super::telemetry;
use super::turns::may_hold;
use super::views::{HoldView, SeatStatus};
use uuid::Uuid;

use crate::ids::{FencingToken, ReservationId, SeatId};
use crate::ports::{EventStore, InsertOutcome, LockOutcome, NewItem, NewReservation};
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
    if state.in_flight.contains(&existing)
        || state
            .pending_holds
            .iter()
            .any(|h| h.reservation == existing)
    {
        state.repeated_holds.push((existing, reply));
    } else {
        let _ = reply.send(Err(EventError::DuplicateRequest(existing)));
    }
}

/// A hold on its way to storage, with what its record needs from the actor's state.
pub(super) struct InFlight {
    hold: PendingHold,
    prices: Vec<i64>,
}

/// What became of one hold's durable write.
pub(super) enum Recorded {
    /// Locked and recorded: the hold stands.
    Made {
        tokens: Vec<FencingToken>,
        expires_at: chrono::DateTime<Utc>,
        total_amount: i64,
    },
    /// Refused at either step; any locks it took are already freed.
    Refused(EventError),
}

/// A chunk's outcome, hold by hold, as the actor gets it back.
pub struct RecordedBatch {
    holds: Vec<(PendingHold, Recorded)>,
    started: std::time::Instant,
}

/// Sends the holds taken since the last flush to storage, off the actor, cut into chunks
/// written side by side ([`chunk_sizes`]): per chunk, one Redis script call locks its
/// seats (all or none per hold) and one PostgreSQL transaction records it. Chunks hold
/// disjoint seats (each seat is held in memory by one hold), so they cannot conflict and
/// the order in which they land does not matter; each leaves with its holds in the order
/// they were taken. Meanwhile the actor goes on taking holds in memory and may send more
/// chunks. Each caller is answered when its chunk comes back ([`holds_recorded`]).
pub(super) fn flush_holds(state: &mut EventState, myself: &ActorRef<EventMsg>) {
    state.holds_flush_queued = false;
    // Up to `max_batches_in_flight` chunks at once; a full pipeline sends what waits when
    // a chunk comes back (docs/architecture.md#holds-in-flight).
    let free = state
        .max_batches_in_flight
        .saturating_sub(state.batches_in_flight);
    for size in chunk_sizes(state.pending_holds.len(), state.max_holds_per_write, free) {
        let chunk: Vec<PendingHold> = state.pending_holds.drain(..size).collect();
        send_chunk(state, myself, chunk);
    }
}

/// How `pending` holds are cut into writes: as few chunks of at most `per_write` holds as
/// it takes, sizes as even as possible, but never more chunks than `free` slots in the
/// pipeline (then larger ones: everything waiting leaves now, as one group commit would).
/// Small chunks spread one burst's scripts and commits over several connections; the cap
/// on chunks keeps one event from taking the whole connection pool.
pub(super) fn chunk_sizes(pending: usize, per_write: usize, free: usize) -> Vec<usize> {
    if pending == 0 || free == 0 {
        return Vec::new();
    }
    let chunks = pending.div_ceil(per_write.max(1)).min(free);
    let (base, extra) = (pending / chunks, pending % chunks);
    (0..chunks).map(|i| base + usize::from(i < extra)).collect()
}

/// Writes one chunk of holds in a task of its own and tells the actor how it went.
fn send_chunk(state: &mut EventState, myself: &ActorRef<EventMsg>, chunk: Vec<PendingHold>) {
    let batch: Vec<InFlight> = chunk
        .into_iter()
        .map(|hold| {
            let price = |seat: &SeatId| state.seat_prices.get(seat).copied().unwrap_or(0);
            let prices = hold.seats.iter().map(price).collect();
            InFlight { hold, prices }
        })
        .collect();
    for held in &batch {
        state.in_flight.insert(held.hold.reservation);
    }
    state.batches_in_flight += 1;
    let store = state.store.clone();
    let event_id = state.event_id;
    let myself = myself.clone();
    let mailbox = state.mailbox.clone();
    let write = async move {
        let recorded = record_batch(store.as_ref(), event_id, batch).await;
        match myself.send_message(EventMsg::HoldsRecorded(recorded)) {
            Ok(()) => mailbox.increment(1.0),
            // The actor stopped meanwhile: what storage says is what its callers are
            // told (a successor rebuilds the holds from the records).
            Err(ractor::MessagingErr::SendErr(EventMsg::HoldsRecorded(recorded))) => {
                for (hold, outcome) in recorded.holds {
                    let answer = match outcome {
                        Recorded::Made {
                            expires_at,
                            total_amount,
                            ..
                        } => Ok(HoldView {
                            reservation: hold.reservation,
                            expires_at,
                            seats: hold.seats,
                            total_amount,
                            replayed: false,
                        }),
                        Recorded::Refused(error) => Err(error),
                    };
                    let _ = hold.reply.send(answer);
                }
            }
            Err(_) => {}
        }
    };
    // With the actor's subscriber: the chunk's log lines go where the actor's do.
    tokio::spawn(write.with_current_subscriber());
}

/// A chunk's I/O, off the actor: locks, then records; frees the locks of any hold the
/// records refuse.
async fn record_batch(
    store: &dyn EventStore,
    event_id: Uuid,
    batch: Vec<InFlight>,
) -> RecordedBatch {
    let started = std::time::Instant::now();
    let size = batch.len();
    // One lock time for the batch: the longest hold's (an offer outlasts a hold); a
    // shorter hold's locks are freed when it ends, not by their TTL.
    let lock_ttl = batch.iter().map(|h| h.hold.ttl).max().unwrap_or_default() + LOCK_GRACE;
    let requests: Vec<(ReservationId, Vec<SeatId>)> = batch
        .iter()
        .map(|h| (h.hold.reservation, h.hold.seats.clone()))
        .collect();
    let locked = store.lock_seats(event_id, &requests, lock_ttl).await;
    let outcomes = match locked {
        Ok(outcomes) if outcomes.len() == batch.len() => outcomes,
        Ok(_) | Err(_) => {
            let why = match locked {
                Err(err) => err.to_string(),
                Ok(_) => "lock store answered for the wrong number of holds".into(),
            };
            let holds = batch
                .into_iter()
                .map(|h| {
                    (
                        h.hold,
                        Recorded::Refused(EventError::Unavailable(why.clone())),
                    )
                })
                .collect();
            return RecordedBatch { holds, started };
        }
    };
    let now = Utc::now();
    let mut done = Vec::with_capacity(size);
    let mut locked_holds = Vec::with_capacity(size);
    let mut records = Vec::with_capacity(size);
    for (held, outcome) in batch.into_iter().zip(outcomes) {
        match outcome {
            LockOutcome::Locked(tokens) => {
                // In the call's span, so the line carries its request id (`trace`).
                held.hold.reply.span().in_scope(|| {
                    tracing::debug!(reservation = %held.hold.reservation, batch = size,
                        tokens = ?tokens, "seats locked in Redis");
                });
                let expires_at =
                    now + chrono::Duration::from_std(held.hold.ttl).unwrap_or_default();
                records.push(record(event_id, &held, &tokens, expires_at));
                locked_holds.push((held.hold, tokens));
            }
            LockOutcome::Taken(taken) => {
                telemetry::holds(event_id, "seats_taken", 1);
                done.push((held.hold, Recorded::Refused(EventError::SeatsTaken(taken))));
            }
        }
    }
    if records.is_empty() {
        return RecordedBatch {
            holds: done,
            started,
        };
    }
    let inserted = store.insert_pending(&records).await;
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
                tracing::error!(event = %event_id, reservation = %hold.reservation,
                    "Postgres refused a hold the seat map allowed: map and database disagree");
                Some(EventError::SeatsTaken(hold.seats.clone()))
            }
            Err(why) => Some(EventError::Unavailable(why)),
        };
        match refused {
            Some(error) => {
                if let Err(err) = store
                    .unlock_seats(event_id, hold.reservation, &hold.seats)
                    .await
                {
                    tracing::warn!(%err, "unlocking after a refused hold failed; locks lapse by TTL");
                }
                done.push((hold, Recorded::Refused(error)));
            }
            None => {
                telemetry::holds(event_id, "made", 1);
                hold.reply.span().in_scope(|| {
                    tracing::debug!(reservation = %hold.reservation, "hold recorded in PostgreSQL");
                });
                done.push((
                    hold,
                    Recorded::Made {
                        tokens,
                        expires_at: record.expires_at,
                        total_amount: record.total_amount,
                    },
                ));
            }
        }
    }
    RecordedBatch {
        holds: done,
        started,
    }
}

/// A chunk came back: each hold made is published and answered, each refused is undone
/// in memory and answered (the other chunks are not touched: their seats are their own);
/// calls that waited for these holds are replayed, and holds that waited for room in the
/// pipeline are sent.
pub(super) fn holds_recorded(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    batch: RecordedBatch,
) {
    state.batches_in_flight = state.batches_in_flight.saturating_sub(1);
    let size = batch.holds.len();
    for (hold, outcome) in batch.holds {
        state.in_flight.remove(&hold.reservation);
        match outcome {
            Recorded::Made {
                tokens,
                expires_at,
                total_amount,
            } => {
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
                    expires_at,
                    seats: hold.seats,
                    total_amount,
                    replayed: false,
                }));
            }
            Recorded::Refused(error) => {
                hold.reply.span().in_scope(|| {
                    tracing::debug!(reservation = %hold.reservation, %error, "hold refused and undone");
                });
                undo_in_memory(state, &hold);
                answer_repeats(state, hold.reservation, Err(error.clone()));
                let _ = hold.reply.send(Err(error));
            }
        }
    }
    telemetry::commit("holds", size, batch.started.elapsed());
    state.unpark(myself);
    if !state.pending_holds.is_empty() && !state.holds_flush_queued {
        state.holds_flush_queued = true;
        state.holds_flush_queued = state.send_self(myself, EventMsg::FlushHolds);
    }
}

/// The pending reservation a locked hold is recorded as.
fn record(
    event_id: Uuid,
    held: &InFlight,
    tokens: &[FencingToken],
    expires_at: chrono::DateTime<Utc>,
) -> NewReservation {
    let hold = &held.hold;
    NewReservation {
        id: hold.reservation,
        event_id,
        user: hold.user,
        idempotency_key: hold.idempotency_key.clone(),
        expires_at,
        total_amount: held.prices.iter().sum(),
        items: hold
            .seats
            .iter()
            .zip(&held.prices)
            .zip(tokens)
            .map(|((seat, &price), &token)| NewItem::Seat {
                seat: *seat,
                price,
                token,
            })
            .collect(),
    }
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

/// Takes back, in memory, a hold that could not be made durable: its seats and its
/// idempotency key (its locks were freed where it was refused).
fn undo_in_memory(state: &mut EventState, hold: &PendingHold) {
    state.seats.release(hold.reservation);
    state
        .idempotency
        .remove(&(hold.user, hold.idempotency_key.clone()));
    // A waiting-list offer that could not be made may be made again (`offers`).
    if let Some(entry) = hold
        .idempotency_key
        .strip_prefix("waitlist:")
        .and_then(|id| id.parse().ok())
    {
        state.offered.remove(&entry);
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

#[cfg(test)]
mod tests {
    use super::chunk_sizes;

    #[test]
    fn chunks_are_even_at_most_the_size_asked_and_never_more_than_the_free_slots() {
        assert_eq!(chunk_sizes(63, 16, 8), vec![16, 16, 16, 15]);
        assert_eq!(chunk_sizes(17, 16, 8), vec![9, 8]);
        assert_eq!(chunk_sizes(1, 16, 8), vec![1]);
        // A fuller pipeline: fewer, larger chunks, and everything waiting still leaves.
        assert_eq!(chunk_sizes(63, 16, 3), vec![21, 21, 21]);
        assert_eq!(chunk_sizes(63, 16, 1), vec![63]);
        assert_eq!(chunk_sizes(0, 16, 8), Vec::<usize>::new());
        assert_eq!(chunk_sizes(5, 16, 0), Vec::<usize>::new());
        assert_eq!(chunk_sizes(5, 0, 8), vec![1, 1, 1, 1, 1]);
    }
}
