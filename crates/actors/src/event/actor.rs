//! The EventActor: the single writer of one event's queue, admission and seats.
//!
//! `handle` is one `match` that calls the domain and replies; domain failures travel in the
//! reply (an `Err` from `handle` would kill the actor). Durable writes happen before a
//! reply is sent:
//! - queue changes are group-committed: each change is applied in memory, its log record
//!   buffered, and a `FlushLog` message queued behind whatever is already in the mailbox,
//!   so one Redis write acknowledges every join that arrived meanwhile;
//! - a hold is taken in memory first (refusing conflicts at once), then locked in Redis
//!   with fencing tokens, then recorded in Postgres; a failure undoes the earlier steps.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::error::EventError;
use super::settings::QueueSettings;
use super::views::{EventOverview, HoldView, QueueTick, QueueView, SeatChange, SeatStatus};
use crate::admission::{Admission, JoinOutcome, UserStatus};
use crate::ids::{ReservationId, SeatId, TicketTypeId, UserId};
use crate::inventory::{Inventory, InventoryError};
use crate::ports::{
    ConfirmOutcome, Ending, EventSnapshot, EventStore, InsertOutcome, LockOutcome, NewItem,
    NewReservation,
};
use crate::queue_log::QueueLogRecord;
use crate::seat_map::{HoldError, SeatMap, SeatState};

/// Redis locks outlive the hold by this much, so a lock never lapses while the actor still
/// counts the hold as live; the actor's clock decides expiry.
const LOCK_GRACE: Duration = Duration::from_secs(30);

type Reply<T> = RpcReplyPort<Result<T, EventError>>;

pub enum EventMsg {
    Join {
        user: UserId,
        tier1_pos: Option<u64>,
        reply: Reply<QueueView>,
    },
    Status {
        user: UserId,
        reply: Reply<QueueView>,
    },
    Heartbeat {
        user: UserId,
        reply: Reply<QueueView>,
    },
    Leave {
        user: UserId,
        reply: Reply<bool>,
    },
    HoldSeats {
        user: UserId,
        reservation: ReservationId,
        seats: Vec<SeatId>,
        idempotency_key: String,
        reply: Reply<HoldView>,
    },
    HoldTickets {
        user: UserId,
        reservation: ReservationId,
        ticket_type: TicketTypeId,
        quantity: u32,
        idempotency_key: String,
        reply: Reply<HoldView>,
    },
    Confirm {
        reservation: ReservationId,
        reply: Reply<()>,
    },
    Cancel {
        user: UserId,
        reservation: ReservationId,
        reply: Reply<()>,
    },
    /// A payment arrived after the hold lapsed: complete the sale if every seat is free.
    Revive {
        user: UserId,
        reservation: ReservationId,
        seats: Vec<SeatId>,
        reply: Reply<()>,
    },
    /// A sold reservation was refunded: its seats go back on sale.
    Refund {
        reservation: ReservationId,
        reply: Reply<()>,
    },
    SeatStatuses {
        reply: Reply<Vec<(SeatId, SeatStatus)>>,
    },
    Overview {
        reply: Reply<EventOverview>,
    },
    UpdateSettings {
        settings: QueueSettings,
        on_sale: bool,
        reply: Reply<()>,
    },
    Tick,
    FlushLog,
    FlushHolds,
}

pub struct EventArgs {
    pub snapshot: EventSnapshot,
    pub store: Arc<dyn EventStore>,
    pub seat_changes: broadcast::Sender<SeatChange>,
    pub queue_ticks: broadcast::Sender<QueueTick>,
    /// Stop after this long with nobody waiting, active or holding.
    pub idle_after: Duration,
}

