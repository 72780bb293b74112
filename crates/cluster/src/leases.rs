//! The leases this node holds, and their validity by this node's own monotonic clock
//! (`docs/architecture.md#ownership`).
//!
//! Acquiring an event: take its Redis lease (set if absent, with expiry), raise its epoch
//! in PostgreSQL (naming this node owner), then complete the lease with that epoch and
//! raise the epoch key beside the event's Redis keys, in one script. Only then may an
//! actor start under the new fence.
//!
//! A lease is valid here until the time its last renewal (or acquisition) was *sent*,
//! plus the TTL, less the fail-closed margin: Redis received the command after it was
//! sent, so its own expiry comes later still, and this node stops serving first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::watch;
use urr_actors::event::EventError;
use urr_actors::ownership::Fence;
use urr_store::cluster::leases::{self, LeaseValue};
use urr_store::cluster::{epochs, members};
use urr_store::{Kv, PgPool, StoreError};
use uuid::Uuid;

use crate::config::ClusterConfig;

/// A lease this node holds.
struct Held {
    value: LeaseValue,
    valid_until: Instant,
    /// Being given back: no longer served, not yet released.
    releasing: Option<watch::Sender<()>>,
}

/// What this node counts about its ownership (published with its heartbeat).
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) acquisitions: AtomicU64,
    pub(crate) releases: AtomicU64,
    pub(crate) handoffs: AtomicU64,
    pub(crate) failovers: AtomicU64,
    /// Writes refused by a fence: the store's own counter.
    pub(crate) refused_writes: Arc<AtomicU64>,
}

/// The outcome of trying to take an event's lease.
pub(crate) enum Taking {
    Taken(Fence),
    /// Someone holds it: the lease's raw value.
    HeldBy(String),
}

pub(crate) struct Leases {
    db: PgPool,
    kv: Kv,
    config: ClusterConfig,
    /// Tells this run of the node from an earlier one with the same id.
    incarnation: String,
    held: Mutex<HashMap<Uuid, Held>>,
    pub(crate) counters: Counters,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unavailable(err: StoreError) -> EventError {
    EventError::Unavailable(err.to_string())
}

impl Leases {
    pub(crate) fn new(db: PgPool, kv: Kv, config: ClusterConfig, refused: Arc<AtomicU64>) -> Self {
        Self {
            db,
            kv,
            config,
            incarnation: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
            held: Mutex::new(HashMap::new()),
            counters: Counters {
                refused_writes: refused,
                ..Counters::default()
            },
        }
    }

    fn value(&self, epoch: u64) -> LeaseValue {
        LeaseValue {
            node: self.config.node_id.clone(),
            incarnation: self.incarnation.clone(),
            epoch,
            url: self.config.advertise_url.clone(),
        }
    }

    fn valid_from(&self, sent: Instant) -> Instant {
        sent + self.config.lease_ttl - self.config.fail_closed_margin()
    }

    /// Whether a lease holding `value` is this run's own.
    pub(crate) fn is_mine(&self, value: &LeaseValue) -> bool {
        value.node == self.config.node_id && value.incarnation == self.incarnation
    }

    /// Whether this node still counts a lease on `event` (served, being given back, or
    /// lapsed by its clock and not yet dropped by the watchdog).
    pub(crate) fn is_held(&self, event: Uuid) -> bool {
        lock(&self.held).contains_key(&event)
    }

    /// The fence of the lease this node serves `event` under, if it is valid now.
    pub(crate) fn serving(&self, event: Uuid) -> Option<Fence> {
        let held = lock(&self.held);
        let lease = held.get(&event)?;
        (lease.releasing.is_none() && Instant::now() < lease.valid_until).then_some(Fence {
            event_id: event,
            epoch: lease.value.epoch,
        })
    }

    pub(crate) fn holds(&self, fence: &Fence) -> bool {
        self.serving(fence.event_id)
            .is_some_and(|serving| serving.epoch == fence.epoch)
    }

