//! A per-process, short-lived copy of room records, so a rush of joins and checks does
//! not read the one room item thousands of times a second.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::ids::EventId;
use crate::store::RoomRecord;

/// Beyond this many rooms the cache starts over rather than grow without bound.
const MAX_ROOMS: usize = 10_000;

/// Each room with when it was read.
type Rooms = HashMap<EventId, (Instant, Arc<RoomRecord>)>;

#[derive(Clone)]
pub(crate) struct RoomCache {
    ttl: Duration,
    rooms: Arc<Mutex<Rooms>>,
}

impl RoomCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            rooms: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rooms> {
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The room as read within the period: shared, not copied (its waves are a list).
    pub fn get(&self, event: &EventId) -> Option<Arc<RoomRecord>> {
        if self.ttl.is_zero() {
            return None;
        }
        let rooms = self.lock();
        let (read_at, room) = rooms.get(event)?;
        (read_at.elapsed() < self.ttl).then(|| room.clone())
    }

    pub fn put(&self, event: &EventId, room: Arc<RoomRecord>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut rooms = self.lock();
        if rooms.len() >= MAX_ROOMS {
            rooms.clear();
        }
        rooms.insert(event.clone(), (Instant::now(), room));
    }

    pub fn forget(&self, event: &EventId) {
        self.lock().remove(event);
    }
}
