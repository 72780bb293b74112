use std::sync::Arc;

use urr_auth::{GoogleVerifier, TokenKeys};
use urr_store::{Kv, PgPool};

use crate::HttpConfig;

/// What every handler may use; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub kv: Kv,
    pub keys: TokenKeys,
    pub google: Option<Arc<GoogleVerifier>>,
    pub config: Arc<HttpConfig>,
}

impl AppState {
    /// Wires the state from live connections and the edge's config. `jwt_secret` must be
    /// the resolved secret (the CLI makes one when none is configured).
    pub fn new(db: PgPool, kv: Kv, config: HttpConfig, jwt_secret: &[u8]) -> Self {
        let google = config.google_client_id.as_ref().map(|id| {
            Arc::new(GoogleVerifier::new(
                id.clone(),
                config.google_jwks_url.clone(),
            ))
        });
        Self {
            db,
            kv,
            keys: TokenKeys::new(jwt_secret),
            google,
            config: Arc::new(config),
        }
    }
}