    /// Waits while the event's lease is being given back here.
    pub(crate) async fn wait_released(&self, event: Uuid) {
        let waiting = lock(&self.held)
            .get(&event)
            .and_then(|lease| lease.releasing.as_ref().map(watch::Sender::subscribe));
        if let Some(mut released) = waiting {
            let _ = tokio::time::timeout(self.config.call_timeout, released.changed()).await;
        }
    }

    /// Takes the event's lease for this node: Redis, then the epoch in PostgreSQL, then
    /// the lease completed with the epoch and the epoch key raised. `stale`: a lease of
    /// an earlier run of this node, taken over.
    pub(crate) async fn acquire(
        &self,
        event: Uuid,
        stale: Option<&str>,
    ) -> Result<Taking, EventError> {
        let taken = self.value(0);
        let ttl = self.config.lease_ttl;
        if let Some(holder) = leases::take(&self.kv, event, &taken, ttl, stale)
            .await
            .map_err(unavailable)?
        {
            return Ok(Taking::HeldBy(holder));
        }
        let acquired = match epochs::acquire(
            &self.db,
            event,
            &self.config.node_id,
            &self.config.advertise_url,
        )
        .await
        {
            Ok(Some(acquired)) => acquired,
            Ok(None) => {
                let _ = leases::release(&self.kv, event, &taken).await;
                return Err(EventError::EventNotFound);
            }
            Err(err) => {
                let _ = leases::release(&self.kv, event, &taken).await;
                return Err(unavailable(err));
            }
        };
        let done = self.value(acquired.epoch);
        let sent = Instant::now();
        let completed = leases::complete(&self.kv, event, &taken, &done, ttl)
            .await
            .map_err(unavailable)?;
        if !completed {
            return Err(EventError::Unavailable(
                "the event's lease lapsed while it was being taken".into(),
            ));
        }
        lock(&self.held).insert(
            event,
            Held {
                value: done,
                valid_until: self.valid_from(sent),
                releasing: None,
            },
        );
        self.counters.acquisitions.fetch_add(1, Ordering::Relaxed);
        match &acquired.failover_from {
            Some(from) => {
                self.counters.failovers.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%event, epoch = acquired.epoch, %from,
                    "acquired an event its last owner never released: failover");
            }
            None => tracing::info!(%event, epoch = acquired.epoch, "acquired event lease"),
        }
        if let Err(err) = members::mark_live(&self.kv, event).await {
            tracing::warn!(%event, %err, "could not mark the event live");
        }
        Ok(Taking::Taken(Fence {
            event_id: event,
            epoch: acquired.epoch,
        }))
    }

    /// Renews every lease held here, all at once (one being given back too: it stays
    /// this node's until its actor has flushed and it is released); returns the fences
    /// that were lost (someone else holds the key now).
    pub(crate) async fn renew_all(&self) -> Vec<Fence> {
        let serving: Vec<(Uuid, LeaseValue)> = lock(&self.held)
            .iter()
            .map(|(event, lease)| (*event, lease.value.clone()))
            .collect();
        let ttl = self.config.lease_ttl;
        let renewals = serving.into_iter().map(|(event, value)| async move {
            let sent = Instant::now();
            let renewed = leases::renew(&self.kv, event, &value, ttl).await;
            (event, value, sent, renewed)
        });
        let mut lost = Vec::new();
        for (event, value, sent, renewed) in futures::future::join_all(renewals).await {
            let fence = Fence {
                event_id: event,
                epoch: value.epoch,
            };
            match renewed {
                Ok(true) => {
                    crate::telemetry::renewal("renewed");
                    let mut held = lock(&self.held);
                    if let Some(lease) = held.get_mut(&event)
                        && lease.value == value
                    {
                        lease.valid_until = self.valid_from(sent);
                    }
                }
                Ok(false) => {
                    crate::telemetry::renewal("lost");
                    tracing::warn!(%event, epoch = value.epoch,
                        "the event's lease is gone: another node holds it");
                    self.forget(&fence);
                    lost.push(fence);
                }
                Err(err) => {
                    crate::telemetry::renewal("failed");
                    tracing::warn!(%event, %err, "renewing the event's lease failed");
                }
            }
        }
        lost
    }

