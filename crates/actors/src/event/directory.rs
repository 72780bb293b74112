//! The directory of live events: starts an EventActor on first use, forgets it when it
//! stops (idle), and starts it again when it fails. Every actor is linked to one
//! supervisor (`supervisor.rs`); callers talk to an event through its [`EventRef`].
//!
//! In a cluster the directory asks the [`Ownership`] port where an event is served
//! before it starts an actor (`routing.rs`): an actor runs here only under a lease this
//! node holds, bound to that lease's fence, and a call for an event owned elsewhere is
//! forwarded to its owner (`docs/architecture.md#ownership`).
//!
//! Each event has a slot of its own. The directory's map is locked only to find or add a
//! slot; an actor's start (a lease, a PostgreSQL load and a Redis log replay, seconds for
//! a long line) runs under its slot's start lock, so concurrent callers of that event
//! wait for the same start and no other event waits at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use ractor::{Actor, ActorId, ActorRef};
use uuid::Uuid;

use super::actor::EventActor;
use super::board::StatusBoard;
use super::error::EventError;
use super::event_ref::EventRef;
use super::mailbox::Mailbox;
use super::messages::{EventArgs, EventMsg};
pub(super) use super::slot::{Serving, Slot, lock};
use super::supervisor::{EventSupervisor, FENCED};
use super::zombie::ZombieGuard;
use crate::ownership::{Fence, Ownership};
use crate::ports::EventStore;

/// How the directory runs its actors.
#[derive(Debug, Clone, Copy)]
pub struct DirectoryOptions {
    /// An actor with nobody waiting, active or holding stops after this long.
    pub idle_after: Duration,
    /// How long a caller waits for an actor's answer.
    pub call_timeout: Duration,
    /// Chunks of holds an actor writes at once (docs/architecture.md#holds-in-flight),
    /// each on a connection of its own: their Redis scripts and PostgreSQL commits run
    /// side by side. 1 writes one batch after another.
    pub hold_batches_in_flight: usize,
    /// The most holds one chunk carries while the pipeline has room for more chunks: a
    /// burst is cut into chunks this size or smaller, written side by side. A full
    /// pipeline sends larger ones (`holds::chunk_sizes`).
    pub holds_per_write: usize,
}

impl Default for DirectoryOptions {
    fn default() -> Self {
        Self {
            idle_after: Duration::from_secs(300),
            call_timeout: Duration::from_secs(10),
            hold_batches_in_flight: 4,
            holds_per_write: 16,
        }
    }
}

#[derive(Clone)]
pub struct EventDirectory {
    pub(super) inner: Arc<Inner>,
}

/// A directory that does not keep its actors alive: what the cluster's background parts
/// hold, so the directory and the cluster do not keep each other alive.
#[derive(Clone)]
pub struct WeakDirectory(Weak<Inner>);

impl WeakDirectory {
    pub fn upgrade(&self) -> Option<EventDirectory> {
        self.0.upgrade().map(|inner| EventDirectory { inner })
    }
}

pub(super) struct Inner {
    store: Arc<dyn EventStore>,
    pub(super) options: DirectoryOptions,
    slots: Mutex<HashMap<Uuid, Arc<Slot>>>,
    supervisor: OnceLock<ActorRef<()>>,
    /// Where events are served; `None` for a directory alone on its stores (benches and
    /// tests of the actor), which serves every event here, unfenced.
    pub(super) cluster: Option<Arc<dyn Ownership>>,
    /// Itself, for the stores it hands its actors.
    myself: Weak<Inner>,
}

impl Inner {
    /// The event's slot, added when it has none.
    pub(super) fn slot(&self, event_id: Uuid) -> Arc<Slot> {
        lock(&self.slots)
            .entry(event_id)
            .or_insert_with(|| Arc::new(Slot::new(event_id)))
            .clone()
    }

    pub(super) fn existing_slot(&self, event_id: Uuid) -> Option<Arc<Slot>> {
        lock(&self.slots).get(&event_id).cloned()
    }

    /// Takes a slot without an actor out of the map unless someone listens to it. The
    /// caller makes sure no start is under way on it.
    fn retire_unused(&self, slots: &mut HashMap<Uuid, Arc<Slot>>, slot: &Arc<Slot>) {
        if slot.retire_if_idle()
            && slots
                .get(&slot.event_id)
                .is_some_and(|s| Arc::ptr_eq(s, slot))
        {
            slots.remove(&slot.event_id);
        }
    }

