//! One event's place in the directory: its actor (and the lease it runs under), the
//! channels its subscribers listen on, its start lock and its relay.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use ractor::{ActorId, ActorRef, ActorStatus};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::board::StatusBoard;
use super::mailbox::Mailbox;
use super::messages::EventMsg;
use super::views::{QueueTick, SeatUpdate};
use crate::ownership::Fence;

/// A running actor as a caller finds it.
pub(super) struct Serving {
    pub(super) actor: ActorRef<EventMsg>,
    pub(super) fence: Option<Fence>,
    pub(super) board: Arc<StatusBoard>,
    pub(super) mailbox: Mailbox,
}

/// One event's place in the directory.
pub(super) struct Slot {
    pub(super) event_id: Uuid,
    /// Made with the first actor or subscriber; they outlive any one actor, so a
    /// subscriber goes on hearing from the actor that replaces a crashed one, or from the
    /// owner on another node through the relay.
    channels: OnceLock<Channels>,
    current: Mutex<Current>,
    /// Held across a start.
    pub(super) starting: tokio::sync::Mutex<()>,
    /// The upstream subscription to the owner's node, while the event is owned elsewhere
    /// and someone here listens (`relay.rs`).
    pub(super) relay: Mutex<Option<JoinHandle<()>>>,
}

pub(super) struct Channels {
    pub(super) seat_changes: broadcast::Sender<SeatUpdate>,
    pub(super) queue_ticks: broadcast::Sender<QueueTick>,
}

#[derive(Default)]
struct Current {
    actor: Option<ActorRef<EventMsg>>,
    /// The lease the actor runs under (`None`: a directory without a cluster).
    fence: Option<Fence>,
    /// Where the actor keeps its line for status readers.
    board: Option<Arc<StatusBoard>>,
    /// The actor's mailbox count, for callers to raise.
    mailbox: Option<Mailbox>,
    /// Out of the map: whoever still holds the slot looks the event up again.
    retired: bool,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn is_running(actor: &ActorRef<EventMsg>) -> bool {
    matches!(
        actor.get_status(),
        ActorStatus::Running | ActorStatus::Starting | ActorStatus::Upgrading
    )
}

impl Slot {
    pub(super) fn new(event_id: Uuid) -> Self {
        Self {
            event_id,
            channels: OnceLock::new(),
            current: Mutex::new(Current::default()),
            starting: tokio::sync::Mutex::new(()),
            relay: Mutex::new(None),
        }
    }

    pub(super) fn running(&self) -> Option<ActorRef<EventMsg>> {
        lock(&self.current).actor.clone().filter(is_running)
    }

    /// The running actor and the lease it runs under.
    pub(super) fn serving(&self) -> Option<(ActorRef<EventMsg>, Option<Fence>)> {
        let current = lock(&self.current);
        let actor = current.actor.clone().filter(is_running)?;
        Some((actor, current.fence))
    }

    /// The running actor, the lease it runs under, and its status board.
    pub(super) fn serving_with_board(&self) -> Option<Serving> {
        let current = lock(&self.current);
        Some(Serving {
            actor: current.actor.clone().filter(is_running)?,
            fence: current.fence,
            board: current.board.clone()?,
            mailbox: current.mailbox.clone()?,
        })
    }

    pub(super) fn is_retired(&self) -> bool {
        lock(&self.current).retired
    }

    pub(super) fn channels(&self) -> &Channels {
        self.channels.get_or_init(|| Channels {
            seat_changes: broadcast::channel(4096).0,
            queue_ticks: broadcast::channel(64).0,
        })
    }

    pub(super) fn subscribers(&self) -> usize {
        self.channels.get().map_or(0, |c| {
            c.seat_changes.receiver_count() + c.queue_ticks.receiver_count()
        })
    }

    pub(super) fn subscribe_seats(&self) -> Option<broadcast::Receiver<SeatUpdate>> {
        let current = lock(&self.current);
        if current.retired {
            return None;
        }
        Some(self.channels().seat_changes.subscribe())
    }

    pub(super) fn subscribe_queue(&self) -> Option<broadcast::Receiver<QueueTick>> {
        let current = lock(&self.current);
        if current.retired {
            return None;
        }
        Some(self.channels().queue_ticks.subscribe())
    }

    /// Tells the seat-map subscribers to reload: what they missed is unknown.
    pub(super) fn resync(&self) {
        if let Some(channels) = self.channels.get()
            && channels.seat_changes.receiver_count() > 0
        {
            let _ = channels.seat_changes.send(SeatUpdate::Resync);
        }
    }

    /// Marks the slot out of the map when it has no actor and nobody listens; true when
    /// it did.
    pub(super) fn retire_if_idle(&self) -> bool {
        let mut current = lock(&self.current);
        if current.actor.is_none() && self.subscribers() == 0 {
            current.retired = true;
        }
        current.retired
    }

    pub(super) fn actor_id(&self) -> Option<ActorId> {
        lock(&self.current).actor.as_ref().map(|a| a.get_id())
    }

    /// The actor ended: forgets it; the lease it ran under.
    pub(super) fn forget_actor(&self) -> Option<Fence> {
        let mut current = lock(&self.current);
        current.actor = None;
        current.board = None;
        current.mailbox = None;
        current.fence
    }

    /// The running actor, if it runs under `fence`.
    pub(super) fn actor_under(&self, fence: Fence) -> Option<ActorRef<EventMsg>> {
        let current = lock(&self.current);
        (current.fence == Some(fence))
            .then(|| current.actor.clone())
            .flatten()
    }

    /// Makes `actor` the slot's, under `fence`; false when the slot was retired
    /// meanwhile (a shutdown).
    pub(super) fn install(
        &self,
        actor: ActorRef<EventMsg>,
        fence: Option<Fence>,
        board: Arc<StatusBoard>,
        mailbox: Mailbox,
    ) -> bool {
        let mut current = lock(&self.current);
        if current.retired {
            return false;
        }
        current.actor = Some(actor);
        current.fence = fence;
        current.board = Some(board);
        current.mailbox = Some(mailbox);
        true
    }

    /// Retires the slot for good (a shutdown); its actor, if one ran, to stop.
    pub(super) fn shut(&self) -> Option<ActorRef<EventMsg>> {
        let mut current = lock(&self.current);
        current.retired = true;
        current.board = None;
        current.mailbox = None;
        current.actor.take()
    }
}
