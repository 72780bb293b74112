//! The directory of live events: spawns an EventActor on first use, forgets it when it
//! stops (idle), and restarts it when it fails. Every actor is linked to one supervisor.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::sync::{Mutex, broadcast};
use uuid::Uuid;

use super::actor::{EventActor, EventArgs};
use super::error::EventError;
use super::handle::EventHandle;
use crate::ports::EventStore;

/// How the directory runs its actors.
#[derive(Debug, Clone, Copy)]
pub struct DirectoryOptions {
    /// An actor with nobody waiting, active or holding stops after this long.
    pub idle_after: Duration,
    /// How long a caller waits for an actor's answer.
    pub call_timeout: Duration,
}

impl Default for DirectoryOptions {
    fn default() -> Self {
        Self {
            idle_after: Duration::from_secs(300),
            call_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
pub struct EventDirectory {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn EventStore>,
    options: DirectoryOptions,
    events: Mutex<HashMap<Uuid, EventHandle>>,
    supervisor: OnceLock<ActorRef<()>>,
}

impl Inner {
    fn supervisor_cell(&self) -> Result<ractor::ActorCell, EventError> {
        self.supervisor
            .get()
            .map(ActorRef::get_cell)
            .ok_or_else(|| EventError::Unavailable("directory is not started".into()))
    }
}

impl EventDirectory {
    pub async fn start(
        store: Arc<dyn EventStore>,
        options: DirectoryOptions,
    ) -> Result<Self, EventError> {
        let inner = Arc::new(Inner {
            store,
            options,
            events: Mutex::new(HashMap::new()),
            supervisor: OnceLock::new(),
        });
        let (supervisor, _) = Actor::spawn(None, EventSupervisor, Arc::downgrade(&inner))
            .await
            .map_err(|e| EventError::Unavailable(format!("starting the supervisor: {e}")))?;
        let _ = inner.supervisor.set(supervisor);
        Ok(Self { inner })
    }

    /// The event's actor, started (and rebuilt from storage) if it is not running.
    pub async fn get(&self, event_id: Uuid) -> Result<EventHandle, EventError> {
        let mut events = self.inner.events.lock().await;
        if let Some(handle) = events.get(&event_id) {
            if is_running(handle) {
                return Ok(handle.clone());
            }
            events.remove(&event_id);
        }
        let snapshot = self
            .inner
            .store
            .load(event_id)
            .await
            .map_err(|e| EventError::Unavailable(e.to_string()))?
            .ok_or(EventError::EventNotFound)?;
        let (seat_changes, _) = broadcast::channel(4096);
        let (queue_ticks, _) = broadcast::channel(64);
        let args = EventArgs {
            snapshot,
            store: self.inner.store.clone(),
            seat_changes: seat_changes.clone(),
            queue_ticks: queue_ticks.clone(),
            idle_after: self.inner.options.idle_after,
        };
        let (actor, _) = Actor::spawn_linked(None, EventActor, args, self.inner.supervisor_cell()?)
            .await
            .map_err(|e| EventError::Unavailable(format!("starting event actor: {e}")))?;
        let handle = EventHandle {
            event_id,
            actor,
            seat_changes,
            queue_ticks,
            timeout: self.inner.options.call_timeout,
        };
        events.insert(event_id, handle.clone());
        Ok(handle)
    }

    /// Runs `call` on the event's actor, once more on a fresh actor if the first one
    /// stopped between lookup and call (an idle stop racing a request).
    pub async fn with_event<T, F, Fut>(&self, event_id: Uuid, call: F) -> Result<T, EventError>
    where
        F: Fn(EventHandle) -> Fut,
        Fut: Future<Output = Result<T, EventError>>,
    {
        let handle = self.get(event_id).await?;
        match call(handle).await {
            Err(EventError::Stopped) => call(self.get(event_id).await?).await,
            other => other,
        }
    }

    /// The running actor of an event, if any (without starting one).
    pub async fn running(&self, event_id: Uuid) -> Option<EventHandle> {
        let events = self.inner.events.lock().await;
        events.get(&event_id).filter(|h| is_running(h)).cloned()
    }

    /// Stops every actor (shutdown).
    pub async fn shutdown(&self) {
        let events = std::mem::take(&mut *self.inner.events.lock().await);
        for handle in events.values() {
            handle.actor.stop(Some("shutdown".into()));
        }
        if let Some(supervisor) = self.inner.supervisor.get() {
            supervisor.stop(None);
        }
    }
}

fn is_running(handle: &EventHandle) -> bool {
    matches!(
        handle.actor.get_status(),
        ractor::ActorStatus::Running
            | ractor::ActorStatus::Starting
            | ractor::ActorStatus::Upgrading
    )
}

/// Watches the event actors: one that stopped idle is forgotten (the next request starts a
/// fresh one); one that crashed is started again at once, rebuilt from storage, so its
/// ticks (admission, hold expiry) go on without waiting for a request.
struct EventSupervisor;

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
        let mut events = inner.events.lock().await;
        let event_id = events
            .iter()
            .find(|(_, h)| h.actor.get_id() == cell.get_id())
            .map(|(id, _)| *id);
        let Some(event_id) = event_id else {
            return Ok(());
        };
        events.remove(&event_id);
        drop(events);
        if let Some(why) = failure {
            tracing::error!(event = %event_id, %why, "event actor failed: restarting");
            let directory = EventDirectory { inner };
            tokio::spawn(async move {
                if let Err(err) = directory.get(event_id).await {
                    tracing::error!(event = %event_id, %err, "restarting event actor failed");
                }
            });
        }
        Ok(())
    }
}
