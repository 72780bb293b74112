//! HS256 tokens: the access token (who you are) and the queue tokens (how far through the
//! waiting room you got). Each kind has its own claim shape, so a token of one kind can
//! never be read as another.

use std::sync::Arc;

use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AuthError;
use crate::verified::{self, VerifiedTokens};

/// How long an access token lives (`docs/architecture.md#accounts-and-tokens`).
pub const ACCESS_TTL: Duration = Duration::minutes(15);
/// How long a queue token lives (`docs/architecture.md#accounts-and-tokens`).
pub const QUEUE_TOKEN_TTL: Duration = Duration::minutes(10);

/// A user's role: one definition for the claims, the API and the `users.role` column.
pub use urr_wire::status::Role;

/// Which waiting-room token: Tier 1 carries the waiting-room position, Tier 2 is the
/// entry token that opens seat selection. In the claims it is the number 1 or 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    One,
    Two,
}

impl Tier {
    pub fn number(self) -> u8 {
        match self {
            Tier::One => 1,
            Tier::Two => 2,
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.number())
    }
}

impl Serialize for Tier {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.number())
    }
}

impl<'de> Deserialize<'de> for Tier {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u8::deserialize(deserializer)? {
            1 => Ok(Tier::One),
            2 => Ok(Tier::Two),
            other => Err(serde::de::Error::invalid_value(
                serde::de::Unexpected::Unsigned(u64::from(other)),
                &"tier 1 or 2",
            )),
        }
    }
}

/// `{sub, email, role, iat, exp}`; `typ` keeps it apart from the queue tokens, which are
/// signed with keys that may be the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: Uuid,
    pub email: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    typ: AccessKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum AccessKind {
    #[serde(rename = "access")]
    Access,
}

/// A waiting-room token: `{sub: eventId, uid, tier, pos?, iat, exp}`. Tier 1 carries the
/// waiting-room position; tier 2 is the entry token that opens seat selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueTokenClaims {
    pub sub: String,
    pub uid: String,
    pub tier: Tier,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<u64>,
    pub iat: i64,
    pub exp: i64,
}

/// Seconds of grace on `exp`. Clocks within one deployment agree closely; a minute (the
/// library's default) would keep a revoked-by-expiry token alive for too long.
const LEEWAY: u64 = 5;

/// An HS256 key pair for one secret. Clones share the checks and the cache of verified
/// access tokens (same key, same answers).
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Signs ticket codes (`crate::ticket_code`).
    pub(crate) ticket_key: [u8; 32],
    checks: Arc<Checks>,
}

/// What checking a token needs besides the key, built once per key rather than per call.
struct Checks {
    /// Signature, algorithm, required claims and `exp`.
    expiring: Validation,
    /// The same without `exp` (see [`TokenKeys::verify_signed`]).
    signed: Validation,
    /// Access tokens that passed `expiring` (`crate::verified`).
    verified: VerifiedTokens,
}

