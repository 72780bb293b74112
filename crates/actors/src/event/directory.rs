//! The directory of live events: starts an EventActor on first use, forgets it when it
//! stops (idle), and starts it again when it fails. Every actor is linked to one
//! supervisor (`supervisor.rs`); callers talk to an event through its [`EventRef`].
//!
//! Each event has a slot of its own. The directory's map is locked only to find or add a
//! slot; an actor's start (a PostgreSQL load and a Redis log replay, seconds for a long
//! line) runs under its slot's start lock, so concurrent callers of that event wait for
//! the same start and no other event waits at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use ractor::{Actor, ActorId, ActorRef, ActorStatus};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::actor::EventActor;
use super::error::EventError;
use super::event_ref::EventRef;
use super::messages::{EventArgs, EventMsg};
use super::supervisor::EventSupervisor;
use super::views::{QueueTick, SeatUpdate};
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
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    store: Arc<dyn EventStore>,
    pub(super) options: DirectoryOptions,
    slots: Mutex<HashMap<Uuid, Arc<Slot>>>,
    supervisor: OnceLock<ActorRef<()>>,
}

/// One event's place in the directory.
pub(super) struct Slot {
    event_id: Uuid,
    /// Made with the first actor; they outlive any one actor, so a subscriber goes on
    /// hearing from the actor that replaces a crashed one.
    channels: OnceLock<Channels>,
    current: Mutex<Current>,
    /// Held across a start.
    starting: tokio::sync::Mutex<()>,
}

struct Channels {
    seat_changes: broadcast::Sender<SeatUpdate>,
    queue_ticks: broadcast::Sender<QueueTick>,
}

#[derive(Default)]
struct Current {
    actor: Option<ActorRef<EventMsg>>,
    /// Out of the map: whoever still holds the slot looks the event up again.
    retired: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn is_running(actor: &ActorRef<EventMsg>) -> bool {
    matches!(
        actor.get_status(),
        ActorStatus::Running | ActorStatus::Starting | ActorStatus::Upgrading
    )
}

impl Slot {
    fn running(&self) -> Option<ActorRef<EventMsg>> {
        lock(&self.current).actor.clone().filter(is_running)
    }

    fn subscribers(&self) -> usize {
        self.channels.get().map_or(0, |c| {
            c.seat_changes.receiver_count() + c.queue_ticks.receiver_count()
        })
    }

    pub(super) fn subscribe_seats(&self) -> Option<broadcast::Receiver<SeatUpdate>> {
        let current = lock(&self.current);
        let channels = self.channels.get().filter(|_| !current.retired)?;
        Some(channels.seat_changes.subscribe())
    }

    pub(super) fn subscribe_queue(&self) -> Option<broadcast::Receiver<QueueTick>> {
        let current = lock(&self.current);
        let channels = self.channels.get().filter(|_| !current.retired)?;
        Some(channels.queue_ticks.subscribe())
    }
}

impl Inner {
    /// The event's slot, added when it has none.
    fn slot(&self, event_id: Uuid) -> Arc<Slot> {
        lock(&self.slots)
            .entry(event_id)
            .or_insert_with(|| {
                Arc::new(Slot {
                    event_id,
                    channels: OnceLock::new(),
                    current: Mutex::new(Current::default()),
                    starting: tokio::sync::Mutex::new(()),
                })
            })
            .clone()
    }

    /// Takes a slot without an actor out of the map unless someone listens to it. The
    /// caller makes sure no start is under way on it.
    fn retire_unused(&self, slots: &mut HashMap<Uuid, Arc<Slot>>, slot: &Arc<Slot>) {
        let mut current = lock(&slot.current);
        if current.actor.is_none() && slot.subscribers() == 0 {
            current.retired = true;
            if slots
                .get(&slot.event_id)
                .is_some_and(|s| Arc::ptr_eq(s, slot))
            {
                slots.remove(&slot.event_id);
            }
        }
    }

