//! The node's background work for the cluster (`docs/architecture.md#ownership`):
//!
//! - renewal: one task renews every lease held here, every third of the lease TTL;
//! - the watchdog: an actor whose lease lapsed by this node's clock is stopped (it fails
//!   closed), as is one whose lease another node now holds;
//! - the heartbeat: every quarter of the member TTL, the node's heartbeat and counters,
//!   then the handoffs (owned events whose preferred owner is now another live node) and
//!   the adoptions (live events that prefer this node and that nobody holds);
//! - the drain at SIGTERM: leave the membership, hand every event off, then exit.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use urr_actors::event::{DRAIN, HANDOFF, LEASE_LOST};
use urr_actors::ownership::Fence;
use urr_store::cluster::members;
use uuid::Uuid;

use crate::Cluster;

/// Adoptions started per heartbeat at most, so a node that joins a busy cluster does not
/// start hundreds of actors at once.
const ADOPT_PER_BEAT: usize = 32;

impl Cluster {
    /// Runs renewal, the watchdog and the heartbeat until `stop` resolves.
    pub async fn run(self: Arc<Self>, stop: impl Future<Output = ()>) {
        let renewing = self.clone().renewing();
        let watching = self.clone().watching();
        let beating = self.clone().beating();
        tokio::select! {
            () = renewing => {},
            () = watching => {},
            () = beating => {},
            () = stop => {},
        }
    }

    async fn renewing(self: Arc<Self>) {
        let mut every = tokio::time::interval(self.config.renew_every());
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if self.halted.load(Ordering::Relaxed) {
                return;
            }
            for fence in self.leases.renew_all().await {
                self.stop_actor(fence, LEASE_LOST);
            }
        }
    }

    async fn watching(self: Arc<Self>) {
        let mut every = tokio::time::interval(self.config.watchdog_every());
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if self.halted.load(Ordering::Relaxed) {
                return;
            }
            for fence in self.leases.lapsed() {
                tracing::error!(event = %fence.event_id, epoch = fence.epoch,
                    "the lease lapsed by this node's clock before it was renewed: \
                     stopping the event here");
                self.stop_actor(fence, LEASE_LOST);
            }
        }
    }

    async fn beating(self: Arc<Self>) {
        let mut every = tokio::time::interval(self.config.heartbeat_every());
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if self.halted.load(Ordering::Relaxed) {
                return;
            }
            // A draining node has left the membership and takes nothing new.
            if self.draining.load(Ordering::Relaxed) {
                continue;
            }
            let counters = self.counters();
            crate::telemetry::publish(&self.config.node_id, &counters);
            if let Err(err) = self.membership.heartbeat(&counters).await {
                tracing::warn!(%err, "cluster heartbeat failed");
                continue;
            }
            self.hand_off_moved().await;
            self.adopt_live().await;
        }
    }

    /// Stops the actor running under `fence` here, in the background.
    fn stop_actor(&self, fence: Fence, why: &'static str) {
        if let Some(directory) = self.directory() {
            tokio::spawn(async move {
                directory.stop_event(fence, why).await;
            });
        }
    }

    /// Hands off every owned event whose preferred owner is now another live member.
    async fn hand_off_moved(&self) {
        for event in self.leases.held_events() {
            if let Some(to) = self.membership.hand_to(event) {
                self.hand_off(event, &to.node, HANDOFF).await;
            }
        }
    }

    /// Stops taking new work for the event, stops its actor (which flushes what it
    /// buffered) and releases the lease for the new owner, which rebuilds from the queue
    /// log and PostgreSQL.
    async fn hand_off(&self, event: Uuid, to: &str, why: &'static str) {
        let Some(fence) = self.leases.begin_release(event) else {
            return;
        };
        self.leases
            .counters
            .handoffs
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(%event, epoch = fence.epoch, %to, why, "handing the event off");
        if let Some(directory) = self.directory() {
            directory.stop_event(fence, why).await;
        }
        self.leases.release(fence, false).await;
    }

    /// Takes the live events nobody holds whose preferred owner is this node, so their
    /// lines keep moving without waiting for a request.
    async fn adopt_live(&self) {
        let Some(directory) = self.directory() else {
            return;
        };
        let live = match members::live_events(&self.kv).await {
            Ok(live) => live,
            Err(err) => {
                tracing::warn!(%err, "reading the live events failed");
                return;
            }
        };
        let held = self.leases.held_events();
        let mine = live.into_iter().filter(|event| {
            !held.contains(event)
                && self
                    .membership
                    .preferred(*event, false)
                    .is_some_and(|m| m.node == self.config.node_id)
        });
        for event in mine.take(ADOPT_PER_BEAT) {
            match directory.event(event).start().await {
                Ok(_) => tracing::info!(%event, "adopted a live event"),
                Err(urr_actors::event::EventError::EventNotFound) => {
                    let _ = members::mark_idle(&self.kv, event).await;
                }
                Err(err) => tracing::debug!(%event, %err, "adopting a live event failed"),
            }
        }
    }

    /// Leaves the cluster in order (SIGTERM): out of the membership first, so no new
    /// work is placed here, then every owned event handed off (actor flushed and
    /// stopped, lease released) for the other nodes to take over.
    pub async fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
        if let Err(err) = self.membership.leave().await {
            tracing::warn!(%err, "leaving the membership failed; it lapses by TTL");
        }
        let events = self.leases.held_events();
        tracing::info!(events = events.len(), "draining: handing every event off");
        let handoffs = events
            .into_iter()
            .map(|event| async move { self.hand_off(event, "-", DRAIN).await });
        futures::future::join_all(handoffs).await;
        // A handoff the heartbeat had begun finishes on its own: wait for it too.
        let deadline = tokio::time::Instant::now() + self.config.call_timeout;
        while !self.leases.held_events().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Stops as a crash would: no renewal, no release, no heartbeat; the leases lapse
    /// by their TTL and the membership forgets this node after its TTL.
    pub fn halt(&self) {
        self.halted.store(true, Ordering::Relaxed);
        self.leases.abandon();
    }
}
