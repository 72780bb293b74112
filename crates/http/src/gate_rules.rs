//! What the gates into a sale read about an event on every call (its queue settings, its
//! pre-sale windows), kept for a moment (docs/architecture.md#gate-rules).
//!
//! Every queue check, seat hold and ticket hold asked PostgreSQL for both: in a rush that
//! is two pooled round trips per call for rows an operator changes a few times per event,
//! and each waited for a connection behind the payments. Read through this, a node asks at
//! most once per event per `ttl`; a change made through this node's admin API is seen at
//! once (it forgets the event), a change made through another node within `ttl`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use urr_actors::event::QueueSettings;
use urr_store::presales::{self, PresaleWindow};
use urr_store::{PgPool, StoreError};
use uuid::Uuid;

/// The rules last read for one event, each with when it was read.
#[derive(Default)]
struct Rules {
    /// `None` inside: the event has no settings of its own.
    settings: Option<(Option<QueueSettings>, Instant)>,
    windows: Option<(Arc<Vec<PresaleWindow>>, Instant)>,
}

/// Cheap to clone: one `Arc`.
#[derive(Clone)]
pub(crate) struct GateRules {
    ttl: Duration,
    rules: Arc<Mutex<HashMap<Uuid, Rules>>>,
}

impl GateRules {
    /// Rules are read again once older than `ttl`; zero reads them on every call.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            rules: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn fresh<T: Clone>(&self, read: Option<&(T, Instant)>, now: Instant) -> Option<T> {
        read.filter(|(_, at)| now.duration_since(*at) < self.ttl)
            .map(|(value, _)| value.clone())
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<Uuid, Rules>) -> T) -> T {
        // Nothing in the map is left half-written by a panic: each entry is replaced whole.
        f(&mut self.rules.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The event's own queue settings (`None`: it has none, the node's defaults apply).
    pub async fn queue_settings(
        &self,
        db: &PgPool,
        event: Uuid,
    ) -> Result<Option<QueueSettings>, StoreError> {
        let now = Instant::now();
        if let Some(settings) =
            self.with(|rules| self.fresh(rules.get(&event)?.settings.as_ref(), now))
        {
            return Ok(settings);
        }
        let settings = urr_store::queue_settings::get(db, event).await?;
        self.with(|rules| rules.entry(event).or_default().settings = Some((settings, now)));
        Ok(settings)
    }

    /// The event's pre-sale windows not yet closed.
    pub async fn presale_windows(
        &self,
        db: &PgPool,
        event: Uuid,
    ) -> Result<Arc<Vec<PresaleWindow>>, StoreError> {
        let now = Instant::now();
        if let Some(windows) =
            self.with(|rules| self.fresh(rules.get(&event)?.windows.as_ref(), now))
        {
            return Ok(windows);
        }
        let windows = Arc::new(presales::upcoming(db, event).await?);
        self.with(|rules| rules.entry(event).or_default().windows = Some((windows.clone(), now)));
        Ok(windows)
    }

    /// Forgets what was read about `event`: its rules just changed here.
    pub fn forget(&self, event: Uuid) {
        self.with(|rules| rules.remove(&event));
    }
}