pub struct EventState {
    event_id: Uuid,
    on_sale: bool,
    settings: QueueSettings,
    admission: Admission,
    seats: SeatMap,
    seat_prices: HashMap<SeatId, i64>,
    inventory: Inventory,
    ticket_prices: HashMap<TicketTypeId, i64>,
    ticket_owners: HashMap<ReservationId, UserId>,
    /// Idempotency keys of live reservations: a retry racing the first request finds it
    /// here, in the single writer, before it can collide on seats.
    idempotency: HashMap<(UserId, String), ReservationId>,
    store: Arc<dyn EventStore>,
    unflushed: Vec<Vec<u8>>,
    /// Failed attempts at writing the current log batch (see [`flush`]).
    log_write_failures: u32,
    awaiting_flush: Vec<AwaitingFlush>,
    flush_queued: bool,
    pending_holds: Vec<PendingHold>,
    /// Retries of a pending hold's idempotency key, answered once that hold is durable
    /// (answering at once would send the caller looking for a row not yet committed).
    repeated_holds: Vec<(ReservationId, Reply<HoldView>)>,
    holds_flush_queued: bool,
    seat_changes: broadcast::Sender<SeatChange>,
    queue_ticks: broadcast::Sender<QueueTick>,
    ticker: Option<JoinHandle<()>>,
    last_activity: Instant,
    idle_after: Duration,
    admissions: VecDeque<(Instant, usize)>,
}

/// A reply held back until the log records it depends on are durable.
enum AwaitingFlush {
    Queue {
        user: UserId,
        /// Undo by removing the user when the write fails (a new place or admission).
        undo: bool,
        reply: Reply<QueueView>,
    },
    Leave {
        reply: Reply<bool>,
    },
}

/// A seat hold taken in memory whose durable write is queued.
struct PendingHold {
    user: UserId,
    reservation: ReservationId,
    seats: Vec<SeatId>,
    idempotency_key: String,
    reply: Reply<HoldView>,
}

/// The actor's clock; tokio's, so tests with paused time control it.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

pub struct EventActor;

