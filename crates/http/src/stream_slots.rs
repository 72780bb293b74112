//! Caps on open server-sent-event streams: each holds a connection and a subscription for
//! as long as the client stays, so a node takes at most so many, and one caller (a
//! signed-in user, else a client address) at most a few. A stream holds its [`Slot`] and
//! gives it back when it ends or its client goes away.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Why no slot was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// The node has as many streams open as it takes.
    Node,
    /// This caller has as many streams open as one caller may.
    Caller,
}

#[derive(Clone)]
pub struct StreamSlots {
    inner: Arc<Inner>,
}

struct Inner {
    per_node: usize,
    per_caller: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_caller: HashMap<String, usize>,
}

impl Inner {
    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One open stream; dropping it frees the slot.
pub struct Slot {
    inner: Arc<Inner>,
    caller: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.inner.open();
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_caller.get_mut(&self.caller) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.by_caller.remove(&self.caller);
            }
        }
    }
}

impl StreamSlots {
    pub fn new(per_node: usize, per_caller: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                per_node,
                per_caller,
                open: Mutex::new(Open::default()),
            }),
        }
    }

    /// A slot for `caller`, unless the node or the caller is at its cap.
    pub fn take(&self, caller: &str) -> Result<Slot, Full> {
        let mut open = self.inner.open();
        if open.total >= self.inner.per_node {
            return Err(Full::Node);
        }
        let mine = open.by_caller.get(caller).copied().unwrap_or(0);
        if mine >= self.inner.per_caller {
            return Err(Full::Caller);
        }
        open.total += 1;
        open.by_caller.insert(caller.to_owned(), mine + 1);
        Ok(Slot {
            inner: self.inner.clone(),
            caller: caller.to_owned(),
        })
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.inner.open().total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_per_caller_and_per_node_and_come_back_on_drop() {
        let slots = StreamSlots::new(3, 2);
        let a1 = slots.take("a").expect("a1");
        let a2 = slots.take("a").expect("a2");
        assert_eq!(slots.take("a").err(), Some(Full::Caller));
        let b1 = slots.take("b").expect("b1");
        assert_eq!(slots.take("c").err(), Some(Full::Node));
        drop(a1);
        assert_eq!(slots.open(), 2);
        let c1 = slots.take("c").expect("a slot came back");
        drop((a2, b1, c1));
        assert_eq!(slots.open(), 0);
        assert!(slots.inner.open().by_caller.is_empty());
    }
}
