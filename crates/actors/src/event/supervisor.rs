//! Watches the event actors: one that stopped idle is forgotten (the next request starts
//! a fresh one); one that crashed is started again at once, rebuilt from storage, so its
//! ticks (admission, hold expiry) go on without waiting for a request.

use std::sync::Weak;

use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};

use super::directory::{EventDirectory, Inner};

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
        // An idle stop or a shutdown is expected; any other end (a panic, an error, a
        // kill) is a crash, and the event gets a fresh actor at once.
        let (cell, failure) = match event {
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                let expected = matches!(reason.as_deref(), Some("idle" | "shutdown"));
                let why = (!expected).then(|| reason.unwrap_or_else(|| "stopped".into()));
                (cell, why)
            }
            SupervisionEvent::ActorFailed(cell, err) => (cell, Some(err.to_string())),
            _ => return Ok(()),
        };
        let Some(inner) = directory.upgrade() else {
            return Ok(());
        };
        let Some(event_id) = inner.ended(cell.get_id(), failure.is_none()) else {
            return Ok(());
        };
        if let Some(why) = failure {
            tracing::error!(event = %event_id, %why, "event actor failed: restarting");
            super::telemetry::restarted(event_id);
            let directory = EventDirectory { inner };
            tokio::spawn(async move {
                if let Err(err) = directory.actor(event_id).await {
                    tracing::error!(event = %event_id, %err, "restarting event actor failed");
                }
            });
        }
        Ok(())
    }
}
