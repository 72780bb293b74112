//! The cluster as the directory's [`Ownership`] port: where an event is served
//! (`docs/architecture.md#ownership`).
//!
//! 1. A lease this node holds and that is valid by its clock: here.
//! 2. A lease being given back here (a handoff, a drain): wait for it, then place again.
//! 3. A lease held by another node: there (a forwarded call is refused: `NotOwner`).
//!    A lease of an earlier run of this node id is a dead process's: taken over; one of
//!    this run that lapsed by its clock (Redis did not answer in time) is taken back.
//! 4. No lease: the preferred owner (rendezvous over live members) takes it; another
//!    node sends the call there. A forwarded call takes it here (the forwarder chose
//!    this node). A draining node takes nothing.

use std::sync::atomic::Ordering;
use std::time::Instant;

use async_trait::async_trait;
use tokio::sync::mpsc;
use urr_actors::event::{EventAnswer, EventCall, EventError};
use urr_actors::ownership::{Ask, Feed, Fence, Owner, Ownership, Placement};
use urr_store::cluster::leases::{self, LeaseValue};
use uuid::Uuid;

use crate::Cluster;
use crate::leases::Taking;

/// Cached owners of events held elsewhere beyond this many are dropped.
const OWNER_CACHE_LIMIT: usize = 10_000;

impl Cluster {
    fn cached_owner(&self, event: Uuid) -> Option<Owner> {
        let owners = self.owners.lock().ok()?;
        let (owner, at) = owners.get(&event)?;
        (at.elapsed() < self.config.renew_every()).then(|| owner.clone())
    }

    fn remember_owner(&self, event: Uuid, owner: &Owner) {
        if let Ok(mut owners) = self.owners.lock() {
            if owners.len() >= OWNER_CACHE_LIMIT {
                owners.clear();
            }
            owners.insert(event, (owner.clone(), Instant::now()));
        }
    }

    pub(crate) fn forget_owner(&self, event: Uuid) {
        if let Ok(mut owners) = self.owners.lock() {
            owners.remove(&event);
        }
    }

    fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Takes the free (or dead run's) lease here, or says who beat this node to it.
    async fn take(
        &self,
        event: Uuid,
        ask: Ask,
        stale: Option<&str>,
    ) -> Result<Placement, EventError> {
        match self.leases.acquire(event, stale).await? {
            Taking::Taken(fence) => Ok(Placement::Here(fence)),
            Taking::HeldBy(_) if ask.forwarded => Err(EventError::NotOwner),
            Taking::HeldBy(raw) => match LeaseValue::parse(&raw) {
                Some(holder) => Ok(Placement::There(self.owner_of(event, holder))),
                None => Err(EventError::Unavailable(
                    "the event's lease holds an unreadable value".into(),
                )),
            },
        }
    }

    fn owner_of(&self, event: Uuid, holder: LeaseValue) -> Owner {
        let owner = Owner {
            node: holder.node,
            url: holder.url,
        };
        self.remember_owner(event, &owner);
        owner
    }

    /// No lease anywhere: the preferred owner takes it.
    async fn place_free(&self, event: Uuid, ask: Ask) -> Result<Placement, EventError> {
        if !ask.acquire {
            return Ok(Placement::Nowhere);
        }
        if self.draining() {
            if ask.forwarded {
                return Err(EventError::NotOwner);
            }
            return match self.membership.preferred(event, true) {
                Some(member) => Ok(Placement::There(Owner {
                    node: member.node,
                    url: member.url,
                })),
                None => Err(EventError::Unavailable(
                    "this node is draining and no other node is live".into(),
                )),
            };
        }
        let preferred = self.membership.preferred(event, false);
        match preferred {
            Some(member) if !ask.forwarded && member.node != self.config.node_id => {
                Ok(Placement::There(Owner {
                    node: member.node,
                    url: member.url,
                }))
            }
            _ => self.take(event, ask, None).await,
        }
    }
}

#[async_trait]
impl Ownership for Cluster {
    async fn place(&self, event_id: Uuid, ask: Ask) -> Result<Placement, EventError> {
        if self.halted.load(Ordering::Relaxed) {
            return Err(EventError::Unavailable("this node is stopping".into()));
        }
        self.leases.wait_released(event_id).await;
        if let Some(fence) = self.leases.serving(event_id) {
            return Ok(Placement::Here(fence));
        }
        if ask.fresh {
            self.forget_owner(event_id);
            if let Err(err) = self.membership.refresh().await {
                tracing::debug!(%err, "refreshing the membership failed");
            }
        } else if !ask.forwarded
            && let Some(owner) = self.cached_owner(event_id)
        {
            return Ok(Placement::There(owner));
        }
        let raw = leases::holder(&self.kv, event_id)
            .await
            .map_err(|e| EventError::Unavailable(e.to_string()))?;
        let Some(raw) = raw else {
            return self.place_free(event_id, ask).await;
        };
        let Some(holder) = LeaseValue::parse(&raw) else {
            return Err(EventError::Unavailable(
                "the event's lease holds an unreadable value".into(),
            ));
        };
        if holder.node == self.config.node_id {
            // Not served here (that was answered above), so no actor runs it anywhere.
            if !ask.acquire {
                return Ok(Placement::Nowhere);
            }
            if self.draining() {
                // Leaving: it lapses by TTL, then the other nodes take it.
                return Err(EventError::Unavailable(
                    "the event's lease lapsed here and is expiring".into(),
                ));
            }
            if self.leases.is_mine(&holder) {
                if self.leases.is_held(event_id) {
                    // Still counted here (being given back, or the watchdog has yet to
                    // drop it): never taken twice by one run.
                    return Err(EventError::Unavailable(
                        "the event's lease is being given up here".into(),
                    ));
                }
                // This run's lease, dropped by its clock while Redis did not answer;
                // the key outlived it (a renewal that arrived after its reply timed
                // out extends it a full TTL). Nobody else can hold it and the actor is
                // stopped (the caller stopped it under the start lock), so it is taken
                // back at a new epoch now rather than left to expire: the event is
                // served again as soon as Redis answers.
                tracing::warn!(event = %event_id, epoch = holder.epoch,
                    "taking back a lease that lapsed here by this node's clock");
            } else {
                tracing::info!(event = %event_id, epoch = holder.epoch,
                    "taking over the lease of an earlier run of this node");
            }
            return self.take(event_id, ask, Some(&raw)).await;
        }
        if ask.forwarded {
            return Err(EventError::NotOwner);
        }
        Ok(Placement::There(self.owner_of(event_id, holder)))
    }

    fn holds(&self, fence: &Fence) -> bool {
        self.leases.holds(fence)
    }

    async fn release(&self, fence: Fence) {
        if self.halted.load(Ordering::Relaxed) {
            return;
        }
        self.leases.release(fence, true).await;
    }

    fn fenced(&self, fence: Fence) {
        tracing::warn!(event = %fence.event_id, epoch = fence.epoch,
            "a write under this node's lease was refused: the lease is gone");
        self.leases.forget(&fence);
    }

    async fn forward(
        &self,
        owner: &Owner,
        event_id: Uuid,
        call: EventCall,
    ) -> Result<EventAnswer, EventError> {
        let answer = self.forwarder.call(owner, event_id, &call).await;
        if matches!(
            answer,
            Err(EventError::NotOwner | EventError::Unavailable(_))
        ) {
            self.forget_owner(event_id);
        }
        answer
    }

    async fn follow(
        &self,
        owner: &Owner,
        event_id: Uuid,
    ) -> Result<mpsc::Receiver<Feed>, EventError> {
        let feed = self.forwarder.follow(owner, event_id).await;
        if feed.is_err() {
            self.forget_owner(event_id);
        }
        feed
    }
}