impl Actor for EventActor {
    type Msg = EventMsg;
    type State = EventState;
    type Arguments = EventArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<EventMsg>,
        args: EventArgs,
    ) -> Result<EventState, ActorProcessingErr> {
        let EventArgs {
            snapshot,
            store,
            seat_changes,
            queue_ticks,
            idle_after,
        } = args;
        let at = now();
        let mut state = rebuild(snapshot, store, seat_changes, queue_ticks, idle_after, at)?;
        restore_queue(&mut state, at).await?;
        state.ticker = Some(myself.send_interval(state.settings.tick, || EventMsg::Tick));
        tracing::info!(event = %state.event_id, waiting = state.admission.overview().waiting,
            seats = state.seats.len(), "event actor started");
        Ok(state)
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<EventMsg>,
        state: &mut EventState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(ticker) = state.ticker.take() {
            ticker.abort();
        }
        // One last write of what was not yet durable; what still fails is refused, never
        // silently acknowledged.
        let last = std::mem::take(&mut state.unflushed);
        let written = last.is_empty()
            || state
                .store
                .append_queue_log(state.event_id, &last)
                .await
                .is_ok();
        if written {
            acknowledge_waiting(state);
        }
        refuse_waiting(state, "event actor stopped", &mut Vec::new());
        let stopped = || Err(EventError::Unavailable("event actor stopped".into()));
        for hold in std::mem::take(&mut state.pending_holds) {
            let _ = hold.reply.send(stopped());
        }
        for (_, reply) in std::mem::take(&mut state.repeated_holds) {
            let _ = reply.send(stopped());
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<EventMsg>,
        message: EventMsg,
        state: &mut EventState,
    ) -> Result<(), ActorProcessingErr> {
        let at = now();
        if !matches!(
            message,
            EventMsg::Tick | EventMsg::FlushLog | EventMsg::FlushHolds
        ) {
            state.last_activity = at;
        }
        match message {
            EventMsg::Join {
                user,
                tier1_pos,
                reply,
            } => join(state, &myself, user, tier1_pos, reply, at),
            EventMsg::Status { user, reply } => {
                // Asking where one stands is a sign of life: a client that polls as the
                // server tells it (or keeps the stream open) must never lose its place
                // for not also calling heartbeat.
                state.admission.heartbeat(user, at);
                let _ = reply.send(Ok(view(state, user)));
            }
            EventMsg::Heartbeat { user, reply } => {
                state.admission.heartbeat(user, at);
                let _ = reply.send(Ok(view(state, user)));
            }
            EventMsg::Leave { user, reply } => {
                if state.admission.leave(user).is_some() {
                    log(state, &myself, QueueLogRecord::Left { user });
                    state.awaiting_flush.push(AwaitingFlush::Leave { reply });
                } else {
                    let _ = reply.send(Ok(false));
                }
            }
            EventMsg::HoldSeats {
                user,
                reservation,
                seats,
                idempotency_key,
                reply,
            } => hold_seats(
                state,
                &myself,
                PendingHold {
                    user,
                    reservation,
                    seats,
                    idempotency_key,
                    reply,
                },
                at,
            ),
            EventMsg::HoldTickets {
                user,
                reservation,
                ticket_type,
                quantity,
                idempotency_key,
                reply,
            } => {
                let result = hold_tickets(
                    state,
                    user,
                    reservation,
                    ticket_type,
                    quantity,
                    idempotency_key,
                    at,
                )
                .await;
                let _ = reply.send(result);
            }
            EventMsg::Confirm { reservation, reply } => {
                let _ = reply.send(confirm(state, &myself, reservation, at).await);
            }
            EventMsg::Cancel {
                user,
                reservation,
                reply,
            } => {
                let _ = reply.send(cancel(state, user, reservation).await);
            }
            EventMsg::Revive {
                user,
                reservation,
                seats,
                reply,
            } => {
                let _ = reply.send(revive(state, &myself, user, reservation, seats, at).await);
            }
            EventMsg::Refund { reservation, reply } => {
                let _ = reply.send(refund(state, reservation).await);
            }
            EventMsg::SeatStatuses { reply } => {
                let statuses = state
                    .seats
                    .iter()
                    .map(|(seat, s)| (seat, public_status(s)))
                    .collect();
                let _ = reply.send(Ok(statuses));
            }
            EventMsg::Overview { reply } => {
                let _ = reply.send(Ok(overview(state, at)));
            }
            EventMsg::UpdateSettings {
                settings,
                on_sale,
                reply,
            } => {
                let tick_changed = settings.tick != state.settings.tick;
                state.settings = settings;
                state.on_sale = on_sale;
                state.admission.set_config(settings.admission());
                if tick_changed {
                    if let Some(ticker) = state.ticker.take() {
                        ticker.abort();
                    }
                    state.ticker = Some(myself.send_interval(settings.tick, || EventMsg::Tick));
                }
                let _ = reply.send(Ok(()));
            }
            EventMsg::Tick => tick(state, &myself, at).await,
            EventMsg::FlushLog => flush(state, &myself).await,
            EventMsg::FlushHolds => flush_holds(state).await,
        }
        Ok(())
    }
}

