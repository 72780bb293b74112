//! The proof of work a room may ask of a join (`docs/architecture.md#bot-defence-at-tier-1`).
//!
//! The server signs a challenge naming the room, the user, a random nonce, the difficulty
//! and an expiry; the client finds a `counter` such that `SHA-256(challenge ":" counter)`
//! (the counter in decimal) starts with at least `difficulty` zero bits, and sends both
//! back with its join. Checking costs the server one HMAC and one SHA-256; using each
//! challenge once is the store's part (by its nonce). The browser's worker
//! (`crates/web/assets/js/pow-worker.js`) and the load generator hash by the same rule.

use chrono::{DateTime, Utc};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use urr_auth::TokenKeys;

/// The hardest a room may ask: 2^28 hashes is about half a minute in a phone's browser.
pub const MAX_DIFFICULTY: u8 = 28;
/// How long a challenge may be solved and used.
pub const CHALLENGE_TTL_SECS: i64 = 120;
const VERSION: &str = "v1";

/// Why a proof was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofError {
    /// Not a challenge we could have issued (shape or signature).
    Malformed,
    /// Signed by us, for another room or user.
    NotYours,
    Expired,
    /// Issued at a lower difficulty than the room asks now.
    TooEasy,
    /// The counter's hash lacks the zero bits.
    Unsolved,
}

/// The key challenges are signed with, derived from the node's token secret so that every
/// process sharing the secret (the edge, each Lambda instance) verifies every other's.
#[derive(Clone)]
pub struct ChallengeKey([u8; 32]);

