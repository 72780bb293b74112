//! The EventActor shell: the actor (messages, state, one file per concern of its
//! handlers), the directory that owns the actors and routes calls to an event's owner,
//! and the typed reference callers use.

mod actor;
mod board;
mod call;
mod directory;
mod error;
mod event_ref;
mod holds;
mod mailbox;
mod messages;
mod offers;
mod published_seats;
mod queue_ops;
mod recovery;
mod relay;
mod routing;
mod sale_batches;
mod sales;
mod settings;
mod slot;
mod state;
mod supervisor;
mod telemetry;
mod tick;
mod ticket_owners;
mod tickets;
mod trace;
mod turns;
mod views;
mod zombie;

pub use actor::EventActor;
pub use call::{EventAnswer, EventCall};
pub use directory::{DirectoryOptions, EventDirectory, WeakDirectory};
pub use error::EventError;
pub use event_ref::{EventRef, OwnerFeed};
pub use messages::{EventArgs, EventMsg, Reply};
pub use published_seats::code as seat_code;
pub use settings::QueueSettings;
pub use state::EventState;
pub use supervisor::{DRAIN, HANDOFF, LEASE_LOST};
pub use trace::{current_request_id, with_request_id};
pub use views::{
    EventOverview, HoldView, QueueTick, QueueView, SeatChange, SeatStateView, SeatStatus,
    SeatUpdate, SeatVersion,
};
