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
    #[arg(long, env = "URR_SECURE_COOKIES", default_value_t = true, action = clap::ArgAction::Set)]
    pub secure_cookies: bool,

    /// Google OAuth client id; Google sign-in is off when unset.
    #[arg(long, env = "URR_GOOGLE_CLIENT_ID")]
    pub google_client_id: Option<String>,

    /// Where Google's signing keys (JWKS) are fetched from.
    #[arg(
        long,
        env = "URR_GOOGLE_JWKS_URL",
        default_value = "https://www.googleapis.com/oauth2/v3/certs"
    )]
    pub google_jwks_url: String,
}

impl HttpConfig {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
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
            google_client_id: None,
            google_jwks_url: "https://www.googleapis.com/oauth2/v3/certs".into(),
        }
    }
}
