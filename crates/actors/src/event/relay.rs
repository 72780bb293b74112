//! Live updates for an event owned by another node: one upstream subscription per event
//! per node, fanned out into the slot's channels, so a seat-map or queue stream open on
//! any node hears the owner's changes (`docs/architecture.md#ownership`).
//!
//! The relay runs while someone here listens. When the owner's stream ends (the owner
//! stopped serving, or the connection broke) the subscribers are told to resync and the
//! event is placed again: on another owner the relay follows it there; here, the local
//! actor takes over the channels and the relay ends.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::directory::{EventDirectory, Slot, WeakDirectory, lock};
use super::routing::Route;
use crate::ownership::{Ask, Feed};

/// How often a quiet relay checks that someone still listens.
const LISTENER_CHECK: Duration = Duration::from_secs(1);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

impl EventDirectory {
    /// Starts the slot's relay unless one runs.
    pub(super) fn relay(&self, slot: &Arc<Slot>) {
        let mut relay = lock(&slot.relay);
        if relay.as_ref().is_some_and(|task| !task.is_finished()) {
            return;
        }
        *relay = Some(tokio::spawn(run(self.downgrade(), slot.clone())));
    }
}

async fn run(directory: WeakDirectory, slot: Arc<Slot>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let Some(directory) = directory.upgrade() else {
            return;
        };
        let Some(cluster) = directory.inner.cluster.clone() else {
            return;
        };
        if slot.is_retired() || slot.subscribers() == 0 {
            directory.inner.retire_if_unused(&slot);
            return;
        }
        let route = directory.route(slot.event_id, Ask::serve()).await;
        let owner = match route {
            // The actor runs here now and feeds the channels itself.
            Ok(Route::Local(..) | Route::Nowhere) => return,
            Ok(Route::Remote(owner)) => owner,
            Err(err) => {
                tracing::debug!(event = %slot.event_id, %err, "relay: placing the event failed");
                drop(directory);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        drop(directory);
        match cluster.follow(&owner, slot.event_id).await {
            Ok(mut feed) => {
                backoff = FIRST_BACKOFF;
                pump(&slot, &mut feed).await;
                // Whatever happened between this stream and the next is unknown here.
                slot.resync();
            }
            Err(err) => {
                tracing::debug!(event = %slot.event_id, node = %owner.node, %err,
                    "relay: following the owner failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Passes the owner's updates on until its stream ends or nobody listens here.
async fn pump(slot: &Slot, feed: &mut mpsc::Receiver<Feed>) {
    let channels = slot.channels();
    let mut check = tokio::time::interval(LISTENER_CHECK);
    check.tick().await;
    loop {
        tokio::select! {
            item = feed.recv() => match item {
                Some(Feed::Seat(update)) => {
                    let _ = channels.seat_changes.send(update);
                }
                Some(Feed::Tick(tick)) => {
                    let _ = channels.queue_ticks.send(tick);
                }
                None => return,
            },
            _ = check.tick() => {
                if slot.is_retired() || slot.subscribers() == 0 {
                    return;
                }
            }
        }
    }
}