fn rebuild(
    snapshot: EventSnapshot,
    store: Arc<dyn EventStore>,
    seat_changes: broadcast::Sender<SeatChange>,
    queue_ticks: broadcast::Sender<QueueTick>,
    idle_after: Duration,
    at: Instant,
) -> Result<EventState, ActorProcessingErr> {
    let settings = snapshot.settings;
    let mut seats = SeatMap::new(snapshot.seats.iter().map(|&(seat, _)| seat));
    let mut inventory = Inventory::new(settings.max_seats_per_hold);
    let mut ticket_prices = HashMap::new();
    for &(ticket_type, price, capacity) in &snapshot.ticket_types {
        ticket_prices.insert(ticket_type, price);
        if let Some(capacity) = capacity {
            inventory.add_type(ticket_type, capacity);
        }
    }
    let mut ticket_owners = HashMap::new();
    let mut idempotency = HashMap::new();
    let wall = Utc::now();
    for live in snapshot.live {
        idempotency.insert((live.user, live.idempotency_key.clone()), live.id);
        let expires_at = live.pending_until.map(|until| {
            let left = (until - wall).to_std().unwrap_or(Duration::ZERO);
            at + left
        });
        if let Some((ticket_type, quantity)) = live.tickets {
            ticket_owners.insert(live.id, live.user);
            let restored = match expires_at {
                Some(expires_at) => {
                    inventory.restore_held(live.id, ticket_type, quantity, expires_at)
                }
                None => inventory.restore_sold(live.id, ticket_type, quantity),
            };
            if let Err(err) = restored {
                return Err(format!("restoring reservation {}: {err}", live.id).into());
            }
        } else {
            let restored = match expires_at {
                Some(expires_at) => seats.restore_held(live.id, live.user, &live.seats, expires_at),
                None => {
                    let ids: Vec<SeatId> = live.seats.iter().map(|&(seat, _)| seat).collect();
                    seats.restore_sold(live.id, live.user, &ids)
                }
            };
            if let Err(err) = restored {
                return Err(format!("restoring reservation {}: {err}", live.id).into());
            }
        }
    }
    Ok(EventState {
        event_id: snapshot.event_id,
        on_sale: snapshot.on_sale,
        settings,
        admission: Admission::new(settings.admission()),
        seats,
        seat_prices: snapshot.seats.into_iter().collect(),
        inventory,
        ticket_prices,
        ticket_owners,
        idempotency,
        store,
        unflushed: Vec::new(),
        log_write_failures: 0,
        awaiting_flush: Vec::new(),
        flush_queued: false,
        pending_holds: Vec::new(),
        repeated_holds: Vec::new(),
        holds_flush_queued: false,
        seat_changes,
        queue_ticks,
        ticker: None,
        last_activity: at,
        idle_after,
        admissions: VecDeque::new(),
    })
}

/// Rebuilds the line from the Redis log, in order, and compacts the log when it has
/// grown well past what it describes.
async fn restore_queue(state: &mut EventState, at: Instant) -> Result<(), ActorProcessingErr> {
    let raw = state.store.load_queue_log(state.event_id).await?;
    let total = raw.len();
    let mut records = Vec::with_capacity(total);
    for bytes in &raw {
        match QueueLogRecord::decode(bytes) {
            Ok(record) => records.push(record),
            Err(err) => {
                return Err(format!("queue log of {} is corrupt: {err}", state.event_id).into());
            }
        }
    }
    state.admission = Admission::restore(state.settings.admission(), records, at)
        .map_err(|e| format!("restoring queue: {e}"))?;
    let live = state.admission.overview();
    if total > 2 * (live.waiting + live.active) + 1024 {
        let compact: Vec<Vec<u8>> = state
            .admission
            .snapshot_log()
            .iter()
            .map(QueueLogRecord::encode)
            .collect();
        state
            .store
            .rewrite_queue_log(state.event_id, &compact)
            .await?;
    }
    Ok(())
}

fn join(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    user: UserId,
    tier1_pos: Option<u64>,
    reply: Reply<QueueView>,
    at: Instant,
) {
    if !state.on_sale {
        let _ = reply.send(Err(EventError::NotOnSale));
        return;
    }
    match state.admission.join(user, tier1_pos, at) {
        Err(_) => {
            let _ = reply.send(Err(EventError::QueueFull));
        }
        Ok(JoinOutcome::Active {
            newly_admitted: true,
        }) => {
            state.admissions.push_back((at, 1));
            log(state, myself, QueueLogRecord::Admitted { user });
            state.awaiting_flush.push(AwaitingFlush::Queue {
                user,
                undo: true,
                reply,
            });
        }
        Ok(JoinOutcome::Queued(joined)) if joined.is_new => {
            log(
                state,
                myself,
                QueueLogRecord::Joined {
                    user,
                    tier1_pos,
                    seq: joined.seq,
                },
            );
            state.awaiting_flush.push(AwaitingFlush::Queue {
                user,
                undo: true,
                reply,
            });
        }
        Ok(_) => {
            let _ = reply.send(Ok(view(state, user)));
        }
    }
}