impl Checks {
    fn new(sets: usize) -> Self {
        let mut expiring = Validation::new(Algorithm::HS256);
        expiring.leeway = LEEWAY;
        expiring.set_required_spec_claims(&["exp", "sub"]);
        let mut signed = Validation::new(Algorithm::HS256);
        signed.validate_exp = false;
        signed.set_required_spec_claims(&["exp", "sub"]);
        Self {
            expiring,
            signed,
            verified: VerifiedTokens::new(sets),
        }
    }
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self::with_cache(secret, verified::SETS)
    }

    fn with_cache(secret: &[u8], sets: usize) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ticket_key: crate::ticket_code::derive_key(secret),
            checks: Arc::new(Checks::new(sets)),
        }
    }

    /// Signs an access token for a user, valid for [`ACCESS_TTL`].
    pub fn issue_access(
        &self,
        user: Uuid,
        email: &str,
        role: Role,
    ) -> Result<(String, AccessClaims), AuthError> {
        let now = Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user,
            email: email.to_owned(),
            role,
            iat: now,
            exp: now + ACCESS_TTL.num_seconds(),
            typ: AccessKind::Access,
        };
        Ok((self.sign(&claims)?, claims))
    }

    /// The claims of a valid access token. A token that passed the full check before is
    /// answered from the cache of verified tokens, its expiry checked again
    /// (`crate::verified` says why that is the same answer).
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, AuthError> {
        self.verify_access_at(token, jsonwebtoken::get_current_timestamp())
    }

    /// [`Self::verify_access`] with the cache's clock at `now` (the full check reads the
    /// clock itself).
    fn verify_access_at(&self, token: &str, now: u64) -> Result<AccessClaims, AuthError> {
        let verified = &self.checks.verified;
        if let Some(answer) = verified.get(token, now, LEEWAY) {
            return answer;
        }
        let claims: AccessClaims = self.verify(token)?;
        verified.insert(token, &claims, now, LEEWAY);
        Ok(claims)
    }

    /// Signs a queue token of `tier` for `uid` at `event`, valid for [`QUEUE_TOKEN_TTL`].
    pub fn issue_queue(
        &self,
        event: &str,
        uid: &str,
        tier: Tier,
        pos: Option<u64>,
    ) -> Result<(String, QueueTokenClaims), AuthError> {
        let now = Utc::now().timestamp();
        let claims = QueueTokenClaims {
            sub: event.to_owned(),
            uid: uid.to_owned(),
            tier,
            pos,
            iat: now,
            exp: now + QUEUE_TOKEN_TTL.num_seconds(),
        };
        Ok((self.sign(&claims)?, claims))
    }

    /// Verifies a queue token and that it is of `tier`, for `event` and for `uid`.
    pub fn verify_queue(
        &self,
        token: &str,
        tier: Tier,
        event: &str,
        uid: &str,
    ) -> Result<QueueTokenClaims, AuthError> {
        let claims: QueueTokenClaims = self.verify(token)?;
        if claims.tier != tier {
            return Err(AuthError::Invalid(format!(
                "tier {} token where tier {tier} is required",
                claims.tier
            )));
        }
        if claims.sub != event {
            return Err(AuthError::Invalid("token is for another event".into()));
        }
        if claims.uid != uid {
            return Err(AuthError::Invalid("token is for another user".into()));
        }
        Ok(claims)
    }

    /// Signs arbitrary claims; for tests and tools that need unusual tokens.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, AuthError> {
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.encoding,
        )?)
    }

    pub(crate) fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, AuthError> {
        let validation = &self.checks.expiring;
        Ok(jsonwebtoken::decode::<T>(token, &self.decoding, validation)?.claims)
    }

    /// Like `verify` (signature, algorithm, required claims) but leaves `exp` to the
    /// caller: for a token whose life a store keeps (an invitation's row), so a late use
    /// is still recognised, and audited, as that token's.
    pub(crate) fn verify_signed<T: DeserializeOwned>(&self, token: &str) -> Result<T, AuthError> {
        let validation = &self.checks.signed;
        Ok(jsonwebtoken::decode::<T>(token, &self.decoding, validation)?.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_round_trip_and_refuse_other_keys() {
        let keys = TokenKeys::new(b"a-secret-of-at-least-32-bytes-long!!");
        let user = Uuid::now_v7();
        let (token, claims) = keys.issue_access(user, "a@b.c", Role::Admin).unwrap();
        assert_eq!(keys.verify_access(&token).unwrap(), claims);
        assert_eq!(claims.exp - claims.iat, 900);
        let other = TokenKeys::new(b"another-secret-of-at-least-32-bytes");
        assert!(matches!(
            other.verify_access(&token),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn expired_tokens_are_refused_as_expired() {
        let keys = TokenKeys::new(b"a-secret-of-at-least-32-bytes-long!!");
        let now = Utc::now().timestamp();
        let claims = QueueTokenClaims {
            sub: "e".into(),
            uid: "u".into(),
            tier: Tier::Two,
            pos: None,
            iat: now - 700,
            exp: now - 100,
        };
        let token = keys.sign(&claims).unwrap();
        assert_eq!(
            keys.verify_queue(&token, Tier::Two, "e", "u"),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn queue_tokens_are_bound_to_tier_event_and_user() {
        let keys = TokenKeys::new(b"a-secret-of-at-least-32-bytes-long!!");
        let (token, _) = keys
            .issue_queue("event-1", "user-1", Tier::One, Some(42))
            .unwrap();
        let claims = keys
            .verify_queue(&token, Tier::One, "event-1", "user-1")
            .unwrap();
        assert_eq!(claims.pos, Some(42));
        assert!(
            keys.verify_queue(&token, Tier::Two, "event-1", "user-1")
                .is_err()
        );
        assert!(
            keys.verify_queue(&token, Tier::One, "event-2", "user-1")
                .is_err()
        );
        assert!(
            keys.verify_queue(&token, Tier::One, "event-1", "user-2")
                .is_err()
        );
        // A queue token is not an access token, and vice versa.
        assert!(keys.verify_access(&token).is_err());
        let (access, _) = keys
            .issue_access(Uuid::now_v7(), "a@b.c", Role::User)
            .unwrap();
        assert!(
            keys.verify_queue(&access, Tier::One, "event-1", "user-1")
                .is_err()
        );
    }

    #[test]
    fn the_tier_is_the_number_1_or_2_in_the_claims() {
        use base64::Engine as _;
        let keys = TokenKeys::new(b"a-secret-of-at-least-32-bytes-long!!");
        for (tier, number) in [(Tier::One, 1), (Tier::Two, 2)] {
            let (token, _) = keys.issue_queue("e", "u", tier, None).unwrap();
            let payload = token.split('.').nth(1).unwrap();
            let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap();
            let claims: serde_json::Value = serde_json::from_slice(&json).unwrap();
            assert_eq!(claims["tier"], number);
        }
        let now = Utc::now().timestamp();
        let third = serde_json::json!({
            "sub": "e", "uid": "u", "tier": 3, "iat": now, "exp": now + 60
        });
        let token = keys.sign(&third).unwrap();
        assert!(matches!(
            keys.verify_queue(&token, Tier::Two, "e", "u"),
            Err(AuthError::Invalid(_))
        ));
    }

    /// The cache of verified access tokens (`crate::verified`).
    mod cache {
        use super::*;

        const SECRET: &[u8] = b"a-secret-of-at-least-32-bytes-long!!";

        fn now() -> u64 {
            jsonwebtoken::get_current_timestamp()
        }

        fn access(keys: &TokenKeys) -> (String, AccessClaims) {
            keys.issue_access(Uuid::now_v7(), "a@b.c", Role::User)
                .unwrap()
        }

        #[test]
        fn a_hit_returns_the_claims_the_full_check_did() {
            let keys = TokenKeys::new(SECRET);
            let (token, claims) = access(&keys);
            assert!(keys.checks.verified.get(&token, now(), LEEWAY).is_none());
            assert_eq!(keys.verify_access(&token).unwrap(), claims);
            assert_eq!(keys.checks.verified.len(), 1);
            assert_eq!(
                keys.checks.verified.get(&token, now(), LEEWAY),
                Some(Ok(claims.clone()))
            );
            assert_eq!(keys.verify_access(&token).unwrap(), claims);
            // A clone is the same key: it shares the cache.
            let clone = keys.clone();
            assert_eq!(clone.checks.verified.len(), 1);
            assert_eq!(clone.verify_access(&token).unwrap(), claims);
        }

        #[test]
        fn a_cached_token_past_its_expiry_is_refused_as_expired() {
            let keys = TokenKeys::new(SECRET);
            let (token, claims) = access(&keys);
            keys.verify_access(&token).unwrap();
            let exp = u64::try_from(claims.exp).unwrap();
            // Within the leeway it still passes, as the full check lets it.
            assert_eq!(
                keys.verify_access_at(&token, exp + LEEWAY),
                Ok(claims.clone())
            );
            assert_eq!(
                keys.verify_access_at(&token, exp + LEEWAY + 1),
                Err(AuthError::Expired)
            );
            // Refused, and dropped: the full check (now, before expiry) could not be
            // skipped by it either way.
            assert_eq!(keys.checks.verified.len(), 0);
        }

        #[test]
        fn a_token_that_expires_in_the_leeway_is_cached_and_then_refused() {
            let keys = TokenKeys::new(SECRET);
            let now = Utc::now().timestamp();
            let claims = AccessClaims {
                sub: Uuid::now_v7(),
                email: "a@b.c".into(),
                role: Role::User,
                iat: now - 900,
                exp: now - 2,
                typ: AccessKind::Access,
            };
            let token = keys.sign(&claims).unwrap();
            assert_eq!(keys.verify_access(&token), Ok(claims));
            let later = u64::try_from(now).unwrap() + LEEWAY;
            assert_eq!(
                keys.verify_access_at(&token, later),
                Err(AuthError::Expired)
            );
        }

        #[test]
        fn a_token_one_byte_off_is_not_served_from_the_cache() {
            // One set of four places: every token lands in the same set as the cached one.
            let keys = TokenKeys::with_cache(SECRET, 1);
            let (token, _) = access(&keys);
            keys.verify_access(&token).unwrap();
            let bytes = token.as_bytes();
            for at in [0, bytes.len() / 3, bytes.len() / 2, bytes.len() - 2] {
                let mut changed = bytes.to_vec();
                changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
                let changed = String::from_utf8(changed).unwrap();
                assert!(keys.checks.verified.get(&changed, now(), LEEWAY).is_none());
                assert!(keys.verify_access(&changed).is_err(), "byte {at} changed");
            }
            // Longer or shorter by a byte.
            for changed in [format!("{token}A"), token[..token.len() - 1].to_owned()] {
                assert!(keys.checks.verified.get(&changed, now(), LEEWAY).is_none());
                assert!(keys.verify_access(&changed).is_err());
            }
            assert_eq!(keys.checks.verified.len(), 1, "only the real token is held");
        }

        #[test]
        fn a_token_signed_with_another_key_is_refused() {
            let keys = TokenKeys::new(SECRET);
            let other = TokenKeys::new(b"another-secret-of-at-least-32-bytes");
            let (token, claims) = access(&keys);
            keys.verify_access(&token).unwrap();
            // The same claims signed with the other key: refused here, cached or not.
            let forged = other.sign(&claims).unwrap();
            assert!(matches!(
                keys.verify_access(&forged),
                Err(AuthError::Invalid(_))
            ));
            assert!(matches!(
                other.verify_access(&token),
                Err(AuthError::Invalid(_))
            ));
            assert_eq!(keys.checks.verified.len(), 1);
            assert_eq!(other.checks.verified.len(), 0);
        }

        #[test]
        fn only_access_tokens_that_verified_are_held() {
            let keys = TokenKeys::new(SECRET);
            for garbage in ["", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.xxxx", "not a token"] {
                assert!(keys.verify_access(garbage).is_err());
            }
            let (queue, _) = keys.issue_queue("e", "u", Tier::Two, None).unwrap();
            assert!(keys.verify_access(&queue).is_err());
            assert_eq!(keys.checks.verified.len(), 0);
        }

        #[test]
        fn the_bound_holds() {
            let keys = TokenKeys::with_cache(SECRET, 4);
            let capacity = keys.checks.verified.capacity();
            assert_eq!(capacity, 16);
            let tokens: Vec<_> = (0..200).map(|_| access(&keys)).collect();
            for (token, claims) in &tokens {
                assert_eq!(&keys.verify_access(token).unwrap(), claims);
                assert!(keys.checks.verified.len() <= capacity);
            }
            assert!(keys.checks.verified.len() > capacity / 2);
            // The last one in is held; a token pushed out is checked in full again.
            let (last, last_claims) = &tokens[199];
            assert_eq!(
                keys.checks.verified.get(last, now(), LEEWAY),
                Some(Ok(last_claims.clone()))
            );
            for (token, claims) in &tokens {
                assert_eq!(&keys.verify_access(token).unwrap(), claims);
            }
            assert!(keys.checks.verified.len() <= capacity);
        }
    }
}
