//! HS256 tokens: the access token (who you are) and the queue tokens (how far through the
//! waiting room you got). Each kind has its own claim shape, so a token of one kind can
//! never be read as another.

use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AuthError;

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

/// An HS256 key pair for one secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Signs ticket codes (`crate::ticket_code`).
    pub(crate) ticket_key: [u8; 32],
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ticket_key: crate::ticket_code::derive_key(secret),
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

    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, AuthError> {
        self.verify(token)
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
        let mut validation = Validation::new(Algorithm::HS256);
        // Clocks within one deployment agree closely; a minute of grace (the default)
        // would keep a revoked-by-expiry token alive for too long.
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(jsonwebtoken::decode::<T>(token, &self.decoding, &validation)?.claims)
    }

    /// Like `verify` (signature, algorithm, required claims) but leaves `exp` to the
    /// caller: for a token whose life a store keeps (an invitation's row), so a late use
    /// is still recognised, and audited, as that token's.
    pub(crate) fn verify_signed<T: DeserializeOwned>(&self, token: &str) -> Result<T, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(jsonwebtoken::decode::<T>(token, &self.decoding, &validation)?.claims)
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
}
