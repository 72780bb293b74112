//! Block claiming: joins that arrive together share one counter write. Each event has a
//! lane, a task that takes every join queued while its previous write was in flight,
//! claims that many tickets in one write and hands them out in arrival order, then
//! stores the whole block's position records in one batch ([`VwrStore::claim_places`];
//! on Redis one script does both and keeps each user's place too, so a join costs the
//! node no Redis call of its own). Alone, a join costs one write as before; in a rush,
//! one write serves hundreds, which is how a room gets past the roughly 1,000 writes/s
//! that one DynamoDB item takes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::VwrError;
use crate::domain::ids::EventId;
use crate::store::{BlockJoin, Claimed, VwrStore};

/// A lane with nothing to do for this long ends; the next join starts a new one.
const LANE_IDLE: Duration = Duration::from_secs(30);
/// Joins queued per lane before callers wait for room: back-pressure, not loss.
const LANE_DEPTH: usize = 16_384;

struct Join {
    user_id: String,
    expires_at: DateTime<Utc>,
    reply: oneshot::Sender<Result<Option<Claimed>, VwrError>>,
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

    /// Takes the next ticket for `user_id` (or, from a store that
    /// [`VwrStore::keeps_places`], the place they hold); `None` when the room is not
    /// active.
    pub async fn join(
        &self,
        event: &EventId,
        user_id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<Claimed>, VwrError> {
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
            Ok(Some(claimed)) => {
                for (join, claimed) in joins.into_iter().zip(claimed) {
                    let _ = join.reply.send(Ok(Some(claimed)));
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
        let _ = join
            .reply
            .send(outcome.map(|claimed| claimed.and_then(|c| c.into_iter().next())));
    }
}

/// The block's tickets (or held places) in one store step, in arrival order.
async fn claim<S: VwrStore>(
    store: &S,
    event: &EventId,
    joins: &[Join],
) -> Result<Option<Vec<Claimed>>, VwrError> {
    let block: Vec<BlockJoin> = joins
        .iter()
        .map(|join| BlockJoin {
            user_id: join.user_id.clone(),
            request_id: Uuid::new_v4(),
            expires_at: join.expires_at,
        })
        .collect();
    let claimed = store.claim_places(event, &block, Utc::now()).await?;
    if let Some(claimed) = &claimed
        && claimed.len() != joins.len()
    {
        return Err(VwrError::store(format!(
            "a block of {} joins came back with {} answers",
            joins.len(),
            claimed.len()
        )));
    }
    Ok(claimed)
}
