//! The event bus (`docs/architecture.md#durability-and-the-bus`): producers append to the Postgres outbox in the transaction of
//! their change; the [`relay`] publishes those rows to Redis Streams; [`consumer`]s read
//! them through consumer groups, process each event once per group, retry failures with
//! backoff and move the hopeless ones to a dead-letter stream that [`dlq`] lists and
//! replays. Delivery is at least once end to end; `processed_events` makes it effectively
//! once per consumer group.

pub mod cli;
pub mod consumer;
pub mod consumers;
pub mod dlq;
mod error;
pub mod event;
pub mod relay;
pub mod retry;
mod store;
mod telemetry;

pub use cli::StreamsCommand;
pub use consumer::{Consumer, ConsumerConfig, Handler, HandlerError, PollReport, Tx};
pub use error::BusError;
pub use event::BusEvent;
pub use relay::{Relay, RelayConfig};
