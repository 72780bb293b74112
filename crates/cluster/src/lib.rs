//! A cluster of URR nodes (`docs/architecture.md#ownership`): every node registers in
//! Redis with a heartbeat; the preferred owner of an event is the rendezvous winner over
//! the live members; ownership itself is a lease per event in Redis, renewed by one task
//! per node, with an epoch raised in PostgreSQL at every acquisition that the stores
//! check on every write (`docs/architecture.md#fencing`). A node serves an event only
//! while its lease is valid by its own clock, forwards calls for the others to their
//! owners, hands events off when a better owner joins, and drains before it exits.
//!
//! [`Cluster`] is the [`Ownership`](urr_actors::ownership::Ownership) port the event
//! directory asks; its background parts ([`Cluster::run`]) keep the leases and the
//! membership. No SQL and no Lua here: those live in `urr_store::cluster`.

mod codec;
mod config;
mod error;
mod feed;
mod forward;
mod keeper;
mod leases;
mod membership;
mod ownership;
pub mod placement;
pub mod status;
mod telemetry;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use urr_actors::event::{EventDirectory, WeakDirectory};
use urr_actors::ownership::Owner;
use urr_store::cluster::members::NodeCounters;
use urr_store::{Kv, PgPool};
use uuid::Uuid;

pub use codec::DecodeError;
pub use config::ClusterConfig;
pub use error::ClusterError;
pub use feed::{FEED_CONTENT_TYPE, serve_call, serve_feed, undecodable_reply};
pub use forward::{CALL_CONTENT_TYPE, HOP_HEADER};

use crate::forward::Forwarder;
use crate::leases::Leases;
use crate::membership::Membership;

/// This node's part in the cluster. Cheap to share (`Arc`).
pub struct Cluster {
    config: ClusterConfig,
    kv: Kv,
    leases: Leases,
    membership: Membership,
    forwarder: Forwarder,
    /// The directory whose actors this node's leases cover (set once it exists).
    directory: OnceLock<WeakDirectory>,
    /// Leaving: takes no event, hands every one off.
    draining: AtomicBool,
    /// Stopped as a crash would: renews nothing, releases nothing.
    halted: AtomicBool,
    /// Owners of events held elsewhere, as last read from their leases.
    owners: Mutex<HashMap<Uuid, (Owner, Instant)>>,
}

impl Cluster {
    /// Joins the cluster: the first heartbeat is recorded before this returns, so the
    /// node places events on itself from its first request. `refused_writes` is the
    /// store's count of writes its fences refused, published with the heartbeats.
    pub async fn join(
        db: PgPool,
        kv: Kv,
        config: ClusterConfig,
        refused_writes: Arc<AtomicU64>,
    ) -> Result<Arc<Self>, ClusterError> {
        let cluster = Arc::new(Self {
            leases: Leases::new(db, kv.clone(), config.clone(), refused_writes),
            membership: Membership::new(kv.clone(), config.clone()),
            forwarder: Forwarder::new(&config),
            kv,
            config,
            directory: OnceLock::new(),
            draining: AtomicBool::new(false),
            halted: AtomicBool::new(false),
            owners: Mutex::new(HashMap::new()),
        });
        cluster.membership.heartbeat(&cluster.counters()).await?;
        tracing::info!(node = %cluster.config.node_id, url = %cluster.config.advertise_url,
            members = cluster.membership.live().len(), "joined the cluster");
        Ok(cluster)
    }

    /// Gives the cluster the directory its leases cover: it stops actors whose lease
    /// was lost, handed off or drained.
    pub fn attach(&self, directory: &EventDirectory) {
        let _ = self.directory.set(directory.downgrade());
    }

    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    pub fn node_id(&self) -> &str {
        &self.config.node_id
    }

    /// Whether a node-to-node call carries this cluster's secret (`Authorization:
    /// Bearer`), compared in constant time.
    pub fn authorized(&self, authorization: Option<&str>) -> bool {
        let Some(token) = authorization.and_then(|h| h.strip_prefix("Bearer ")) else {
            return false;
        };
        let expected = self.config.secret.as_bytes();
        let given = token.as_bytes();
        given.len() == expected.len()
            && given
                .iter()
                .zip(expected)
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    }

    fn directory(&self) -> Option<EventDirectory> {
        self.directory.get().and_then(WeakDirectory::upgrade)
    }

    /// The counters this node publishes with its heartbeat.
    pub fn counters(&self) -> NodeCounters {
        let c = &self.leases.counters;
        NodeCounters {
            acquisitions: c.acquisitions.load(Ordering::Relaxed),
            releases: c.releases.load(Ordering::Relaxed),
            handoffs: c.handoffs.load(Ordering::Relaxed),
            refused_writes: c.refused_writes.load(Ordering::Relaxed),
            failovers: c.failovers.load(Ordering::Relaxed),
            owned: self.leases.owned_count(),
        }
    }

    /// Events this node holds a lease on now.
    pub fn owned_events(&self) -> Vec<Uuid> {
        self.leases.held_events()
    }
}