/// Buffers a log record and makes sure a flush is queued behind the current mailbox.
fn log(state: &mut EventState, myself: &ActorRef<EventMsg>, record: QueueLogRecord) {
    state.unflushed.push(record.encode());
    if !state.flush_queued {
        state.flush_queued = true;
        if myself.send_message(EventMsg::FlushLog).is_err() {
            state.flush_queued = false;
        }
    }
}

/// Attempts at writing a batch of the queue log before the joins waiting on it are
/// refused; between attempts the actor keeps serving.
const LOG_WRITE_ATTEMPTS: u32 = 3;
const LOG_RETRY_AFTER: Duration = Duration::from_millis(200);

async fn flush(state: &mut EventState, myself: &ActorRef<EventMsg>) {
    state.flush_queued = false;
    if state.unflushed.is_empty() {
        return;
    }
    let records = std::mem::take(&mut state.unflushed);
    match state.store.append_queue_log(state.event_id, &records).await {
        Ok(()) => {
            state.log_write_failures = 0;
            acknowledge_waiting(state);
        }
        Err(err) => {
            state.log_write_failures += 1;
            tracing::error!(event = %state.event_id, %err, attempt = state.log_write_failures,
                "queue log write failed; retrying");
            // A timed-out write may have landed or not, so the batch goes out again ahead
            // of anything logged since. Replaying a batch twice in a row ends where
            // replaying it once does (`Admission::apply` skips what already holds), while a
            // lost `Admitted` or `Expired` would leave the log behind the line.
            let mut retry = records;
            if state.log_write_failures >= LOG_WRITE_ATTEMPTS {
                state.log_write_failures = 0;
                refuse_waiting(state, &err.to_string(), &mut retry);
            }
            retry.append(&mut state.unflushed);
            state.unflushed = retry;
            state.flush_queued = true;
            myself.send_after(LOG_RETRY_AFTER, || EventMsg::FlushLog);
        }
    }
}

/// Answers every reply that was waiting for its log records to be durable.
fn acknowledge_waiting(state: &mut EventState) {
    for waiting in std::mem::take(&mut state.awaiting_flush) {
        match waiting {
            AwaitingFlush::Queue { user, reply, .. } => {
                let _ = reply.send(Ok(view(state, user)));
            }
            AwaitingFlush::Leave { reply } => {
                let _ = reply.send(Ok(true));
            }
        }
    }
}

/// Refuses every reply awaiting durability and undoes the places they took, logging a
/// `Left` for each so that a join record which did land is cancelled on replay.
fn refuse_waiting(state: &mut EventState, why: &str, log: &mut Vec<Vec<u8>>) {
    for waiting in std::mem::take(&mut state.awaiting_flush) {
        match waiting {
            AwaitingFlush::Queue { user, undo, reply } => {
                if undo && state.admission.leave(user).is_some() {
                    log.push(QueueLogRecord::Left { user }.encode());
                }
                let _ = reply.send(Err(EventError::Unavailable(why.to_owned())));
            }
            AwaitingFlush::Leave { reply } => {
                let _ = reply.send(Err(EventError::Unavailable(why.to_owned())));
            }
        }
    }
}

fn view(state: &EventState, user: UserId) -> QueueView {
    match state.admission.status(user) {
        Some(UserStatus::Active { expires_at }) => QueueView::Active {
            expires_in: expires_at.saturating_duration_since(now()),
        },
        Some(UserStatus::Queued(place)) => {
            let rate = state.settings.admissions_per_sec();
            let wait = if rate > 0.0 {
                Duration::from_secs_f64(place.people_ahead as f64 / rate)
            } else {
                Duration::MAX
            };
            QueueView::Queued {
                position: place.position,
                people_ahead: place.people_ahead,
                people_behind: place.people_behind,
                estimated_wait: wait,
                heartbeat_within: state.settings.queue_ttl,
            }
        }
        None => QueueView::Absent,
    }
}

