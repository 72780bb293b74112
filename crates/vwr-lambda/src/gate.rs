//! The checks a join passes before it may take a new place, when its room asks for them
//! (`docs/architecture.md#bot-defence-at-tier-1`): join limits per source address and
//! per account, a solved proof-of-work challenge used once, and a CAPTCHA. The cheap
//! checks come first: a counter per limit, then one HMAC and one SHA-256, then the
//! one-use mark, and only then the call to the CAPTCHA verifier, so a refused join never
//! costs that call and one solved challenge never buys more than one.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::VwrError;
use crate::address::IpNet;
use crate::captcha::CaptchaVerifier;
use crate::domain::defence::{Defence, limit_window};
use crate::domain::ids::EventId;
use crate::domain::proof::{Challenge, ChallengeKey, ProofError};
use crate::error::ErrorCode;
use crate::store::VwrStore;

/// The node's side of bot defence: the CAPTCHA verifier (none: rooms cannot ask for a
/// CAPTCHA) and whose `X-Forwarded-For` is believed.
#[derive(Clone, Default)]
pub struct BotDefence {
    pub captcha: Option<CaptchaVerifier>,
    /// Handed to the browser for a provider's widget; never a secret.
    pub captcha_site_key: Option<String>,
    pub trusted_proxies: Vec<IpNet>,
}

/// What a join brings besides the caller's identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinProof {
    pub challenge: Option<String>,
    pub counter: Option<u64>,
    pub captcha_token: Option<String>,
    /// The source address, when known.
    pub address: Option<IpAddr>,
}

/// A challenge for the caller, and what else the room asks of a join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeReply {
    /// Find a `counter` such that SHA-256 of `challenge + ":" + counter` (decimal) starts
    /// with `difficulty` zero bits; send both with the join.
    pub challenge: String,
    pub difficulty: u8,
    pub expires_at: DateTime<Utc>,
    /// The join also needs a `captchaToken`.
    pub captcha: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captcha_site_key: Option<String>,
}

#[derive(Clone)]
pub(crate) struct Gate {
    key: ChallengeKey,
    node: Arc<BotDefence>,
}

impl Gate {
    pub fn new(key: ChallengeKey, node: BotDefence) -> Self {
        Self {
            key,
            node: Arc::new(node),
        }
    }

    pub fn node(&self) -> &BotDefence {
        &self.node
    }

    pub fn issue(
        &self,
        event: &EventId,
        user: &str,
        defence: &Defence,
        now: DateTime<Utc>,
    ) -> ChallengeReply {
        let challenge = Challenge::new(event.as_str(), user, defence.pow_difficulty, now);
        ChallengeReply {
            challenge: challenge.sign(&self.key),
            difficulty: challenge.difficulty,
            expires_at: challenge.expires_at,
            captcha: defence.captcha,
            captcha_site_key: self
                .node
                .captcha_site_key
                .clone()
                .filter(|_| defence.captcha),
        }
    }

    /// Counts this attempt against the room's limits; 429 past either.
    pub async fn limit<S: VwrStore>(
        &self,
        store: &S,
        event: &EventId,
        defence: &Defence,
        user: &str,
        address: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<(), VwrError> {
        if defence.joins_per_address_per_min == 0 && defence.joins_per_account_per_min == 0 {
            return Ok(());
        }
        let (window, retry_after) = limit_window(now);
        // A request without an address (neither a TCP peer nor a gateway's `sourceIp`:
        // not the edge, not API Gateway) is not counted by address: one shared bucket for
        // all of them would lock everyone out at once.
        let by_address = async {
            match (defence.joins_per_address_per_min, address) {
                (0, _) | (_, None) => Ok(0),
                (_, Some(ip)) => store.hit(event, &format!("addr:{ip}"), window).await,
            }
        };
        let by_account = async {
            match defence.joins_per_account_per_min {
                0 => Ok(0),
                _ => store.hit(event, &format!("acct:{user}"), window).await,
            }
        };
        let (from_address, from_account) = tokio::try_join!(by_address, by_account)?;
        let over = |limit: u32, count: u64| limit > 0 && count > u64::from(limit);
        if over(defence.joins_per_address_per_min, from_address) {
            crate::metrics::refused(event, "address_limit");
            return Err(VwrError::Limited {
                retry_after,
                message: "too many joins from this address; wait a moment".into(),
            });
        }
        if over(defence.joins_per_account_per_min, from_account) {
            crate::metrics::refused(event, "account_limit");
            return Err(VwrError::Limited {
                retry_after,
                message: "too many joins from this account; wait a moment".into(),
            });
        }
        Ok(())
    }

    /// Checks the proof of work and the CAPTCHA a new place needs, and uses the
    /// challenge up.
    pub async fn admit<S: VwrStore>(
        &self,
        store: &S,
        event: &EventId,
        defence: &Defence,
        user: &str,
        proof: &JoinProof,
        now: DateTime<Utc>,
    ) -> Result<(), VwrError> {
        if defence.pow_difficulty > 0 {
            let challenge = self.check_work(event, defence, user, proof, now)?;
            if !store
                .use_once(event, &challenge.nonce, challenge.expires_at)
                .await?
            {
                crate::metrics::refused(event, "challenge_used");
                return Err(VwrError::refused(
                    ErrorCode::ChallengeUsed,
                    "this challenge was already used; fetch a new one",
                ));
            }
        }
        if defence.captcha {
            let token = proof.captcha_token.as_deref().ok_or_else(|| {
                VwrError::refused(
                    ErrorCode::CaptchaRequired,
                    "this room asks for a CAPTCHA: send captchaToken",
                )
            })?;
            let verifier = self.node.captcha.as_ref().ok_or_else(|| {
                VwrError::refused(
                    ErrorCode::CaptchaUnavailable,
                    "the room asks for a CAPTCHA but no verifier is configured",
                )
            })?;
            verifier
                .verify(token, proof.address)
                .await
                .inspect_err(|_| {
                    crate::metrics::refused(event, "captcha");
                })?;
        }
        Ok(())
    }

    fn check_work(
        &self,
        event: &EventId,
        defence: &Defence,
        user: &str,
        proof: &JoinProof,
        now: DateTime<Utc>,
    ) -> Result<Challenge, VwrError> {
        let (Some(text), Some(counter)) = (proof.challenge.as_deref(), proof.counter) else {
            return Err(VwrError::refused(
                ErrorCode::ChallengeRequired,
                "this room asks for a proof of work: fetch /vwr/challenge/{eventId}, solve it, \
                 and send challenge and counter",
            ));
        };
        let expect = (event.as_str(), user);
        Challenge::verify(
            &self.key,
            text,
            counter,
            expect,
            defence.pow_difficulty,
            now,
        )
        .map_err(|err| {
            crate::metrics::refused(event, "challenge");
            let (code, message) = match err {
                ProofError::Malformed => (
                    ErrorCode::ChallengeInvalid,
                    "the challenge is not one we issued",
                ),
                ProofError::NotYours => (
                    ErrorCode::ChallengeInvalid,
                    "the challenge was issued for another room or user",
                ),
                ProofError::TooEasy => (
                    ErrorCode::ChallengeInvalid,
                    "the room's difficulty has changed; fetch a new challenge",
                ),
                ProofError::Expired => (
                    ErrorCode::ChallengeExpired,
                    "the challenge has expired; fetch a new one",
                ),
                ProofError::Unsolved => (
                    ErrorCode::ChallengeUnsolved,
                    "the counter does not solve the challenge",
                ),
            };
            VwrError::refused(code, message)
        })
    }
}