    /// The supervisor's news that `actor` ended: its slot forgets it, and leaves the map
    /// too after an expected stop with nobody listening. Returns the event it served.
    pub(super) fn ended(&self, actor: ActorId, expected: bool) -> Option<Uuid> {
        let mut slots = lock(&self.slots);
        let slot = slots
            .values()
            .find(|s| lock(&s.current).actor.as_ref().map(|a| a.get_id()) == Some(actor))?
            .clone();
        lock(&slot.current).actor = None;
        // A start already under way keeps the slot.
        if expected && let Ok(_start) = slot.starting.try_lock() {
            self.retire_unused(&mut slots, &slot);
        }
        Some(slot.event_id)
    }

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
            slots: Mutex::new(HashMap::new()),
            supervisor: OnceLock::new(),
        });
        let (supervisor, _) = Actor::spawn(None, EventSupervisor, Arc::downgrade(&inner))
            .await
            .map_err(|e| EventError::Unavailable(format!("starting the supervisor: {e}")))?;
        let _ = inner.supervisor.set(supervisor);
        Ok(Self { inner })
    }

    /// The way to talk to one event. Cheap, and no I/O: each call on it finds (or starts)
    /// the event's actor.
    pub fn event(&self, event_id: Uuid) -> EventRef {
        EventRef::new(self.clone(), event_id)
    }

    /// The event's running actor and its slot, started (and rebuilt from storage) if it
    /// is not running.
    pub(super) async fn actor(
        &self,
        event_id: Uuid,
    ) -> Result<(Arc<Slot>, ActorRef<EventMsg>), EventError> {
        loop {
            let slot = self.inner.slot(event_id);
            if let Some(actor) = slot.running() {
                return Ok((slot, actor));
            }
            let start = slot.starting.lock().await;
            {
                let current = lock(&slot.current);
                if current.retired {
                    continue;
                }
                if let Some(actor) = current.actor.clone().filter(is_running) {
                    drop(current);
                    return Ok((slot.clone(), actor));
                }
            }
            let actor = self.spawn(&slot).await?;
            drop(start);
            return Ok((slot, actor));
        }
    }

    /// Starts the slot's actor; the caller holds its start lock.
    async fn spawn(&self, slot: &Arc<Slot>) -> Result<ActorRef<EventMsg>, EventError> {
        let loaded = match self.inner.store.load(slot.event_id).await {
            Ok(Some(snapshot)) => Ok(snapshot),
            Ok(None) => Err(EventError::EventNotFound),
            Err(err) => Err(EventError::Unavailable(err.to_string())),
        };
        let snapshot = match loaded {
            Ok(snapshot) => snapshot,
            Err(err) => {
                self.inner.retire_unused(&mut lock(&self.inner.slots), slot);
                return Err(err);
            }
        };
        let channels = slot.channels.get_or_init(|| Channels {
            seat_changes: broadcast::channel(4096).0,
            queue_ticks: broadcast::channel(64).0,
        });
        let args = EventArgs {
            snapshot,
            store: self.inner.store.clone(),
            seat_changes: channels.seat_changes.clone(),
            queue_ticks: channels.queue_ticks.clone(),
            idle_after: self.inner.options.idle_after,
        };
        let (actor, _) = Actor::spawn_linked(None, EventActor, args, self.inner.supervisor_cell()?)
            .await
            .map_err(|e| EventError::Unavailable(format!("starting event actor: {e}")))?;
        let mut current = lock(&slot.current);
        if current.retired {
            // Shut down while this one started.
            actor.stop(Some("shutdown".into()));
            return Err(EventError::Unavailable("the directory is shut down".into()));
        }
        current.actor = Some(actor.clone());
        drop(current);
        // Whoever still watches the seats missed what the last actor did not tell them.
        if channels.seat_changes.receiver_count() > 0 {
            let _ = channels.seat_changes.send(SeatUpdate::Resync);
        }
        Ok(actor)
    }

    /// The event's running actor, if any, without starting one.
    pub(super) fn running(&self, event_id: Uuid) -> Option<ActorRef<EventMsg>> {
        let slot = lock(&self.inner.slots).get(&event_id).cloned()?;
        slot.running()
    }

    /// The event's actor once any start under way has finished, if one runs.
    pub(super) async fn running_after_start(&self, event_id: Uuid) -> Option<ActorRef<EventMsg>> {
        let slot = lock(&self.inner.slots).get(&event_id).cloned()?;
        drop(slot.starting.lock().await);
        slot.running()
    }

    /// Stops every actor (shutdown).
    pub async fn shutdown(&self) {
        let slots = std::mem::take(&mut *lock(&self.inner.slots));
        for slot in slots.values() {
            let mut current = lock(&slot.current);
            current.retired = true;
            if let Some(actor) = current.actor.take() {
                actor.stop(Some("shutdown".into()));
            }
        }
        if let Some(supervisor) = self.inner.supervisor.get() {
            supervisor.stop(None);
        }
    }
}
