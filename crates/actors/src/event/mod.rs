//! The EventActor shell: the actor (messages, state, one file per concern of its
//! handlers), the directory that owns the actors, and the typed reference callers use.

mod actor;
mod directory;
mod error;
mod event_ref;
mod holds;
mod messages;
mod queue_ops;
mod recovery;
mod sales;
mod settings;
mod state;
mod supervisor;
mod telemetry;
mod tick;
mod ticket_owners;
mod tickets;
mod turns;
mod views;

pub use actor::EventActor;
pub use directory::{DirectoryOptions, EventDirectory};
pub use error::EventError;
pub use event_ref::EventRef;
pub use messages::{EventArgs, EventMsg, Reply};
pub use settings::QueueSettings;
pub use state::EventState;
pub use views::{
    EventOverview, HoldView, QueueTick, QueueView, SeatChange, SeatStatus, SeatUpdate,
};