/// Takes a seat hold in memory at once (so conflicting requests behind it are refused
/// without I/O) and queues its durable write behind the mailbox, like the queue log.
fn hold_seats(state: &mut EventState, myself: &ActorRef<EventMsg>, hold: PendingHold, at: Instant) {
    let key = (hold.user, hold.idempotency_key.clone());
    if let Some(&existing) = state.idempotency.get(&key) {
        if state
            .pending_holds
            .iter()
            .any(|h| h.reservation == existing)
        {
            state.repeated_holds.push((existing, hold.reply));
        } else {
            let _ = hold.reply.send(Err(EventError::DuplicateRequest(existing)));
        }
        return;
    }
    if !state.on_sale {
        let _ = hold.reply.send(Err(EventError::NotOnSale));
        return;
    }
    let ttl = state.settings.hold_ttl;
    let max = state.settings.max_seats_per_hold as usize;
    if let Err(err) = state
        .seats
        .hold(hold.user, hold.reservation, &hold.seats, at, ttl, max)
    {
        let _ = hold.reply.send(Err(hold_error(err)));
        return;
    }
    state.admission.heartbeat(hold.user, at);
    state.idempotency.insert(key, hold.reservation);
    state.pending_holds.push(hold);
    if !state.holds_flush_queued {
        state.holds_flush_queued = true;
        if myself.send_message(EventMsg::FlushHolds).is_err() {
            state.holds_flush_queued = false;
        }
    }
}