    /// [`retire_unused`](Self::retire_unused) for a caller that holds the slot's start
    /// lock.
    pub(super) fn retire_if_unused_starting(&self, slot: &Arc<Slot>) {
        self.retire_unused(&mut lock(&self.slots), slot);
    }

    /// [`retire_unused`](Self::retire_unused) unless a start is under way.
    pub(super) fn retire_if_unused(&self, slot: &Arc<Slot>) {
        let mut slots = lock(&self.slots);
        if let Ok(_start) = slot.starting.try_lock() {
            self.retire_unused(&mut slots, slot);
        }
    }

    /// The supervisor's news that `actor` ended: its slot forgets it, and leaves the map
    /// too after an expected stop with nobody listening. Returns the slot and the lease
    /// the actor ran under.
    pub(super) fn ended(
        &self,
        actor: ActorId,
        expected: bool,
    ) -> Option<(Arc<Slot>, Option<Fence>)> {
        let mut slots = lock(&self.slots);
        let slot = slots
            .values()
            .find(|s| s.actor_id() == Some(actor))?
            .clone();
        let fence = slot.forget_actor();
        // A start already under way keeps the slot.
        if expected && let Ok(_start) = slot.starting.try_lock() {
            self.retire_unused(&mut slots, &slot);
        }
        Some((slot, fence))
    }

    /// A store refused a write of the actor under `fence`: the cluster learns the lease
    /// is gone and the zombie stops (`zombie.rs`).
    pub(super) fn fenced(&self, fence: Fence) {
        if let Some(cluster) = &self.cluster {
            cluster.fenced(fence);
        }
        let Some(slot) = self.existing_slot(fence.event_id) else {
            return;
        };
        if let Some(actor) = slot.actor_under(fence) {
            tracing::warn!(event = %fence.event_id, epoch = fence.epoch,
                "a write was refused: a newer owner exists, stopping this actor");
            actor.stop(Some(FENCED.into()));
        }
    }

    /// Whether this node still serves under `fence` (always, without a cluster).
    pub(super) fn holds(&self, fence: Option<&Fence>) -> bool {
        match (&self.cluster, fence) {
            (Some(cluster), Some(fence)) => cluster.holds(fence),
            (Some(_), None) => false,
            (None, _) => true,
        }
    }

    fn supervisor_cell(&self) -> Result<ractor::ActorCell, EventError> {
        self.supervisor
            .get()
            .map(ActorRef::get_cell)
            .ok_or_else(|| EventError::Unavailable("directory is not started".into()))
    }
}

impl EventDirectory {
    /// A directory alone on its stores: every event is served here, unfenced. For benches
    /// and tests of the actor; a node starts [`start_clustered`](Self::start_clustered).
    pub async fn start(
        store: Arc<dyn EventStore>,
        options: DirectoryOptions,
    ) -> Result<Self, EventError> {
        Self::launch(store, options, None).await
    }

    /// A directory that serves an event only under a lease `cluster` grants it, and
    /// forwards calls for the others to their owners.
    pub async fn start_clustered(
        store: Arc<dyn EventStore>,
        options: DirectoryOptions,
        cluster: Arc<dyn Ownership>,
    ) -> Result<Self, EventError> {
        Self::launch(store, options, Some(cluster)).await
    }

    async fn launch(
        store: Arc<dyn EventStore>,
        options: DirectoryOptions,
        cluster: Option<Arc<dyn Ownership>>,
    ) -> Result<Self, EventError> {
        let inner = Arc::new_cyclic(|myself| Inner {
            store,
            options,
            slots: Mutex::new(HashMap::new()),
            supervisor: OnceLock::new(),
            cluster,
            myself: myself.clone(),
        });
        let (supervisor, _) = Actor::spawn(None, EventSupervisor, Arc::downgrade(&inner))
            .await
            .map_err(|e| EventError::Unavailable(format!("starting the supervisor: {e}")))?;
        let _ = inner.supervisor.set(supervisor);
        Ok(Self { inner })
    }

    pub fn downgrade(&self) -> WeakDirectory {
        WeakDirectory(Arc::downgrade(&self.inner))
    }

    /// The way to talk to one event. Cheap, and no I/O: each call on it finds (or starts)
    /// the event's actor, here or on its owner's node.
    pub fn event(&self, event_id: Uuid) -> EventRef {
        EventRef::new(self.clone(), event_id)
    }

