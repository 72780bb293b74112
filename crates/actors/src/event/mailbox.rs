//! How many messages wait in an event actor's mailbox. ractor does not say, so every
//! sender counts what it queues and the actor counts what it takes up. The count feeds
//! the `urr_actor_mailbox_depth` gauge and the actor itself: a queue-log write waits for
//! the joins already sent (`queue_ops.rs`, `docs/architecture.md#status-board`).
//!
//! The methods mirror `metrics::Gauge`'s, whose place this takes.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use uuid::Uuid;

#[derive(Clone)]
pub(super) struct Mailbox {
    gauge: metrics::Gauge,
    waiting: Arc<AtomicI64>,
}

impl Mailbox {
    /// One actor's mailbox; its gauge is looked up once, not per message.
    pub(super) fn new(event: Uuid) -> Self {
        Self {
            gauge: super::telemetry::mailbox(event),
            waiting: Arc::new(AtomicI64::new(0)),
        }
    }

    /// `messages` were queued.
    pub(super) fn increment(&self, messages: f64) {
        self.waiting.fetch_add(messages as i64, Ordering::Relaxed);
        self.gauge.increment(messages);
    }

    /// `messages` were taken up (or never queued after all).
    pub(super) fn decrement(&self, messages: f64) {
        self.waiting.fetch_sub(messages as i64, Ordering::Relaxed);
        self.gauge.decrement(messages);
    }

    /// The mailbox holds `messages` (0: it was dropped with its actor).
    pub(super) fn set(&self, messages: f64) {
        self.waiting.store(messages as i64, Ordering::Relaxed);
        self.gauge.set(messages);
    }

    /// Messages queued and not yet taken up.
    pub(super) fn waiting(&self) -> i64 {
        self.waiting.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_is_queued_and_not_yet_taken_up() {
        let mailbox = Mailbox::new(Uuid::nil());
        let sender = mailbox.clone();
        sender.increment(1.0);
        sender.increment(1.0);
        assert_eq!(mailbox.waiting(), 2);
        mailbox.decrement(1.0);
        assert_eq!(sender.waiting(), 1);
        mailbox.set(0.0);
        assert_eq!(sender.waiting(), 0);
    }
}
