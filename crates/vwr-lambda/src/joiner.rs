//! Block claiming: joins that arrive together share one counter write. Each event has a
//! lane, a task that takes every join queued while its previous write was in flight,
//! claims that many tickets in one write and hands them out in arrival order, then
//! stores the whole block's position records in one batch. Alone, a join costs one write
//! as before; in a rush, one write serves hundreds, which is how a room gets past the
//! roughly 1,000 writes/s that one DynamoDB item takes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::VwrError;
use crate::domain::ids::EventId;
use crate::store::{PositionRecord, VwrStore};

/// A lane with nothing to do for this long ends; the next join starts a new one.
const LANE_IDLE: Duration = Duration::from_secs(30);
/// Joins queued per lane before callers wait for room: back-pressure, not loss.
const LANE_DEPTH: usize = 16_384;

/// A join that got its ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub request_id: Uuid,
    pub ticket: u64,
}

struct Join {
    user_id: String,
    expires_at: DateTime<Utc>,
    reply: oneshot::Sender<Result<Option<Joined>, VwrError>>,
}

/// Hands out tickets in blocks; cheap to clone.
#[derive(Clone)]
pub struct Joiner<S> {
    store: S,
    lanes: Arc<Mutex<HashMap<EventId, mpsc::Sender<Join>>>>,
    max_block: usize,
    linger: Duration,
}

impl<S: VwrStore> Joiner<S> {
    /// `max_block` bounds one write's block; `linger` waits that long for company before a
    /// write (zero: write at once and let in-flight time do the batching).
    pub fn new(store: S, max_block: usize, linger: Duration) -> Self {
        Self {
            store,
            lanes: Arc::new(Mutex::new(HashMap::new())),
            max_block: max_block.max(1),
            linger,
        }
    }

    /// Takes the next ticket for `user_id`; `None` when the room is not active.
    pub async fn join(
        &self,
        event: &EventId,
        user_id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<Joined>, VwrError> {
        let (reply, answer) = oneshot::channel();
        let mut join = Join {
            user_id: user_id.to_owned(),
            expires_at,
            reply,
        };
        // A lane may end between lookup and send; the join then comes back and goes to a
        // fresh lane.
        for _ in 0..3 {
            let lane = self.lane(event);
            match lane.send(join).await {
                Ok(()) => {
                    return answer
                        .await
                        .map_err(|_| VwrError::store("join lane ended before answering"))?;
                }
                Err(mpsc::error::SendError(back)) => {
                    join = back;
                    self.forget(event, &lane);
                }
            }
        }
        Err(VwrError::store("no join lane would take the join"))
    }

    fn lane(&self, event: &EventId) -> mpsc::Sender<Join> {
        let mut lanes = self
            .lanes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(lane) = lanes.get(event).filter(|l| !l.is_closed()) {
            return lane.clone();
        }
        let (tx, rx) = mpsc::channel(LANE_DEPTH);
        lanes.insert(event.clone(), tx.clone());
        tokio::spawn(run_lane(
            self.store.clone(),
            event.clone(),
            rx,
            self.max_block,
            self.linger,
        ));
        tx
    }

    fn forget(&self, event: &EventId, lane: &mpsc::Sender<Join>) {
        let mut lanes = self
            .lanes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if lanes.get(event).is_some_and(|l| l.same_channel(lane)) {
            lanes.remove(event);
        }
    }
}

async fn run_lane<S: VwrStore>(
    store: S,
    event: EventId,
    mut rx: mpsc::Receiver<Join>,
    max_block: usize,
    linger: Duration,
) {
    let mut block = Vec::with_capacity(max_block);
    loop {
        let first = match tokio::time::timeout(LANE_IDLE, rx.recv()).await {
            Ok(Some(join)) => join,
            Ok(None) | Err(_) => break,
        };
        block.push(first);
        if !linger.is_zero() {
            tokio::time::sleep(linger).await;
        }
        while block.len() < max_block {
            match rx.try_recv() {
                Ok(join) => block.push(join),
                Err(_) => break,
            }
        }
        let joins = std::mem::take(&mut block);
        let outcome = claim(&store, &event, &joins).await;
        match outcome {
            Ok(Some(records)) => {
                for (join, record) in joins.into_iter().zip(records) {
                    let _ = join.reply.send(Ok(Some(Joined {
                        request_id: record.request_id,
                        ticket: record.ticket,
                    })));
                }
            }
            Ok(None) => {
                for join in joins {
                    let _ = join.reply.send(Ok(None));
                }
            }
            Err(err) => {
                let message = err.to_string();
                for join in joins {
                    let _ = join.reply.send(Err(VwrError::Store(message.clone())));
                }
            }
        }
    }
    // Closing before the last drain means a join sent in the meantime is refused and
    // retried on a fresh lane, never silently dropped.
    rx.close();
    while let Ok(join) = rx.try_recv() {
        let outcome = claim(&store, &event, std::slice::from_ref(&join)).await;
        let _ = join.reply.send(outcome.map(|records| {
            records.and_then(|r| r.into_iter().next()).map(|r| Joined {
                request_id: r.request_id,
                ticket: r.ticket,
            })
        }));
    }
}

/// One counter write for the block, then one batched write of its position records.
async fn claim<S: VwrStore>(
    store: &S,
    event: &EventId,
    joins: &[Join],
) -> Result<Option<Vec<PositionRecord>>, VwrError> {
    let count = joins.len() as u64;
    let Some(last) = store.claim_block(event, count).await? else {
        return Ok(None);
    };
    let first = last + 1 - count;
    let records: Vec<PositionRecord> = joins
        .iter()
        .zip(first..=last)
        .map(|(join, ticket)| PositionRecord {
            request_id: Uuid::new_v4(),
            user_id: join.user_id.clone(),
            ticket,
            expires_at: join.expires_at,
        })
        .collect();
    store.put_positions(event, &records).await?;
    Ok(Some(records))
}
