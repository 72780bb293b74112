use std::sync::Arc;
use std::time::Duration;

use urr_actors::event::{DirectoryOptions, EventDirectory, QueueSettings};
use urr_auth::{GoogleVerifier, TokenKeys};
use urr_store::event_store::PgRedisEventStore;
use urr_store::{Kv, PgPool};

use crate::HttpConfig;

/// What every handler may use; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub kv: Kv,
    pub keys: TokenKeys,
    pub google: Option<Arc<GoogleVerifier>>,
    pub events: EventDirectory,
    pub payments: Arc<urr_payments::PaymentService>,
    pub queue_defaults: QueueSettings,
    /// Tier-1 waiting rooms; when one is active for an event, queue/check requires its token.
    pub tier1: Option<Arc<dyn Tier1Rooms>>,
    pub config: Arc<HttpConfig>,
    /// Bounds concurrent argon2 work to all cores but one: a sign-up storm queues here
    /// instead of starving the queue and the holds of CPU (each hash is ~20 ms of a core).
    pub password_slots: Arc<tokio::sync::Semaphore>,
}

/// Whether an event's Tier-1 waiting room is active (implemented by the Tier-1 crate).
#[async_trait::async_trait]
pub trait Tier1Rooms: Send + Sync {
    async fn is_active(&self, event: uuid::Uuid) -> bool;
}

impl AppState {
    /// Wires the state from live connections and the edge's config, and starts the
    /// directory of event actors. `jwt_secret` must be the resolved secret (the CLI makes
    /// one when none is configured).
    pub async fn new(
        db: PgPool,
        kv: Kv,
        config: HttpConfig,
        jwt_secret: &[u8],
    ) -> Result<Self, urr_actors::event::EventError> {
        let google = config.google_client_id.as_ref().map(|id| {
            Arc::new(GoogleVerifier::new(
                id.clone(),
                config.google_jwks_url.clone(),
            ))
        });
        let queue_defaults = config.events.queue_defaults();
        let store = Arc::new(PgRedisEventStore::new(
            db.clone(),
            kv.clone(),
            queue_defaults,
        ));
        let events = EventDirectory::start(
            store,
            DirectoryOptions {
                idle_after: Duration::from_secs(config.events.actor_idle_secs),
                call_timeout: Duration::from_secs(10),
            },
        )
        .await?;
        let payments = Arc::new(urr_payments::PaymentService::new(
            db.clone(),
            events.clone(),
            &config.payments,
        ));
        Ok(Self {
            payments,
            db,
            kv,
            keys: TokenKeys::new(jwt_secret),
            google,
            events,
            queue_defaults,
            tier1: None,
            config: Arc::new(config),
            password_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism()
                    .map_or(1, |cores| cores.get().saturating_sub(1))
                    .max(1),
            )),
        })
    }

    pub async fn tier1_active(&self, event: uuid::Uuid) -> bool {
        match &self.tier1 {
            Some(rooms) => rooms.is_active(event).await,
            None => false,
        }
    }

    /// Runs the hold sweeper until the process ends: it finishes holds that no live actor
    /// expired (a crashed node's), on every node, without stepping on each other.
    pub fn spawn_sweeper(&self) -> tokio::task::JoinHandle<()> {
        let db = self.db.clone();
        let kv = self.kv.clone();
        let every = Duration::from_secs(self.config.events.sweep_interval_secs.max(1));
        let grace = Duration::from_secs(self.config.events.sweep_grace_secs);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            loop {
                interval.tick().await;
                if let Err(err) = urr_store::sweeper::sweep(&db, &kv, grace, 500).await {
                    tracing::warn!(%err, "hold sweep failed; retrying next interval");
                }
            }
        })
    }
}
