//! Where a call goes: the local actor when this node serves the event under a valid
//! lease, the owner's node otherwise (`docs/architecture.md#ownership`).
//!
//! A serving actor whose lease this node no longer holds (by its own clock) is stopped
//! before anything else happens: it fails closed. A forwarded call that finds the owner
//! moved (`NotOwner`) is placed once more on a fresh view and retried once; an actor that
//! stopped between lookup and call is started again and asked once more.

use std::sync::Arc;

use uuid::Uuid;

use super::call::{EventAnswer, EventCall};
use super::directory::{EventDirectory, Serving, Slot};

use super::error::EventError;
use super::supervisor::LEASE_LOST;
use crate::ownership::{Ask, Owner, Placement};

/// Where one call goes.
pub(super) enum Route {
    Local(Arc<Slot>, Serving),
    Remote(Owner),
    /// Nobody serves the event and the call does not start it.
    Nowhere,
}

impl EventDirectory {
    /// Makes `call`, here or on the owner's node. `forwarded`: another node sent it here
    /// (it is served here or refused, never sent on).
    pub(super) async fn run(
        &self,
        event_id: Uuid,
        call: EventCall,
        forwarded: bool,
    ) -> Result<EventAnswer, EventError> {
        let mut ask = if call.starts_event() {
            Ask::serve()
        } else {
            Ask::if_running()
        };
        if forwarded {
            ask = ask.forwarded();
        }
        let timeout = self.inner.options.call_timeout;
        let (mut restarted, mut refreshed) = (false, false);
        loop {
            match self.route(event_id, ask).await? {
                Route::Local(_, serving) => {
                    // Statuses and the compact seat map are read off the actor's board,
                    // without its mailbox.
                    if let EventCall::Status { user } = call
                        && let Some(view) = serving.board.status(user, super::state::now())
                    {
                        return Ok(EventAnswer::Queue(view));
                    }
                    if let EventCall::SeatState = call {
                        return Ok(EventAnswer::SeatState(serving.board.seat_state()));
                    }
                    super::telemetry::in_flight(event_id, 1.0);
                    let span = super::trace::call_span(event_id, &call);
                    let answer = call
                        .clone()
                        .ask(&serving.actor, &serving.mailbox, span, timeout)
                        .await;
                    super::telemetry::in_flight(event_id, -1.0);
                    match answer {
                        Err(EventError::Stopped) if !restarted => restarted = true,
                        other => return other,
                    }
                }
                Route::Remote(owner) => {
                    let Some(cluster) = &self.inner.cluster else {
                        return Err(EventError::Unavailable("no cluster to forward to".into()));
                    };
                    match cluster.forward(&owner, event_id, call.clone()).await {
                        Err(EventError::NotOwner) if !refreshed => {
                            tracing::debug!(event = %event_id, node = %owner.node,
                                "the owner moved: looking it up afresh");
                            refreshed = true;
                            ask = ask.fresh();
                        }
                        other => return other,
                    }
                }
                Route::Nowhere => return Ok(EventAnswer::Done),
            }
        }
    }

    /// Where the event is served, starting its actor here when this node takes (or
    /// holds) its lease and `ask` allows a start.
    pub(super) async fn route(&self, event_id: Uuid, ask: Ask) -> Result<Route, EventError> {
        loop {
            let slot = self.inner.slot(event_id);
            if let Some(serving) = self.serving(&slot) {
                return Ok(Route::Local(slot, serving));
            }
            let start = slot.starting.lock().await;
            if slot.is_retired() {
                continue;
            }
            if let Some(serving) = self.serving(&slot) {
                drop(start);
                return Ok(Route::Local(slot, serving));
            }
            self.stop_lapsed(&slot).await;
            let placement = match &self.inner.cluster {
                Some(cluster) => cluster.place(event_id, ask).await,
                None if ask.acquire => Ok(Placement::Here(crate::ownership::Fence {
                    event_id,
                    epoch: 0,
                })),
                None => Ok(Placement::Nowhere),
            };
            let route = match placement {
                Ok(Placement::Here(fence)) if ask.acquire => {
                    let fence = self.inner.cluster.is_some().then_some(fence);
                    let serving = self.spawn(&slot, fence).await?;
                    drop(start);
                    return Ok(Route::Local(slot, serving));
                }
                // Held here with no actor running: nothing to tell it.
                Ok(Placement::Here(_) | Placement::Nowhere) => Ok(Route::Nowhere),
                Ok(Placement::There(owner)) => Ok(Route::Remote(owner)),
                Err(err) => Err(err),
            };
            self.inner.retire_if_unused_starting(&slot);
            drop(start);
            return route;
        }
    }

    /// The slot's running actor, if this node still serves under its lease.
    fn serving(&self, slot: &Slot) -> Option<Serving> {
        let serving = slot.serving_with_board()?;
        self.inner.holds(serving.fence.as_ref()).then_some(serving)
    }

    /// Stops an actor still running under a lease this node no longer holds, and waits
    /// for it; the caller holds the slot's start lock.
    async fn stop_lapsed(&self, slot: &Slot) {
        let Some((actor, fence)) = slot.serving() else {
            return;
        };
        if self.inner.holds(fence.as_ref()) {
            return;
        }
        tracing::warn!(event = %slot.event_id, "the lease lapsed: stopping the event actor");
        let _ = actor
            .stop_and_wait(
                Some(LEASE_LOST.into()),
                Some(self.inner.options.call_timeout),
            )
            .await;
    }
}
