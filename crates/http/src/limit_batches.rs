//! The rate limiter's trips to Redis, batched (`docs/architecture.md#the-gateway`).
//!
//! Every limited request needs its window checked and its hit recorded in Redis before it
//! may go on. One script call per request made Redis start a Lua script per request, which
//! was most of Redis's work in a rush. Instead the hits go to one task that sends whatever
//! queued up while its previous call was out as one call: idle, a hit goes at once, alone;
//! busy, a few hundred go together. Order and atomicity are the script's: it decides the
//! batch's hits one after another, as if each had come alone.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use urr_store::Kv;
use urr_store::rate_limit::{Decision, Hit, hit_many};

/// Hits sent in one call at most.
const MOST_PER_CALL: usize = 256;

/// The sending side of the batching task; the task ends when this is dropped.
pub(crate) struct HitBatches {
    queue: mpsc::UnboundedSender<Waiting>,
}

struct Waiting {
    name: String,
    limit: u64,
    reply: oneshot::Sender<Result<Decision, String>>,
}

impl HitBatches {
    /// Starts the task (on the current runtime) that sends hits to `kv` against windows of
    /// `window_ms`, each call given up after `deadline`.
    pub(crate) fn start(kv: Kv, window_ms: u64, deadline: Duration) -> Self {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(send_batches(kv, window_ms, deadline, waiting));
        Self { queue }
    }

    /// Records a hit on the window `name` if it holds fewer than `limit`; `Err` says why
    /// Redis did not decide.
    pub(crate) async fn hit(&self, name: String, limit: u64) -> Result<Decision, String> {
        let (reply, decided) = oneshot::channel();
        self.queue
            .send(Waiting { name, limit, reply })
            .map_err(|_| "the rate limiter's Redis task has stopped".to_owned())?;
        decided
            .await
            .map_err(|_| "the rate limiter's Redis task dropped the hit".to_owned())?
    }
}

async fn send_batches(
    kv: Kv,
    window_ms: u64,
    deadline: Duration,
    mut waiting: mpsc::UnboundedReceiver<Waiting>,
) {
    let mut batch = Vec::with_capacity(MOST_PER_CALL);
    while waiting.recv_many(&mut batch, MOST_PER_CALL).await > 0 {
        // A caller that gave up (its own deadline passed while Redis was slow) has fallen
        // back to memory: its hit is not recorded twice.
        batch.retain(|w: &Waiting| !w.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        metrics::histogram!("urr_rate_limit_batch").record(batch.len() as f64);
        let hits: Vec<Hit<'_>> = batch
            .iter()
            .map(|w| Hit {
                name: &w.name,
                limit: w.limit,
            })
            .collect();
        let outcome = tokio::time::timeout(deadline, hit_many(&kv, &hits, window_ms)).await;
        drop(hits);
        match outcome {
            Ok(Ok(decisions)) => {
                for (w, decision) in batch.drain(..).zip(decisions) {
                    let _ = w.reply.send(Ok(decision));
                }
            }
            Ok(Err(err)) => fail_all(&mut batch, &err.to_string()),
            Err(_) => fail_all(&mut batch, "timed out"),
        }
    }
}

fn fail_all(batch: &mut Vec<Waiting>, why: &str) {
    for w in batch.drain(..) {
        let _ = w.reply.send(Err(why.to_owned()));
    }
}
