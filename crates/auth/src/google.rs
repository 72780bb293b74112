//! Google sign-in: verifies an ID token (RS256) against Google's published keys.
//!
//! Keys are fetched from the configured JWKS URL and cached; a token signed with a key we
//! have not seen triggers one refetch (Google rotates keys), but never more than one per
//! [`REFETCH_FLOOR`], so junk tokens cannot make us hammer the key endpoint.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::AuthError;

/// Issuers Google uses in ID tokens.
const ISSUERS: [&str; 2] = ["accounts.google.com", "https://accounts.google.com"];
/// How long fetched keys are trusted before a refetch.
const KEYS_TTL: Duration = Duration::from_secs(3600);
/// Minimum time between two fetches.
const REFETCH_FLOOR: Duration = Duration::from_secs(30);

/// Who Google says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleIdentity {
    pub sub: String,
    pub email: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
struct IdTokenClaims {
    sub: String,
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
    name: Option<String>,
}

struct CachedKeys {
    keys: JwkSet,
    fetched_at: Instant,
}

pub struct GoogleVerifier {
    client_id: String,
    jwks_url: String,
    http: reqwest::Client,
    cache: Mutex<Option<CachedKeys>>,
}

impl GoogleVerifier {
    pub fn new(client_id: impl Into<String>, jwks_url: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            client_id: client_id.into(),
            jwks_url: jwks_url.into(),
            http,
            cache: Mutex::new(None),
        }
    }

    /// Checks signature (RS256, a key from the JWKS), issuer, audience (our client id),
    /// expiry, and that the email is verified.
    pub async fn verify(&self, credential: &str) -> Result<GoogleIdentity, AuthError> {
        let header = jsonwebtoken::decode_header(credential)?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Invalid("ID token must be RS256".into()));
        }
        let kid = header
            .kid
            .ok_or_else(|| AuthError::Invalid("ID token has no key id".into()))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = 30;
        validation.set_audience(&[&self.client_id]);
        validation.set_issuer(&ISSUERS);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<IdTokenClaims>(credential, &key, &validation)?.claims;
        let email = claims
            .email
            .filter(|_| claims.email_verified)
            .ok_or_else(|| AuthError::Invalid("Google account has no verified email".into()))?;
        let name = claims.name.unwrap_or_else(|| email.clone());
        Ok(GoogleIdentity {
            sub: claims.sub,
            email,
            name,
        })
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        let mut cache = self.cache.lock().await;
        let fresh = cache
            .as_ref()
            .is_some_and(|c| c.fetched_at.elapsed() < KEYS_TTL);
        if fresh && let Some(jwk) = cache.as_ref().and_then(|c| c.keys.find(kid)) {
            return Ok(DecodingKey::from_jwk(jwk)?);
        }
        let may_refetch = cache
            .as_ref()
            .is_none_or(|c| c.fetched_at.elapsed() >= REFETCH_FLOOR);
        if may_refetch {
            let keys = self.fetch().await?;
            *cache = Some(CachedKeys {
                keys,
                fetched_at: Instant::now(),
            });
        }
        let jwk = cache
            .as_ref()
            .and_then(|c| c.keys.find(kid))
            .ok_or_else(|| AuthError::Invalid("ID token signed with an unknown key".into()))?;
        Ok(DecodingKey::from_jwk(jwk)?)
    }

    async fn fetch(&self) -> Result<JwkSet, AuthError> {
        let unavailable = |e: reqwest::Error| AuthError::ProviderUnavailable(e.to_string());
        self.http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json::<JwkSet>()
            .await
            .map_err(unavailable)
    }
}