/// Makes every hold taken since the last flush durable: one Redis script call locks all
/// their seats (all or none per hold), one Postgres transaction records them; then each
/// caller gets its answer. A hold refused at either step is undone alone.
async fn flush_holds(state: &mut EventState) {
    state.holds_flush_queued = false;
    let holds = std::mem::take(&mut state.pending_holds);
    if holds.is_empty() {
        return;
    }
    let ttl = state.settings.hold_ttl;
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
                undo_hold(state, &hold, false).await;
                let refused = EventError::Unavailable(why.clone());
                answer_repeats(state, hold.reservation, Err(refused.clone()));
                let _ = hold.reply.send(Err(refused));
            }
            return;
        }
    };
    let expires_at = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
    let mut locked_holds = Vec::with_capacity(holds.len());
    let mut records = Vec::with_capacity(holds.len());
    for (hold, outcome) in holds.into_iter().zip(outcomes) {
        match outcome {
            LockOutcome::Locked(tokens) => {
                let items: Vec<NewItem> = hold
                    .seats
                    .iter()
                    .zip(&tokens)
                    .map(|(&seat, &token)| NewItem::Seat {
                        seat,
                        price: state.seat_prices.get(&seat).copied().unwrap_or(0),
                        token,
                    })
                    .collect();
                let total_amount = hold
                    .seats
                    .iter()
                    .map(|seat| state.seat_prices.get(seat).copied().unwrap_or(0))
                    .sum();
                records.push(NewReservation {
                    id: hold.reservation,
                    event_id: state.event_id,
                    user: hold.user,
                    idempotency_key: hold.idempotency_key.clone(),
                    expires_at,
                    total_amount,
                    items,
                });
                locked_holds.push((hold, tokens));
            }
            LockOutcome::Taken(taken) => {
                undo_hold(state, &hold, false).await;
                let refused = EventError::SeatsTaken(taken);
                answer_repeats(state, hold.reservation, Err(refused.clone()));
                let _ = hold.reply.send(Err(refused));
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
            undo_hold(state, &hold, true).await;
            answer_repeats(state, hold.reservation, Err(error.clone()));
            let _ = hold.reply.send(Err(error));
            continue;
        }
        let pairs: Vec<_> = hold.seats.iter().copied().zip(tokens).collect();
        if let Err(err) = state.seats.attach_tokens(hold.reservation, &pairs) {
            tracing::error!(%err, "attaching fencing tokens to a hold just taken");
        }
        for &seat in &hold.seats {
            let _ = state.seat_changes.send(SeatChange {
                seat,
                status: SeatStatus::Locked,
            });
        }
        answer_repeats(
            state,
            hold.reservation,
            Err(EventError::DuplicateRequest(hold.reservation)),
        );
        let _ = hold.reply.send(Ok(HoldView {
            reservation: hold.reservation,
            expires_at: record.expires_at,
            seats: hold.seats.clone(),
            total_amount: record.total_amount,
            replayed: false,
        }));
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

/// Takes back a hold that could not be made durable: the seats in memory, the idempotency
/// key, and (when they were taken) its Redis locks.
async fn undo_hold(state: &mut EventState, hold: &PendingHold, locked: bool) {
    state.seats.release(hold.reservation);
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

async fn hold_tickets(
    state: &mut EventState,
    user: UserId,
    reservation: ReservationId,
    ticket_type: TicketTypeId,
    quantity: u32,
    idempotency_key: String,
    at: Instant,
) -> Result<HoldView, EventError> {
    if let Some(&existing) = state.idempotency.get(&(user, idempotency_key.clone())) {
        return Err(EventError::DuplicateRequest(existing));
    }
    if !state.on_sale {
        return Err(EventError::NotOnSale);
    }
    let Some(&unit_price) = state.ticket_prices.get(&ticket_type) else {
        return Err(EventError::UnknownTicketType);
    };
    if state.inventory.counts(ticket_type).is_none() {
        return Err(EventError::HasSeatMap);
    }
    let ttl = state.settings.hold_ttl;
    state
        .inventory
        .hold(reservation, ticket_type, quantity, at, ttl)
        .map_err(|e| match e {
            InventoryError::ZeroQuantity => EventError::Empty,
            InventoryError::TooMany { max, .. } => EventError::TooMany { max: max as usize },
            InventoryError::UnknownType(_) => EventError::UnknownTicketType,
            InventoryError::NotEnough { .. } => EventError::SoldOut,
            InventoryError::ReservationExists(existing) => EventError::DuplicateRequest(existing),
            #[allow(unreachable_patterns)]
            _ => EventError::SoldOut,
        })?;
    state.admission.heartbeat(user, at);
    let expires_at = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
    let total_amount = unit_price.saturating_mul(i64::from(quantity));
    let record = NewReservation {
        id: reservation,
        event_id: state.event_id,
        user,
        idempotency_key: idempotency_key.clone(),
        expires_at,
        total_amount,
        items: vec![NewItem::Tickets {
            ticket_type,
            quantity,
            unit_price,
        }],
    };
    let inserted = state
        .store
        .insert_pending(std::slice::from_ref(&record))
        .await
        .map(|outcomes| outcomes.into_iter().next());
    let refused = match inserted {
        Ok(Some(InsertOutcome::Inserted)) => None,
        Ok(Some(InsertOutcome::DuplicateKey(existing))) => {
            Some(EventError::DuplicateRequest(existing))
        }
        Ok(Some(InsertOutcome::SeatConflict)) => Some(EventError::SoldOut),
        Ok(None) => Some(EventError::Unavailable("no insert outcome".into())),
        Err(err) => Some(EventError::Unavailable(err.to_string())),
    };
    if let Some(error) = refused {
        state.inventory.release(reservation);
        return Err(error);
    }
    state.ticket_owners.insert(reservation, user);
    state
        .idempotency
        .insert((user, idempotency_key), reservation);
    Ok(HoldView {
        reservation,
        expires_at,
        seats: Vec::new(),
        total_amount,
        replayed: false,
    })
}

fn hold_error(err: HoldError) -> EventError {
    match err {
        HoldError::Empty => EventError::Empty,
        HoldError::TooMany { max, .. } => EventError::TooMany { max },
        HoldError::DuplicateSeats(seats) => EventError::DuplicateSeats(seats),
        HoldError::UnknownSeats(seats) => EventError::UnknownSeats(seats),
        HoldError::ReservationExists(existing) => EventError::DuplicateRequest(existing),
        HoldError::SeatsTaken(seats) => EventError::SeatsTaken(seats),
    }
}

async fn confirm(
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
                Some(SeatState::Sold { .. }) => return Err(EventError::NotPending),
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
                for (seat, _) in pairs {
                    let _ = state.seat_changes.send(SeatChange {
                        seat,
                        status: SeatStatus::Reserved,
                    });
                }
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

async fn cancel(
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
async fn revive(
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
    for seat in seats {
        let _ = state.seat_changes.send(SeatChange {
            seat,
            status: SeatStatus::Reserved,
        });
    }
    Ok(())
}

async fn refund(state: &mut EventState, reservation: ReservationId) -> Result<(), EventError> {
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
        for seat in state.seats.release(reservation) {
            let _ = state.seat_changes.send(SeatChange {
                seat,
                status: SeatStatus::Available,
            });
        }
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
    for seat in seats {
        let _ = state.seat_changes.send(SeatChange {
            seat,
            status: SeatStatus::Available,
        });
    }
}

async fn tick(state: &mut EventState, myself: &ActorRef<EventMsg>, at: Instant) {
    let tick = state.admission.tick(at);
    for &user in &tick.expired {
        log(state, myself, QueueLogRecord::Expired { user });
    }
    for &user in &tick.admitted {
        log(state, myself, QueueLogRecord::Admitted { user });
    }
    if !tick.admitted.is_empty() {
        state.admissions.push_back((at, tick.admitted.len()));
    }
    for user in state.admission.drop_stale(at) {
        log(state, myself, QueueLogRecord::Dropped { user });
    }
    while state
        .admissions
        .front()
        .is_some_and(|(when, _)| at.saturating_duration_since(*when) > Duration::from_secs(60))
    {
        state.admissions.pop_front();
    }

    for (reservation, seats) in state.seats.expire(at) {
        finish_expired(state, reservation).await;
        if let Err(err) = state
            .store
            .unlock_seats(state.event_id, reservation, &seats)
            .await
        {
            tracing::warn!(%err, %reservation, "unlocking expired seats failed");
        }
        for seat in seats {
            let _ = state.seat_changes.send(SeatChange {
                seat,
                status: SeatStatus::Available,
            });
        }
    }
    for (reservation, _) in state.inventory.expire(at) {
        state.ticket_owners.remove(&reservation);
        finish_expired(state, reservation).await;
    }

    if state.queue_ticks.receiver_count() > 0 {
        let _ = state.queue_ticks.send(QueueTick {
            admitted: tick.admitted,
        });
    }

    let overview = state.admission.overview();
    let idle = overview.waiting == 0
        && overview.active == 0
        && state.seats.counts().held == 0
        && state.ticket_owners.is_empty()
        && state.unflushed.is_empty()
        && state.pending_holds.is_empty()
        && at.saturating_duration_since(state.last_activity) >= state.idle_after;
    if idle {
        tracing::info!(event = %state.event_id, "event actor idle: stopping");
        myself.stop(Some("idle".into()));
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

fn public_status(state: &SeatState) -> SeatStatus {
    match state {
        SeatState::Available => SeatStatus::Available,
        SeatState::Held { .. } => SeatStatus::Locked,
        SeatState::Sold { .. } => SeatStatus::Reserved,
    }
}

fn overview(state: &EventState, at: Instant) -> EventOverview {
    let counts = state.seats.counts();
    let window: usize = state
        .admissions
        .iter()
        .filter(|(when, _)| at.saturating_duration_since(*when) <= Duration::from_secs(60))
        .map(|(_, n)| n)
        .sum();
    EventOverview {
        queue: state.admission.overview(),
        admitted_per_sec: window as f64 / 60.0,
        seats_available: counts.available,
        seats_held: counts.held,
        seats_sold: counts.sold,
    }
}
