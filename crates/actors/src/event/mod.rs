//! The EventActor shell: messages, the directory that owns the actors, and the typed
//! handle callers use.

mod actor;
mod directory;
mod error;
mod handle;
mod settings;
mod views;

pub use actor::{EventActor, EventArgs, EventMsg, EventState};
pub use directory::{DirectoryOptions, EventDirectory};
pub use error::EventError;
pub use handle::EventHandle;
pub use settings::QueueSettings;
pub use views::{EventOverview, HoldView, QueueTick, QueueView, SeatChange, SeatStatus};
