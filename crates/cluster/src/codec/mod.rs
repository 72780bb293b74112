//! The actor's calls, answers and live updates as the prost messages of
//! `proto/urr/cluster.proto`, both ways: the forwarding node encodes what the owner's
//! node decodes, and back. A message that does not decode is a [`DecodeError`], never a
//! panic.

mod calls;
mod feed;
mod replies;
#[cfg(test)]
mod tests;

use std::time::Duration;

use uuid::Uuid;

pub use calls::{call_from_proto, call_to_proto};
pub use feed::{feed_from_proto, feed_heartbeat, feed_to_proto};
pub use replies::{reply_from_proto, reply_to_proto};

/// A message that does not say what it should.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("undecodable cluster message: {0}")]
pub struct DecodeError(pub String);

pub(crate) fn id(text: &str, what: &str) -> Result<Uuid, DecodeError> {
    text.parse()
        .map_err(|_| DecodeError(format!("{what} {text:?} is not a UUID")))
}

pub(crate) fn ids<T: From<Uuid>>(texts: &[String], what: &str) -> Result<Vec<T>, DecodeError> {
    texts.iter().map(|t| id(t, what).map(T::from)).collect()
}

pub(crate) fn texts<T: std::fmt::Display>(ids: &[T]) -> Vec<String> {
    ids.iter().map(ToString::to_string).collect()
}

pub(crate) fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
