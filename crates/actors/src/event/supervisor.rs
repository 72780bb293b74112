//! Watches the event actors: one that stopped idle is forgotten (the next request starts
//! a fresh one) and its lease released; one that crashed is started again at once,
//! rebuilt from storage, so its ticks (admission, hold expiry) go on without waiting for
//! a request; one that left for another node (a handoff, a drain, a lapsed lease, a
//! refused write) is not restarted here, and whoever listens here follows the new owner.

use std::sync::Weak;

use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};

use super::directory::{EventDirectory, Inner};
use crate::ownership::Ask;

/// Stop reasons. An idle stop ends the event here and gives its lease back.
pub(super) const IDLE: &str = "idle";
pub(super) const SHUTDOWN: &str = "shutdown";
/// The cluster moved the event to its preferred owner.
pub const HANDOFF: &str = "handoff";
/// The node is draining before it exits.
pub const DRAIN: &str = "drain";
/// This node's lease lapsed by its own clock: it fails closed.
pub const LEASE_LOST: &str = "lease lost";
/// A store refused a write: a newer owner exists.
pub(super) const FENCED: &str = "fenced";

/// How an actor ended, as the supervisor acts on it.
enum End {
    Idle,
    Shutdown,
    Moved,
    Crashed(String),
}

fn classify(reason: Option<String>) -> End {
    match reason.as_deref() {
        Some(IDLE) => End::Idle,
        Some(SHUTDOWN) => End::Shutdown,
        Some(HANDOFF | DRAIN | LEASE_LOST | FENCED) => End::Moved,
        _ => End::Crashed(reason.unwrap_or_else(|| "stopped".into())),
    }
}

pub(super) struct EventSupervisor;

impl Actor for EventSupervisor {
    type Msg = ();
    type State = Weak<Inner>;
    type Arguments = Weak<Inner>;

    async fn pre_start(
        &self,
        _myself: ActorRef<()>,
        directory: Weak<Inner>,
    ) -> Result<Weak<Inner>, ActorProcessingErr> {
        Ok(directory)
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<()>,
        event: SupervisionEvent,
        directory: &mut Weak<Inner>,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, end) = match event {
            SupervisionEvent::ActorTerminated(cell, _, reason) => (cell, classify(reason)),
            SupervisionEvent::ActorFailed(cell, err) => (cell, End::Crashed(err.to_string())),
            _ => return Ok(()),
        };
        let Some(inner) = directory.upgrade() else {
            return Ok(());
        };
        let expected = !matches!(end, End::Crashed(_));
        let Some((slot, fence)) = inner.ended(cell.get_id(), expected) else {
            return Ok(());
        };
        let event_id = slot.event_id;
        let directory = EventDirectory { inner };
        match end {
            // Released before the next event is handled, so no call can place the event
            // here on the lease being given back.
            End::Idle => {
                if let (Some(cluster), Some(fence)) = (&directory.inner.cluster, fence) {
                    cluster.release(fence).await;
                }
            }
            End::Shutdown => {}
            End::Moved => directory.after_move(&slot),
            End::Crashed(why) => {
                tracing::error!(event = %event_id, %why, "event actor failed: restarting");
                super::telemetry::restarted(event_id);
                tokio::spawn(async move {
                    if let Err(err) = directory.route(event_id, Ask::serve()).await {
                        tracing::error!(event = %event_id, %err, "restarting event actor failed");
                    }
                });
            }
        }
        Ok(())
    }
}
