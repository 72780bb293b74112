//! The edge's part of the one configuration struct (flattened into the `urr` CLI).

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

/// Settings of the HTTP edge. Every flag has an environment fallback.
#[derive(Debug, Clone, Args)]
pub struct HttpConfig {
    /// Address to listen on.
    #[arg(long, env = "URR_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Secret for signing access and queue tokens (HS256). When unset, a random secret is
    /// made at start-up and every token dies with the process: set it in production.
    #[arg(long, env = "URR_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, env = "URR_BODY_LIMIT", default_value_t = 64 * 1024)]
    pub body_limit: usize,

    /// Seconds after which a request is abandoned with 503.
    #[arg(long, env = "URR_REQUEST_TIMEOUT_SECS", default_value_t = 15)]
    pub request_timeout_secs: u64,

    /// Mark auth cookies `Secure` (browsers still accept them on http://localhost).
    #[arg(long, env = "URR_SECURE_COOKIES", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub secure_cookies: bool,

    /// Most seat-map streams (server-sent events) open at once on this node; beyond, 503.
    #[arg(long, env = "URR_SEAT_STREAMS_MAX", default_value_t = 20_000)]
    pub seat_streams_max: usize,

    /// Most seat-map streams one caller (a signed-in user, else a client address) keeps
    /// open at once; beyond, 429.
    #[arg(long, env = "URR_SEAT_STREAMS_PER_CALLER", default_value_t = 4)]
    pub seat_streams_per_caller: usize,

    /// Google OAuth client id; Google sign-in is off when unset.
    #[arg(long, env = "URR_GOOGLE_CLIENT_ID")]
    pub google_client_id: Option<String>,

    #[command(flatten)]
    pub events: EventsConfig,

    #[command(flatten)]
    pub payments: urr_payments::PaymentsConfig,

    #[command(flatten)]
    pub rate_limits: crate::rate_limit::RateLimitConfig,

    #[command(flatten)]
    pub metrics: crate::metrics::MetricsConfig,

    #[command(flatten)]
    pub mail: crate::mail::MailConfig,

    /// Where Google's signing keys (JWKS) are fetched from.
    #[arg(
        long,
        env = "URR_GOOGLE_JWKS_URL",
        default_value = "https://www.googleapis.com/oauth2/v3/certs"
    )]
    pub google_jwks_url: String,
}

/// Defaults for each event's queue and holds (admins override them per event), and how
/// the event actors and the hold sweeper run.
#[derive(Debug, Clone, Args)]
pub struct EventsConfig {
    /// Most users admitted (active) at once per event.
    #[arg(long, env = "URR_QUEUE_THRESHOLD", default_value_t = 1000)]
    pub queue_threshold: u32,
    /// Most users admitted per tick.
    #[arg(long, env = "URR_QUEUE_BATCH", default_value_t = 100)]
    pub queue_batch: u32,
    /// Admission tick, in milliseconds.
    #[arg(long, env = "URR_QUEUE_TICK_MS", default_value_t = 1000)]
    pub queue_tick_ms: u64,
    /// An admitted user without heartbeat or action expires after this many seconds.
    #[arg(long, env = "URR_ACTIVE_TTL_SECS", default_value_t = 600)]
    pub active_ttl_secs: u64,
    /// A queued user without heartbeat is dropped after this many seconds.
    #[arg(long, env = "URR_QUEUE_TTL_SECS", default_value_t = 60)]
    pub queue_ttl_secs: u64,
    /// How long a seat hold lasts before it expires unpaid.
    #[arg(long, env = "URR_HOLD_TTL_SECS", default_value_t = 300)]
    pub hold_ttl_secs: u64,
    /// Most seats (or tickets) in one reservation.
    #[arg(long, env = "URR_MAX_SEATS_PER_HOLD", default_value_t = 4)]
    pub max_seats_per_hold: u32,
    /// How long a waiting-list offer holds its seats for the person it went to
    /// (docs/waiting-list.md).
    #[arg(long, env = "URR_WAITLIST_OFFER_SECS", default_value_t = 600)]
    pub waitlist_offer_secs: u64,
    /// An event actor with nobody waiting, active or holding stops after this long.
    #[arg(long, env = "URR_ACTOR_IDLE_SECS", default_value_t = 300)]
    pub actor_idle_secs: u64,
    /// How long a node keeps an event's queue settings and pre-sale windows as read for
    /// the gates (queue check, holds); a change made through another node is seen
    /// within this. 0 reads them on every call.
    #[arg(long, env = "URR_GATE_RULES_TTL_MS", default_value_t = 1000)]
    pub gate_rules_ttl_ms: u64,
    /// PostgreSQL connections kept for the event actors' own reads and writes (sales,
    /// holds, expiries), apart from the pool the request handlers share, so an event's
    /// single writer never waits behind them for a connection (at least 1).
    #[arg(long, env = "URR_EVENT_WRITER_CONNECTIONS", default_value_t = 6)]
    pub writer_connections: u32,
    /// How often the sweeper looks for holds no live actor expired.
    #[arg(long, env = "URR_SWEEP_INTERVAL_SECS", default_value_t = 10)]
    pub sweep_interval_secs: u64,
    /// How long past its expiry a hold must be before the sweeper takes it.
    #[arg(long, env = "URR_SWEEP_GRACE_SECS", default_value_t = 30)]
    pub sweep_grace_secs: u64,
}

impl EventsConfig {
    pub fn queue_defaults(&self) -> urr_actors::event::QueueSettings {
        urr_actors::event::QueueSettings {
            enabled: true,
            threshold: self.queue_threshold.max(1),
            batch: self.queue_batch.max(1),
            tick: Duration::from_millis(self.queue_tick_ms.max(10)),
            active_ttl: Duration::from_secs(self.active_ttl_secs.max(1)),
            queue_ttl: Duration::from_secs(self.queue_ttl_secs.max(1)),
            hold_ttl: Duration::from_secs(self.hold_ttl_secs.max(1)),
            max_seats_per_hold: self.max_seats_per_hold.clamp(1, 50),
            max_seats_per_user: None,
            waitlist_offer_ttl: Duration::from_secs(self.waitlist_offer_secs.max(1)),
        }
    }
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            queue_threshold: 1000,
            queue_batch: 100,
            queue_tick_ms: 1000,
            active_ttl_secs: 600,
            queue_ttl_secs: 60,
            hold_ttl_secs: 300,
            max_seats_per_hold: 4,
            waitlist_offer_secs: 600,
            actor_idle_secs: 300,
            gate_rules_ttl_ms: 1000,
            writer_connections: 6,
            sweep_interval_secs: 10,
            sweep_grace_secs: 30,
        }
    }
}

impl HttpConfig {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// The base URL links in messages point at (no trailing slash).
    pub fn public_url(&self) -> String {
        match &self.mail.public_url {
            Some(url) => url.trim().trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            jwt_secret: None,
            body_limit: 64 * 1024,
            request_timeout_secs: 15,
            secure_cookies: true,
            seat_streams_max: 20_000,
            seat_streams_per_caller: 4,
            google_client_id: None,
            events: EventsConfig::default(),
            payments: urr_payments::PaymentsConfig {
                toss_base_url: "https://api.tosspayments.com".into(),
                payment_timeout_secs: 10,
                ..Default::default()
            },
            google_jwks_url: "https://www.googleapis.com/oauth2/v3/certs".into(),
            // Off here (tests build on this); the CLI's default turns them on.
            rate_limits: crate::rate_limit::RateLimitConfig::default(),
            metrics: crate::metrics::MetricsConfig::default(),
            mail: crate::mail::MailConfig::default(),
        }
    }
}
