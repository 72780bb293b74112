//! What the gates into a sale read about an event on every call (its queue settings, its
//! pre-sale windows), kept for a moment (docs/architecture.md#gate-rules).
//!
//! Every queue check, seat hold and ticket hold asked PostgreSQL for both: in a rush that
//! is two pooled round trips per call for rows an operator changes a few times per event,
//! and each waited for a connection behind the payments. Read through this, a node asks at
//! most once per event per `ttl`; a change made through this node's admin API is seen at
//! once (it forgets the event), a change made through another node within `ttl`.

use std::collections::HashMap;
use std::future::Future;
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

/// The rules read so far, and how many times any were forgotten: a read that was under
/// way when its event was forgotten may carry the old rules, so it is not kept.
#[derive(Default)]
struct Kept {
    rules: HashMap<Uuid, Rules>,
    forgotten: u64,
}

/// Cheap to clone: one `Arc`.
#[derive(Clone)]
pub(crate) struct GateRules {
    ttl: Duration,
    kept: Arc<Mutex<Kept>>,
}

impl GateRules {
    /// Rules are read again once older than `ttl`; zero reads them on every call.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            kept: Arc::new(Mutex::new(Kept::default())),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Kept) -> T) -> T {
        // Nothing in the map is left half-written by a panic: each entry is replaced whole.
        f(&mut self.kept.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// One rule of `event` (`slot` picks which): as kept while younger than the TTL,
    /// else from `read`, kept unless the event was forgotten meanwhile.
    async fn through<T, E>(
        &self,
        event: Uuid,
        slot: fn(&mut Rules) -> &mut Option<(T, Instant)>,
        read: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E>
    where
        T: Clone,
    {
        let now = Instant::now();
        let (kept, forgotten) = self.with(|kept| {
            let fresh = kept.rules.get_mut(&event).and_then(|rules| {
                slot(rules)
                    .as_ref()
                    .filter(|(_, at)| now.duration_since(*at) < self.ttl)
                    .map(|(value, _)| value.clone())
            });
            (fresh, kept.forgotten)
        });
        if let Some(value) = kept {
            return Ok(value);
        }
        let value = read.await?;
        self.with(|kept| {
            if kept.forgotten == forgotten {
                *slot(kept.rules.entry(event).or_default()) = Some((value.clone(), now));
            }
        });
        Ok(value)
    }

    /// The event's own queue settings (`None`: it has none, the node's defaults apply).
    pub async fn queue_settings(
        &self,
        db: &PgPool,
        event: Uuid,
    ) -> Result<Option<QueueSettings>, StoreError> {
        let read = urr_store::queue_settings::get(db, event);
        self.through(event, |rules| &mut rules.settings, read).await
    }

    /// The event's pre-sale windows not yet closed.
    pub async fn presale_windows(
        &self,
        db: &PgPool,
        event: Uuid,
    ) -> Result<Arc<Vec<PresaleWindow>>, StoreError> {
        let read = async { presales::upcoming(db, event).await.map(Arc::new) };
        self.through(event, |rules| &mut rules.windows, read).await
    }

    /// Forgets what was read about `event`: its rules just changed here. A read of them
    /// under way now is not kept either.
    pub fn forget(&self, event: Uuid) {
        self.with(|kept| {
            kept.rules.remove(&event);
            kept.forgotten += 1;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Read = Result<Option<QueueSettings>, ()>;

    fn settings(threshold: u32) -> Read {
        Ok(Some(QueueSettings {
            threshold,
            ..QueueSettings::default()
        }))
    }

    fn threshold(read: Read) -> Option<u32> {
        read.ok().flatten().map(|s| s.threshold)
    }

    async fn read(rules: &GateRules, event: Uuid, answer: Read) -> Read {
        rules
            .through(event, |r| &mut r.settings, async { answer })
            .await
    }

    #[tokio::test]
    async fn rules_are_kept_until_forgotten_and_a_read_under_way_then_is_not_kept() {
        let rules = GateRules::new(Duration::from_secs(600));
        let event = Uuid::now_v7();
        assert_eq!(threshold(read(&rules, event, settings(1)).await), Some(1));
        assert_eq!(
            threshold(read(&rules, event, settings(2)).await),
            Some(1),
            "kept, not read again"
        );
        rules.forget(event);
        // A read that started before a change and ends after it answers its caller but
        // is not kept: the next call reads again.
        let (answer, answered) = tokio::sync::oneshot::channel::<Read>();
        let slow = rules.through(event, |r| &mut r.settings, async {
            answered.await.unwrap_or(Err(()))
        });
        let forget_meanwhile = async {
            rules.forget(event);
            let _ = answer.send(settings(3));
        };
        let (old, ()) = tokio::join!(slow, forget_meanwhile);
        assert_eq!(threshold(old), Some(3));
        assert_eq!(threshold(read(&rules, event, settings(4)).await), Some(4));
        assert_eq!(threshold(read(&rules, event, settings(5)).await), Some(4));
    }

    #[tokio::test]
    async fn a_zero_ttl_reads_every_time_and_a_failed_read_is_not_kept() {
        let rules = GateRules::new(Duration::ZERO);
        let event = Uuid::now_v7();
        assert_eq!(threshold(read(&rules, event, settings(1)).await), Some(1));
        assert_eq!(threshold(read(&rules, event, settings(2)).await), Some(2));
        let kept = GateRules::new(Duration::from_secs(600));
        assert!(read(&kept, event, Err(())).await.is_err());
        assert_eq!(threshold(read(&kept, event, settings(7)).await), Some(7));
    }
}