    /// Forgets the leases whose validity ran out by this node's clock; returns them.
    pub(crate) fn lapsed(&self) -> Vec<Fence> {
        let now = Instant::now();
        let mut held = lock(&self.held);
        let lapsed: Vec<Fence> = held
            .iter()
            .filter(|(_, lease)| lease.releasing.is_none() && now >= lease.valid_until)
            .map(|(event, lease)| Fence {
                event_id: *event,
                epoch: lease.value.epoch,
            })
            .collect();
        for fence in &lapsed {
            held.remove(&fence.event_id);
        }
        lapsed
    }

    /// Forgets the lease under `fence` without releasing it (it is someone else's now).
    pub(crate) fn forget(&self, fence: &Fence) {
        let mut held = lock(&self.held);
        if held
            .get(&fence.event_id)
            .is_some_and(|lease| lease.value.epoch == fence.epoch)
        {
            held.remove(&fence.event_id);
        }
    }

    /// Stops serving `event` here from now on (a handoff or a drain starts); the fence
    /// it was served under, if it was.
    pub(crate) fn begin_release(&self, event: Uuid) -> Option<Fence> {
        let mut held = lock(&self.held);
        let lease = held.get_mut(&event)?;
        if lease.releasing.is_some() {
            return None;
        }
        lease.releasing = Some(watch::channel(()).0);
        Some(Fence {
            event_id: event,
            epoch: lease.value.epoch,
        })
    }

    /// Gives the lease under `fence` back: compare-and-delete in Redis, the release in
    /// PostgreSQL. `idle`: the event needs no owner (it leaves the live set). Whoever
    /// waited on the release goes on.
    pub(crate) async fn release(&self, fence: Fence, idle: bool) {
        let event = fence.event_id;
        let value = {
            let mut held = lock(&self.held);
            match held.get_mut(&event) {
                Some(lease) if lease.value.epoch == fence.epoch => {
                    if lease.releasing.is_none() {
                        lease.releasing = Some(watch::channel(()).0);
                    }
                    lease.value.clone()
                }
                _ => return,
            }
        };
        if idle && let Err(err) = members::mark_idle(&self.kv, event).await {
            tracing::warn!(%event, %err, "could not mark the event idle");
        }
        match leases::release(&self.kv, event, &value).await {
            Ok(true) => {
                if let Err(err) = epochs::release(&self.db, event, value.epoch).await {
                    tracing::warn!(%event, %err, "recording the release failed");
                }
                self.counters.releases.fetch_add(1, Ordering::Relaxed);
                tracing::info!(%event, epoch = value.epoch, idle, "released event lease");
            }
            Ok(false) => tracing::warn!(%event, epoch = value.epoch,
                "the lease was no longer ours to release"),
            Err(err) => tracing::warn!(%event, %err,
                "releasing the lease failed; it lapses by its TTL"),
        }
        let mut held = lock(&self.held);
        if held
            .get(&event)
            .is_some_and(|lease| lease.value.epoch == value.epoch)
        {
            // Dropping the sender wakes whoever waits in `wait_released`.
            held.remove(&event);
        }
    }

    /// Every event this node holds a lease on (served or being given back).
    pub(crate) fn held_events(&self) -> Vec<Uuid> {
        lock(&self.held).keys().copied().collect()
    }

    pub(crate) fn owned_count(&self) -> u64 {
        lock(&self.held).len() as u64
    }

    /// Forgets every lease without releasing it (a crash: the leases lapse by TTL).
    pub(crate) fn abandon(&self) {
        lock(&self.held).clear();
    }
}
