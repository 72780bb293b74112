//! Which node serves an event, as the directory asks it: the port a cluster implements
//! (`urr-cluster`: rendezvous placement over live members, a Redis lease per event, an
//! epoch per acquisition). See `docs/architecture.md#ownership`.
//!
//! The directory asks before every call that finds no serving actor: here (this node
//! holds a valid lease, with its [`Fence`]), there (another node owns it, or should), or
//! nowhere (nobody holds it and the call must not start it).

use std::fmt;

use async_trait::async_trait;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::event::{EventAnswer, EventCall, EventError, QueueTick, SeatUpdate};

/// One acquisition of an event's ownership. The epoch only grows; the owner's store
/// writes carry it and the stores refuse a smaller one than the event's current epoch,
/// so a zombie owner changes nothing (`docs/architecture.md#fencing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fence {
    pub event_id: Uuid,
    pub epoch: u64,
}

impl fmt::Display for Fence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.event_id, self.epoch)
    }
}

/// Another node, as calls are forwarded to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub node: String,
    /// Its advertised base URL, e.g. `http://10.0.3.7:8080`.
    pub url: String,
}

/// Where an event is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// This node holds the lease: run the actor under this fence.
    Here(Fence),
    /// Another node holds the lease, or is the one that should take it.
    There(Owner),
    /// Nobody holds the lease and the call does not start the event.
    Nowhere,
}

/// What the caller of [`Ownership::place`] allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    /// The call may start the event (take its free lease). False for calls that only
    /// matter to a running actor, such as new settings.
    pub acquire: bool,
    /// The call was forwarded here by another node: it is served here or refused with
    /// [`EventError::NotOwner`], never forwarded again (the hop rule).
    pub forwarded: bool,
    /// Read the lease and the membership afresh instead of the cached view (after a
    /// `NotOwner` answer).
    pub fresh: bool,
}

impl Ask {
    /// A call from this node's own callers that may start the event.
    pub fn serve() -> Self {
        Self {
            acquire: true,
            forwarded: false,
            fresh: false,
        }
    }

    /// A call that only reaches an actor already running somewhere.
    pub fn if_running() -> Self {
        Self {
            acquire: false,
            ..Self::serve()
        }
    }

    /// The same call, forwarded here by another node.
    pub fn forwarded(self) -> Self {
        Self {
            forwarded: true,
            ..self
        }
    }

    pub fn fresh(self) -> Self {
        Self {
            fresh: true,
            ..self
        }
    }
}

/// What an owner's actor tells its subscribers, relayed to the subscribers on other
/// nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feed {
    Seat(SeatUpdate),
    Tick(QueueTick),
}

#[async_trait]
pub trait Ownership: Send + Sync + 'static {
    /// Where `event_id` is served now, taking its lease when `ask` allows it and this
    /// node is the one that should.
    async fn place(&self, event_id: Uuid, ask: Ask) -> Result<Placement, EventError>;

    /// True while this node's lease under `fence` is valid by this node's own clock;
    /// false from well before the lease can lapse in Redis.
    fn holds(&self, fence: &Fence) -> bool;

    /// The event's actor stopped for good here (idle, or its start failed): the lease
    /// is released for whoever needs the event next.
    async fn release(&self, fence: Fence);

    /// A store refused a write under `fence`: a newer owner exists, this node's lease is
    /// gone and its actor is a zombie.
    fn fenced(&self, fence: Fence);

    /// Makes `call` on the owner's node and returns its answer.
    async fn forward(
        &self,
        owner: &Owner,
        event_id: Uuid,
        call: EventCall,
    ) -> Result<EventAnswer, EventError>;

    /// The owner's seat changes and queue ticks, as they happen, until the owner stops
    /// serving the event or the connection ends.
    async fn follow(
        &self,
        owner: &Owner,
        event_id: Uuid,
    ) -> Result<mpsc::Receiver<Feed>, EventError>;
}