    /// Starts the slot's actor under `fence`; the caller holds its start lock. When the
    /// start fails the lease goes back.
    pub(super) async fn spawn(
        &self,
        slot: &Arc<Slot>,
        fence: Option<Fence>,
    ) -> Result<Serving, EventError> {
        let started = self.try_spawn(slot, fence).await;
        if started.is_err() {
            self.inner.retire_if_unused_starting(slot);
            if let (Some(cluster), Some(fence)) = (&self.inner.cluster, fence) {
                cluster.release(fence).await;
            }
        }
        started
    }

    async fn try_spawn(
        &self,
        slot: &Arc<Slot>,
        fence: Option<Fence>,
    ) -> Result<Serving, EventError> {
        let snapshot = match self.inner.store.load(slot.event_id).await {
            Ok(Some(snapshot)) => snapshot,
            Ok(None) => return Err(EventError::EventNotFound),
            Err(err) => return Err(EventError::Unavailable(err.to_string())),
        };
        let store = match fence {
            Some(fence) => Arc::new(ZombieGuard::new(
                self.inner.store.fenced(fence),
                fence,
                self.inner.myself.clone(),
            )) as Arc<dyn EventStore>,
            None => self.inner.store.clone(),
        };
        let channels = slot.channels();
        let board = Arc::new(StatusBoard::new(snapshot.settings));
        let mailbox = Mailbox::new(slot.event_id);
        let args = EventArgs {
            snapshot,
            store,
            seat_changes: channels.seat_changes.clone(),
            queue_ticks: channels.queue_ticks.clone(),
            idle_after: self.inner.options.idle_after,
            hold_batches_in_flight: self.inner.options.hold_batches_in_flight.max(1),
            holds_per_write: self.inner.options.holds_per_write.max(1),
            board: board.clone(),
            mailbox: mailbox.clone(),
        };
        let (actor, _) = Actor::spawn_linked(None, EventActor, args, self.inner.supervisor_cell()?)
            .await
            .map_err(|e| EventError::Unavailable(format!("starting event actor: {e}")))?;
        if !slot.install(actor.clone(), fence, board.clone(), mailbox.clone()) {
            // Shut down while this one started.
            actor.stop(Some("shutdown".into()));
            return Err(EventError::Unavailable("the directory is shut down".into()));
        }
        // Whoever still watches the seats missed what the last actor did not tell them.
        slot.resync();
        Ok(Serving {
            actor,
            fence,
            board,
            mailbox,
        })
    }

    /// The event's running actor, if any, without starting one.
    pub(super) fn running(&self, event_id: Uuid) -> Option<ActorRef<EventMsg>> {
        self.inner.existing_slot(event_id)?.running()
    }

    /// Stops the event's actor running here under `fence`, once any start under way has
    /// finished, and waits until it has flushed what it buffered (its `post_stop`). For
    /// the cluster: a handoff, a drain, a lease that lapsed. An actor started since under
    /// a newer lease (the lease taken back, `docs/architecture.md#ownership`) is not the
    /// one meant and keeps running. Whether an actor was stopped.
    pub async fn stop_event(&self, fence: Fence, why: &'static str) -> bool {
        let Some(slot) = self.inner.existing_slot(fence.event_id) else {
            return false;
        };
        let start = slot.starting.lock().await;
        let Some((actor, serving)) = slot.serving() else {
            return false;
        };
        if serving.is_some_and(|serving| serving.epoch != fence.epoch) {
            return false;
        }
        if let Err(err) = actor
            .stop_and_wait(Some(why.into()), Some(self.inner.options.call_timeout))
            .await
        {
            tracing::warn!(event = %fence.event_id, %err, "the event actor did not stop in time");
        }
        drop(start);
        self.after_move(&slot);
        true
    }

    /// After the actor left for another node: whoever listens here goes on hearing from
    /// the new owner through the relay; with nobody listening the slot goes.
    pub(super) fn after_move(&self, slot: &Arc<Slot>) {
        if slot.subscribers() > 0 && self.inner.cluster.is_some() {
            self.relay(slot);
        } else {
            self.inner.retire_if_unused(slot);
        }
    }

    /// Stops every actor and relay (shutdown). Leases are left as they are: a drain
    /// releases them first (`urr-cluster`), a crash leaves them to lapse.
    pub async fn shutdown(&self) {
        let slots = std::mem::take(&mut *lock(&self.inner.slots));
        for slot in slots.values() {
            if let Some(actor) = slot.shut() {
                actor.stop(Some("shutdown".into()));
            }
            if let Some(relay) = lock(&slot.relay).take() {
                relay.abort();
            }
        }
        if let Some(supervisor) = self.inner.supervisor.get() {
            supervisor.stop(None);
        }
    }
}