impl ChallengeKey {
    /// `TokenKeys` does not hand its secret out; an HS256 signature over fixed claims is
    /// a pseudo-random function of it, never sent anywhere, and so serves as the key.
    pub fn derive(keys: &TokenKeys) -> Self {
        let claims = serde_json::json!({"sub": "urr-vwr/pow-challenge-key/v1", "exp": 0});
        match keys.sign(&claims) {
            Ok(token) => Self(Sha256::digest(token.as_bytes()).into()),
            // Cannot happen for fixed claims; a random key still never lets a forged
            // challenge through (it only stops other processes' challenges verifying).
            Err(_) => Self(rand::random()),
        }
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn mac(&self, body: &str) -> [u8; 32] {
        // HMAC zero-pads a short key to the hash's block; padding it here gives the same
        // MAC through the constructor that cannot fail.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&self.0);
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
        mac.update(body.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// One challenge's statement. Event and user ids never contain `.` (a UUID or digits;
/// a user id from an access token is a UUID), so the text splits unambiguously.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub event: String,
    pub user: String,
    /// 128 random bits, hex; the key of the one-use mark.
    pub nonce: String,
    pub difficulty: u8,
    pub expires_at: DateTime<Utc>,
}

impl Challenge {
    /// A fresh challenge for `user` in `event`'s room at `difficulty`, valid for
    /// [`CHALLENGE_TTL_SECS`] from `now`.
    pub fn new(event: &str, user: &str, difficulty: u8, now: DateTime<Utc>) -> Self {
        Self {
            event: event.to_owned(),
            user: user.to_owned(),
            nonce: hex(&rand::random::<[u8; 16]>()),
            difficulty: difficulty.min(MAX_DIFFICULTY),
            expires_at: now + chrono::Duration::seconds(CHALLENGE_TTL_SECS),
        }
    }

    fn body(&self) -> String {
        format!(
            "{VERSION}.{}.{}.{}.{}.{}",
            self.event,
            self.user,
            self.nonce,
            self.difficulty,
            self.expires_at.timestamp()
        )
    }

    /// The text handed to the client: the statement and its signature.
    pub fn sign(&self, key: &ChallengeKey) -> String {
        let body = self.body();
        let mac = hex(&key.mac(&body));
        format!("{body}.{mac}")
    }

    /// Reads and checks a signed challenge: its signature, that it is for `event` and
    /// `user`, unexpired at `now`, at least as hard as `difficulty`, and that `counter`
    /// solves it.
    pub fn verify(
        key: &ChallengeKey,
        text: &str,
        counter: u64,
        expect: (&str, &str),
        difficulty: u8,
        now: DateTime<Utc>,
    ) -> Result<Challenge, ProofError> {
        let challenge = Self::open(key, text)?;
        let (event, user) = expect;
        if challenge.event != event || challenge.user != user {
            return Err(ProofError::NotYours);
        }
        if now > challenge.expires_at {
            return Err(ProofError::Expired);
        }
        if challenge.difficulty < difficulty {
            return Err(ProofError::TooEasy);
        }
        if !solves(text, counter, challenge.difficulty) {
            return Err(ProofError::Unsolved);
        }
        Ok(challenge)
    }

    /// The statement of a challenge we signed; nothing else about it is checked.
    pub fn open(key: &ChallengeKey, text: &str) -> Result<Challenge, ProofError> {
        let (body, mac) = text.rsplit_once('.').ok_or(ProofError::Malformed)?;
        let given = unhex(mac).ok_or(ProofError::Malformed)?;
        if !constant_time_eq(&given, &key.mac(body)) {
            return Err(ProofError::Malformed);
        }
        let parts: Vec<&str> = body.split('.').collect();
        let [VERSION, event, user, nonce, difficulty, expires] = parts[..] else {
            return Err(ProofError::Malformed);
        };
        let expires_at = expires
            .parse::<i64>()
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .ok_or(ProofError::Malformed)?;
        Ok(Challenge {
            event: event.to_owned(),
            user: user.to_owned(),
            nonce: nonce.to_owned(),
            difficulty: difficulty.parse().map_err(|_| ProofError::Malformed)?,
            expires_at,
        })
    }
}

/// The zero bits `SHA-256(challenge ":" counter)` starts with.
pub fn zero_bits(challenge: &str, counter: u64) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(challenge.as_bytes());
    hasher.update(b":");
    hasher.update(counter.to_string().as_bytes());
    leading_zero_bits(&hasher.finalize())
}

pub fn leading_zero_bits(digest: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in digest {
        if *byte == 0 {
            bits += 8;
        } else {
            return bits + byte.leading_zeros();
        }
    }
    bits
}

/// Whether `counter` solves `challenge` at `difficulty`.
pub fn solves(challenge: &str, counter: u64, difficulty: u8) -> bool {
    zero_bits(challenge, counter) >= u32::from(difficulty)
}

/// The first counter that solves `challenge` at `difficulty`, counting from 0, as the
/// browser's worker does: for the load generator, the benches and the tests.
pub fn solve(challenge: &str, difficulty: u8) -> u64 {
    let mut prefix = Sha256::new();
    prefix.update(challenge.as_bytes());
    prefix.update(b":");
    let mut buf = itoa_buf();
    (0u64..)
        .find(|counter| {
            let mut hasher = prefix.clone();
            hasher.update(decimal(*counter, &mut buf));
            leading_zero_bits(&hasher.finalize()) >= u32::from(difficulty)
        })
        .unwrap_or(u64::MAX)
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key() -> ChallengeKey {
        ChallengeKey::derive(&TokenKeys::new(b"proof-test-secret-of-32-bytes-or-more"))
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("a time")
    }

    #[test]
    fn a_solved_challenge_verifies_for_its_room_and_user_only() {
        let key = key();
        let challenge = Challenge::new("42", "user-a", 8, now());
        let text = challenge.sign(&key);
        let counter = solve(&text, 8);
        let ok = Challenge::verify(&key, &text, counter, ("42", "user-a"), 8, now());
        assert_eq!(ok, Ok(challenge));
        let verify = |expect, difficulty, at| {
            Challenge::verify(&key, &text, counter, expect, difficulty, at)
        };
        assert_eq!(
            verify(("43", "user-a"), 8, now()),
            Err(ProofError::NotYours)
        );
        assert_eq!(
            verify(("42", "user-b"), 8, now()),
            Err(ProofError::NotYours)
        );
        assert_eq!(verify(("42", "user-a"), 9, now()), Err(ProofError::TooEasy));
        let late = now() + chrono::Duration::seconds(CHALLENGE_TTL_SECS + 1);
        assert_eq!(verify(("42", "user-a"), 8, late), Err(ProofError::Expired));
        let unsolved = (0..)
            .find(|c| !solves(&text, *c, 8))
            .expect("some counter fails");
        assert_eq!(
            Challenge::verify(&key, &text, unsolved, ("42", "user-a"), 8, now()),
            Err(ProofError::Unsolved)
        );
    }

    #[test]
    fn another_secret_or_an_edited_statement_is_malformed() {
        let text = Challenge::new("42", "u", 4, now()).sign(&key());
        let other = ChallengeKey::derive(&TokenKeys::new(b"another-secret-of-at-least-32-bytes"));
        assert_eq!(Challenge::open(&other, &text), Err(ProofError::Malformed));
        let easier = text.replacen(".4.", ".0.", 1);
        assert_eq!(Challenge::open(&key(), &easier), Err(ProofError::Malformed));
        for junk in ["", ".", "v1.a.b", "zz", &text[..text.len() - 1]] {
            assert_eq!(Challenge::open(&key(), junk), Err(ProofError::Malformed));
        }
    }

    #[test]
    fn the_derived_key_is_stable_per_secret() {
        let text = Challenge::new("1", "u", 0, now()).sign(&key());
        assert!(Challenge::open(&key(), &text).is_ok());
    }

    #[test]
    fn known_hashes_count_their_zero_bits() {
        assert_eq!(leading_zero_bits(&[0, 0, 0x80]), 16);
        assert_eq!(leading_zero_bits(&[0, 0x01]), 15);
        assert_eq!(leading_zero_bits(&[0x40]), 1);
        assert_eq!(leading_zero_bits(&[0; 4]), 32);
        // SHA-256("abc:0") = 7ec6…, whose first byte 0x7e has one leading zero bit.
        assert_eq!(zero_bits("abc", 0), 1);
    }

    proptest! {
        /// `solve` finds the first counter a naive search by `zero_bits` finds.
        #[test]
        fn solve_matches_a_naive_search(seed in "[a-z0-9.]{1,40}", difficulty in 0u8..10) {
            let found = solve(&seed, difficulty);
            let naive = (0u64..).find(|c| zero_bits(&seed, *c) >= u32::from(difficulty));
            prop_assert_eq!(Some(found), naive);
        }

        /// Any statement verifies under its own key after signing, and a changed byte
        /// of the text never does.
        #[test]
        fn signatures_cover_every_byte(event in "[0-9]{1,6}", user in "[a-f0-9-]{1,36}", flip in 0usize..200) {
            let key = key();
            let text = Challenge::new(&event, &user, 0, now()).sign(&key);
            prop_assert!(Challenge::open(&key, &text).is_ok());
            let i = flip % text.len();
            let mut bytes = text.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let edited = String::from_utf8(bytes).expect("ascii");
            prop_assert!(Challenge::open(&key, &edited).is_err());
        }
    }
}
