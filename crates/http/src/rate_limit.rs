//! Gateway rate limits (`docs/architecture.md#the-gateway`): a sliding window per route class and caller, kept in
//! Redis by one atomic script, with an in-memory fallback at double the limit while Redis
//! is unreachable. The caller is the access token's user when it verifies, otherwise the
//! client address, which is read from `X-Forwarded-For` only when the TCP peer is a
//! trusted proxy. Calls that present credentials (sign-in, sign-up, Google) are counted
//! by the client address whatever token comes along, so a token of one's own never buys
//! a fresh window, and sign-in attempts are counted per account too ([`RateLimiter::account`]).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::http::header::RETRY_AFTER;
use axum::http::{Extensions, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use clap::Args;

use urr_auth::TokenKeys;
use urr_store::Kv;

use crate::error::{ApiError, ErrorCode};
use crate::limit_batches::HitBatches;
use crate::memory_windows::{MemoryWindows, Verdict};
use crate::session::{self, VerifiedAccess};

/// The window every limit is counted over.
pub const WINDOW: Duration = Duration::from_secs(60);
/// A Redis call slower than this counts as Redis being down.
const REDIS_DEADLINE: Duration = Duration::from_millis(500);

/// Rate limits of the gateway. `HttpConfig::default()` (what the tests build on) has
/// them off; the `urr` command has them on unless `--rate-limits false`.
#[derive(Debug, Clone, Args)]
pub struct RateLimitConfig {
    /// Enforce per-route rate limits.
    #[arg(long = "rate-limits", env = "URR_RATE_LIMITS", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub enabled: bool,
    /// Requests per minute per caller to `/api/v1/auth/*`.
    #[arg(long, env = "URR_RATE_LIMIT_AUTH_PER_MIN", default_value_t = 60)]
    pub rate_limit_auth_per_min: u32,
    /// Requests per minute per caller to `/api/v1/queue/*`.
    #[arg(long, env = "URR_RATE_LIMIT_QUEUE_PER_MIN", default_value_t = 120)]
    pub rate_limit_queue_per_min: u32,
    /// Requests per minute per caller to holds, reservations and payments.
    #[arg(long, env = "URR_RATE_LIMIT_BOOKING_PER_MIN", default_value_t = 30)]
    pub rate_limit_booking_per_min: u32,
    /// Requests per minute per caller to everything else.
    #[arg(long, env = "URR_RATE_LIMIT_GENERAL_PER_MIN", default_value_t = 3000)]
    pub rate_limit_general_per_min: u32,
    /// Sign-in attempts per minute per account (by email), from any address.
    #[arg(
        long,
        env = "URR_RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MIN",
        default_value_t = 10
    )]
    pub rate_limit_login_per_account_per_min: u32,
    /// Proxies (IPs or CIDRs, comma-separated) whose `X-Forwarded-For` is believed.
    #[arg(long, env = "URR_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            rate_limit_auth_per_min: 60,
            rate_limit_queue_per_min: 120,
            rate_limit_booking_per_min: 30,
            rate_limit_general_per_min: 3000,
            rate_limit_login_per_account_per_min: 10,
            trusted_proxies: Vec::new(),
        }
    }
}

impl RateLimitConfig {
    fn limit(&self, class: Class) -> u64 {
        u64::from(match class {
            Class::Auth => self.rate_limit_auth_per_min,
            Class::Queue => self.rate_limit_queue_per_min,
            Class::Booking => self.rate_limit_booking_per_min,
            Class::General => self.rate_limit_general_per_min,
        })
    }
}

pub use urr_auth::client_address::{IpNet, client_ip};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Auth,
    Queue,
    Booking,
    General,
}

impl Class {
    fn as_str(self) -> &'static str {
        match self {
            Class::Auth => "auth",
            Class::Queue => "queue",
            Class::Booking => "booking",
            Class::General => "general",
        }
    }

    /// The class of a route; `None` for the probes and the browser UI's pages and files,
    /// which are never limited: they are served from memory (the seed's came from a CDN:
    /// `docs/architecture.md#the-design-urr-rebuilds`),
    /// and one page load fetches a few dozen modules, which behind a carrier's shared
    /// address would spend everyone's budget before the on-sale.
    pub fn of(method: &Method, path: &str) -> Option<Class> {
        if matches!(path, "/healthz" | "/readyz")
            || !(path.starts_with("/api/") || path.starts_with("/vwr-api/"))
        {
            return None;
        }
        let class = if path.starts_with("/api/v1/auth/") {
            Class::Auth
        } else if path.starts_with("/api/v1/queue/") {
            Class::Queue
        } else if path == "/api/v1/seats/reserve"
            || (path == "/api/v1/reservations" && method == Method::POST)
            || path.starts_with("/api/v1/payments/")
        {
            Class::Booking
        } else {
            Class::General
        };
        Some(class)
    }
}

