//! The line: join, status, leave, and the group-committed queue log behind them.
//!
//! A queue change is applied in memory, its log record buffered, and a `FlushLog` queued
//! behind whatever is already in the mailbox, so one Redis write acknowledges every join
//! that arrived meanwhile. Replies that depend on a record wait until it is durable; so
//! does any answer that would tell a user they are admitted (and get them an entry token)
//! while their `Admitted` record is not yet in the log.

use std::time::{Duration, Instant};

use ractor::ActorRef;

use super::error::EventError;
use super::messages::{EventMsg, Reply};
use super::state::{AwaitingFlush, EventState};
use super::turns::fill_freed_room;
use super::views::QueueView;
use crate::admission::{JoinOutcome, LeftFrom};
use crate::ids::UserId;
use crate::queue_log::QueueLogRecord;

/// Attempts at writing a batch of the queue log before the joins waiting on it are
/// refused; between attempts the actor keeps serving.
const LOG_WRITE_ATTEMPTS: u32 = 3;
const LOG_RETRY_AFTER: Duration = Duration::from_millis(200);

pub(super) fn join(
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
    // Joining starts a new turn: whatever was left of one a purchase ended is over.
    state.finishing.remove(&user);
    state.admit_only_with_something_to_sell();
    let joined = state.board.write().admission.join(user, tier1_pos, at);
    let record = match joined {
        Err(_) => {
            let _ = reply.send(Err(EventError::QueueFull));
            return;
        }
        Ok(JoinOutcome::Active {
            newly_admitted: true,
        }) => {
            state.count_admissions(at, 1);
            super::telemetry::admitted(state.event_id, 1);
            QueueLogRecord::Admitted { user }
        }
        Ok(JoinOutcome::Queued(joined)) if joined.is_new => QueueLogRecord::Joined {
            user,
            tier1_pos,
            seq: joined.seq,
        },
        Ok(_) => {
            answer_when_durable(state, user, reply);
            return;
        }
    };
    log(state, myself, record);
    state.awaiting_flush.push(AwaitingFlush::Queue {
        user,
        undo: true,
        reply,
    });
}

/// Where the user stands; asking is also their heartbeat.
pub(super) fn status(state: &mut EventState, user: UserId, reply: Reply<QueueView>, at: Instant) {
    state.board.write().admission.heartbeat(user, at);
    answer_when_durable(state, user, reply);
}

/// Answers with the user's standing at once, unless it says "admitted" before the
/// admission is in the log: then after the write that makes it so.
fn answer_when_durable(state: &mut EventState, user: UserId, reply: Reply<QueueView>) {
    let undurable = state.board.read().undurable_admissions.contains(&user);
    if undurable {
        state.awaiting_flush.push(AwaitingFlush::Queue {
            user,
            undo: false,
            reply,
        });
    } else {
        let _ = reply.send(Ok(state.view(user)));
    }
}

/// Out of the line or the active set; answered once the `Left` record is durable.
pub(super) fn leave(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    user: UserId,
    reply: Reply<bool>,
    at: Instant,
) {
    let was_finishing = state.finishing.remove(&user).is_some();
    let left = state.board.write().admission.leave(user);
    if let Some(from) = left {
        log(state, myself, QueueLogRecord::Left { user });
        state.awaiting_flush.push(AwaitingFlush::Leave { reply });
        if from == LeftFrom::Active {
            fill_freed_room(state, myself, at);
        }
    } else {
        let _ = reply.send(Ok(was_finishing));
    }
}

/// Buffers a log record and makes sure a flush is queued behind the current mailbox.
pub(super) fn log(state: &mut EventState, myself: &ActorRef<EventMsg>, record: QueueLogRecord) {
    if let QueueLogRecord::Admitted { user } = record {
        state.board.write().undurable_admissions.insert(user);
    }
    state.unflushed.push(record.encode());
    if !state.flush_queued {
        state.flush_queued = true;
        state.flush_queued = state.send_self(myself, EventMsg::FlushLog);
    }
}

pub(super) async fn flush(state: &mut EventState, myself: &ActorRef<EventMsg>) {
    // Joins sent while the first of a burst was handled are still in the mailbox, behind
    // this flush: going once to the back takes them into this write instead of the next,
    // so a burst of joins costs one Redis round trip, not two. Once only, so a mailbox
    // that never empties still gets its writes.
    if !state.flush_deferred && !state.unflushed.is_empty() && state.mailbox.waiting() > 0 {
        state.flush_deferred = true;
        if state.send_self(myself, EventMsg::FlushLog) {
            return;
        }
    }
    state.flush_deferred = false;
    state.flush_queued = false;
    if state.unflushed.is_empty() {
        return;
    }
    let records = std::mem::take(&mut state.unflushed);
    let started = std::time::Instant::now();
    match state.store.append_queue_log(state.event_id, &records).await {
        Ok(()) => {
            super::telemetry::commit("queue", records.len(), started.elapsed());
            state.log_write_failures = 0;
            // Everything logged so far is durable: the batch was all of `unflushed`.
            state.board.write().undurable_admissions.clear();
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
            let mailbox = state.mailbox.clone();
            myself.send_after(LOG_RETRY_AFTER, move || {
                mailbox.increment(1.0);
                EventMsg::FlushLog
            });
        }
    }
}

/// The stopping actor's last write of what was not yet durable: what it covers is
/// acknowledged, what still fails is refused, never silently acknowledged.
pub(super) async fn flush_on_stop(state: &mut EventState) {
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
}

/// Answers every reply that was waiting for its log records to be durable.
fn acknowledge_waiting(state: &mut EventState) {
    for waiting in std::mem::take(&mut state.awaiting_flush) {
        match waiting {
            AwaitingFlush::Queue { user, reply, .. } => {
                let _ = reply.send(Ok(state.view(user)));
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
                if undo && state.board.write().admission.leave(user).is_some() {
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
