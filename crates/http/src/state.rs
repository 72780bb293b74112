use std::sync::Arc;

use urr_actors::event::{EventDirectory, QueueSettings};
use urr_auth::{GoogleVerifier, TokenKeys};
use urr_store::{Kv, PgPool};

use crate::HttpConfig;

/// What every handler may use; cheap to clone, which matters: the router clones it
/// several times for every request (a copy per layer of the route's stack), so what is
/// costly to copy sits behind an `Arc`.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub kv: Kv,
    /// Behind an `Arc`: the HS256 keys are buffers, each copy an allocation.
    pub keys: Arc<TokenKeys>,
    pub google: Option<Arc<GoogleVerifier>>,
    pub events: EventDirectory,
    pub payments: Arc<urr_payments::PaymentService>,
    pub queue_defaults: QueueSettings,
    /// The queue settings and pre-sale windows the gates read, kept for a moment.
    pub(crate) gate_rules: crate::gate_rules::GateRules,
    /// Tier-1 waiting rooms; when one is active for an event, queue/check requires its token.
    pub tier1: Option<Arc<dyn Tier1Rooms>>,
    /// This node's part in the cluster: the secret node-to-node calls must carry and the
    /// membership settings the operator's view reads (`None`: no internal routes).
    pub cluster: Option<Arc<urr_cluster::Cluster>>,
    pub config: Arc<HttpConfig>,
    /// The gateway's rate limits, also asked by the sign-in handler (per account).
    pub limits: crate::rate_limit::RateLimiter,
    /// How messages (email verification links) are sent.
    pub mailer: Arc<dyn crate::mail::Mailer>,
    /// Open seat-map streams, capped per node and per caller.
    pub seat_streams: crate::stream_slots::StreamSlots,
    /// Bounds concurrent argon2 work to all cores but one: a sign-up storm queues here
    /// instead of starving the queue and the holds of CPU (each hash is ~20 ms of a core).
    pub password_slots: Arc<tokio::sync::Semaphore>,
}

/// Whether an event's Tier-1 waiting room is active (implemented by the Tier-1 crate).
#[async_trait::async_trait]
pub trait Tier1Rooms: Send + Sync {
    /// `Err` when the room's store cannot say: callers fail closed on it, never treating
    /// an unreadable room as an inactive one.
    async fn is_active(&self, event: uuid::Uuid) -> Result<bool, Tier1Unavailable>;
}

/// The Tier-1 room's store failed or did not answer; the message is for the log.
#[derive(Debug, Clone)]
pub struct Tier1Unavailable(pub String);

impl AppState {
    /// The edge's view of a node's parts; the node assembles them (`urr::node`).
    pub fn new(
        db: PgPool,
        kv: Kv,
        config: HttpConfig,
        keys: TokenKeys,
        events: EventDirectory,
        payments: Arc<urr_payments::PaymentService>,
    ) -> Self {
        let google = config.google_client_id.as_ref().map(|id| {
            Arc::new(GoogleVerifier::new(
                id.clone(),
                config.google_jwks_url.clone(),
            ))
        });
        let keys = Arc::new(keys);
        let limits = crate::rate_limit::RateLimiter::new(
            kv.clone(),
            keys.clone(),
            config.rate_limits.clone(),
        );
        let seat_streams = crate::stream_slots::StreamSlots::new(
            config.seat_streams_max,
            config.seat_streams_per_caller,
        );
        let mailer = config.mail.mailer();
        Self {
            payments,
            db,
            kv,
            keys,
            limits,
            mailer,
            seat_streams,
            google,
            events,
            queue_defaults: config.events.queue_defaults(),
            gate_rules: crate::gate_rules::GateRules::new(std::time::Duration::from_millis(
                config.events.gate_rules_ttl_ms,
            )),
            tier1: None,
            cluster: None,
            config: Arc::new(config),
            password_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism()
                    .map_or(1, |cores| cores.get().saturating_sub(1))
                    .max(1),
            )),
        }
    }

    /// Whether `event`'s Tier-1 room is active; a 503 (retry) when the room cannot be read.
    pub async fn tier1_active(&self, event: uuid::Uuid) -> Result<bool, crate::ApiError> {
        match &self.tier1 {
            Some(rooms) => Ok(rooms.is_active(event).await?),
            None => Ok(false),
        }
    }
}