/// Whether a call presents credentials, and so is counted by the client address alone.
pub fn presents_credentials(method: &Method, path: &str) -> bool {
    method == Method::POST
        && matches!(
            path,
            "/api/v1/auth/login" | "/api/v1/auth/register" | "/api/v1/auth/google"
        )
}

/// The limiter the middleware and the sign-in handler share: Redis and the token keys,
/// the limits, and the in-memory fallback. Cheap to clone: one `Arc`, since the router
/// clones its layers, and the state that holds this, on every request.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Limiter>,
}

struct Limiter {
    kv: Kv,
    keys: Arc<TokenKeys>,
    config: RateLimitConfig,
    memory: Mutex<MemoryWindows>,
    redis_down: AtomicBool,
    /// Started with the first limited call, on the runtime serving it.
    batches: OnceLock<HitBatches>,
}

impl RateLimiter {
    /// `keys` must be the keys the node's session extractor verifies with: a token the
    /// limiter verified is not verified again (`session::VerifiedAccess`).
    pub fn new(kv: Kv, keys: Arc<TokenKeys>, config: RateLimitConfig) -> Self {
        Self {
            inner: Arc::new(Limiter {
                kv,
                keys,
                config,
                memory: Mutex::new(MemoryWindows::new(WINDOW, Instant::now())),
                redis_down: AtomicBool::new(false),
                batches: OnceLock::new(),
            }),
        }
    }

    /// Who is calling: the verified access token's user, else the client address (always
    /// the address for calls that present credentials); with the token's verification.
    fn subject(&self, request: &Request) -> (String, Option<VerifiedAccess>) {
        let by_address = presents_credentials(request.method(), request.uri().path());
        self.identify(request.headers(), request.extensions(), by_address)
    }

    /// `user:<id>` for a caller with a valid access token (unless `by_address`), else
    /// `ip:<client address>`.
    pub fn caller(&self, headers: &HeaderMap, extensions: &Extensions, by_address: bool) -> String {
        self.identify(headers, extensions, by_address).0
    }

    fn identify(
        &self,
        headers: &HeaderMap,
        extensions: &Extensions,
        by_address: bool,
    ) -> (String, Option<VerifiedAccess>) {
        if !by_address
            && let Some(token) = session::access_token(headers)
            && let Ok(claims) = self.inner.keys.verify_access(&token)
        {
            let subject = format!("user:{}", claims.sub);
            return (subject, Some(VerifiedAccess::new(token, claims)));
        }
        let subject = match extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(peer)) => {
                format!(
                    "ip:{}",
                    client_ip(peer.ip(), headers, &self.inner.config.trusted_proxies)
                )
            }
            None => "ip:unknown".to_owned(),
        };
        (subject, None)
    }

    /// Counts a sign-in attempt against the account named by `email` (whoever sends it,
    /// from wherever): `Err` is the 429 to answer, before any password is checked.
    pub async fn account(&self, email: &str) -> Result<(), Response> {
        if !self.inner.config.enabled {
            return Ok(());
        }
        let name = format!("ratelimit:login-account:{}", email.trim().to_lowercase());
        let limit = u64::from(self.inner.config.rate_limit_login_per_account_per_min);
        match self.check(&name, limit).await {
            Verdict::Allowed => Ok(()),
            Verdict::Refused { retry_after } => Err(refused(
                retry_after,
                "login-account",
                "too many sign-in attempts for this account",
            )),
        }
    }

    async fn check(&self, name: &str, limit: u64) -> Verdict {
        let batches = self.inner.batches.get_or_init(|| {
            HitBatches::start(
                self.inner.kv.clone(),
                WINDOW.as_millis() as u64,
                REDIS_DEADLINE,
            )
        });
        let attempt = batches.hit(name.to_owned(), limit);
        let error = match tokio::time::timeout(REDIS_DEADLINE, attempt).await {
            Ok(Ok(decision)) => {
                if self.inner.redis_down.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis is back: rate limits are shared again");
                }
                return if decision.allowed {
                    Verdict::Allowed
                } else {
                    Verdict::Refused {
                        retry_after: Duration::from_millis(decision.retry_after_ms),
                    }
                };
            }
            Ok(Err(err)) => err,
            Err(_) => "timed out".to_owned(),
        };
        if !self.inner.redis_down.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, "Redis unavailable: rate limits fall back to memory at double the limit");
        } else {
            tracing::debug!(%error, "rate limit in memory");
        }
        let mut memory = match self.inner.memory.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        memory.hit(name, limit.saturating_mul(2), Instant::now())
    }
}

/// 429 with `Retry-After` (whole seconds, at least 1) and the JSON error.
fn refused(retry_after: Duration, class: &'static str, what: &str) -> Response {
    metrics::counter!("urr_rate_limited_total", "class" => class).increment(1);
    let secs = retry_after.as_millis().div_ceil(1000).max(1);
    let mut response =
        ApiError::new(ErrorCode::RateLimited, format!("{what}; retry in {secs} s")).into_response();
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

impl RateLimiter {
    /// The gateway's check of one request (run by `middleware::guard`): `Err` is the 429
    /// to answer, with `Retry-After` and the JSON error, for a caller over its class's
    /// limit.
    pub(crate) async fn admit(&self, request: &mut Request) -> Result<(), Response> {
        if !self.inner.config.enabled {
            return Ok(());
        }
        let Some(class) = Class::of(request.method(), request.uri().path()) else {
            return Ok(());
        };
        let (subject, verified) = self.subject(request);
        // The handler's session extractor takes the verified token from here instead of
        // checking its signature a second time.
        if let Some(verified) = verified {
            request.extensions_mut().insert(verified);
        }
        let name = format!("ratelimit:{}:{subject}", class.as_str());
        match self.check(&name, self.inner.config.limit(class)).await {
            Verdict::Allowed => Ok(()),
            Verdict::Refused { retry_after } => {
                Err(refused(retry_after, class.as_str(), "too many requests"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        limits: RateLimitConfig,
    }

    #[test]
    fn the_command_line_turns_limits_on_by_default() {
        use clap::Parser;
        let cli = Cli::try_parse_from(["urr"]).unwrap();
        assert!(cli.limits.enabled);
        assert_eq!(cli.limits.limit(Class::Auth), 60);
        assert_eq!(cli.limits.limit(Class::Queue), 120);
        assert_eq!(cli.limits.limit(Class::Booking), 30);
        assert_eq!(cli.limits.limit(Class::General), 3000);
        assert_eq!(cli.limits.rate_limit_login_per_account_per_min, 10);
        let cli = Cli::try_parse_from([
            "urr",
            "--rate-limits",
            "false",
            "--rate-limit-auth-per-min",
            "5",
            "--trusted-proxies",
            "10.0.0.0/8,::1",
        ])
        .unwrap();
        assert!(!cli.limits.enabled);
        assert_eq!(cli.limits.limit(Class::Auth), 5);
        assert_eq!(cli.limits.trusted_proxies.len(), 2);
        assert!(!RateLimitConfig::default().enabled);
    }

    #[test]
    fn routes_have_their_classes() {
        assert_eq!(
            Class::of(&Method::POST, "/api/v1/auth/login"),
            Some(Class::Auth)
        );
        assert_eq!(
            Class::of(&Method::GET, "/api/v1/queue/status/x"),
            Some(Class::Queue)
        );
        assert_eq!(
            Class::of(&Method::POST, "/api/v1/seats/reserve"),
            Some(Class::Booking)
        );
        assert_eq!(
            Class::of(&Method::POST, "/api/v1/reservations"),
            Some(Class::Booking)
        );
        assert_eq!(
            Class::of(&Method::GET, "/api/v1/reservations/my"),
            Some(Class::General)
        );
        assert_eq!(
            Class::of(&Method::POST, "/api/v1/payments/confirm"),
            Some(Class::Booking)
        );
        assert_eq!(
            Class::of(&Method::GET, "/api/v1/events"),
            Some(Class::General)
        );
        assert!(presents_credentials(&Method::POST, "/api/v1/auth/login"));
        assert!(presents_credentials(&Method::POST, "/api/v1/auth/google"));
        assert!(!presents_credentials(&Method::GET, "/api/v1/auth/me"));
        assert_eq!(Class::of(&Method::GET, "/healthz"), None);
        assert_eq!(Class::of(&Method::GET, "/readyz"), None);
        assert_eq!(Class::of(&Method::GET, "/assets/js/main.js"), None);
        assert_eq!(Class::of(&Method::GET, "/events/x/seats"), None);
        assert_eq!(
            Class::of(&Method::GET, "/vwr-api/vwr/status/x"),
            Some(Class::General)
        );
    }
}
