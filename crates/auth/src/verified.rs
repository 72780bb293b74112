//! Access tokens that verified, kept so the same token is not checked again on every
//! request (`docs/architecture.md#accounts-and-tokens`).
//!
//! Why this weakens nothing: an HS256 check is a pure function of the token's bytes and
//! the key (the signature, the algorithm, the claims' shape), plus the clock for `exp`.
//! A token byte-for-byte equal to one that verified under the same key verifies again,
//! with the same claims, until it expires. So the cache
//! - belongs to one [`crate::TokenKeys`] (one key): a new secret is a new `TokenKeys` and
//!   an empty cache;
//! - answers only for the whole token: the lookup goes by a keyed hash, and a hit is only
//!   a hit when every byte of the stored token equals the presented one (compared in
//!   constant time, so how much of someone else's token a guess shares does not show);
//! - checks `exp` against the clock on every hit, with the leeway of the full check, and
//!   answers a token past it as expired, as the full check would;
//! - holds only tokens that passed the full check, so garbage or forged tokens never take
//!   a place in it, and it holds [`AccessClaims`] only (queue, email-link and invitation
//!   tokens are checked in full each time);
//! - is bounded: a fixed number of places, given out on first use, the oldest in a set
//!   giving way to a newcomer.
//!
//! Access tokens cannot be revoked before they expire (signing out revokes the refresh
//! family; `docs/architecture.md#accounts-and-tokens`), and the roles that gate operator
//! and door calls are read from the account on each of those calls, so a cached token
//! carries no right that the full check would not grant on the same request.

use std::hash::BuildHasher;
use std::sync::{Mutex, OnceLock};

use subtle::ConstantTimeEq;

use crate::AuthError;
use crate::tokens::AccessClaims;

/// Places per set: a token can sit in any place of the set its hash picks, so a few
/// tokens sharing a set do not push each other out.
const WAYS: usize = 4;

/// Sets in a node's cache: 4,096 × 4 = 16,384 tokens, about 6 MB when full (a token of
/// ~270 bytes and its claims). Enough for every active caller of an edge between two
/// refreshes; past that the oldest give way and are checked in full again.
pub(crate) const SETS: usize = 4_096;

/// The verified access tokens of one key.
pub(crate) struct VerifiedTokens {
    /// SipHash with keys drawn for this cache: a caller cannot pick which set its tokens
    /// land in, so cannot aim its own valid tokens at someone else's place.
    hasher: std::collections::hash_map::RandomState,
    sets: usize,
    /// Allocated on the first access token checked: most `TokenKeys` (tools, tests, the
    /// Tier-1 Lambda's) never check one often.
    places: OnceLock<Box<[Mutex<Set>]>>,
}

#[derive(Default)]
struct Set {
    ways: [Option<Entry>; WAYS],
    /// The way a newcomer takes when no way is free or expired: first in, first out.
    next: usize,
}

struct Entry {
    hash: u64,
    token: Box<[u8]>,
    claims: AccessClaims,
}

impl VerifiedTokens {
    /// A cache of `sets` × [`WAYS`] tokens; `sets` is rounded up to a power of two.
    pub(crate) fn new(sets: usize) -> Self {
        Self {
            hasher: std::collections::hash_map::RandomState::new(),
            sets: sets.max(1).next_power_of_two(),
            places: OnceLock::new(),
        }
    }

    fn set(&self, hash: u64) -> &Mutex<Set> {
        let places = self
            .places
            .get_or_init(|| (0..self.sets).map(|_| Mutex::default()).collect());
        // `sets` is a power of two.
        &places[hash as usize & (self.sets - 1)]
    }

    /// The claims of `token` if it verified before: `Ok` while it has not expired at
    /// `now` (seconds since the epoch) give or take `leeway`, `Expired` after; `None` when
    /// it is not here and needs the full check.
    pub(crate) fn get(
        &self,
        token: &str,
        now: u64,
        leeway: u64,
    ) -> Option<Result<AccessClaims, AuthError>> {
        let hash = self.hasher.hash_one(token.as_bytes());
        // A poisoned lock only means another thread panicked mid-update: the worst it left
        // is a half-replaced place, which `same` below still refuses unless whole.
        let mut set = self.set(hash).lock().unwrap_or_else(|p| p.into_inner());
        let way = set.ways.iter().position(|entry| {
            entry
                .as_ref()
                .is_some_and(|e| e.hash == hash && same(&e.token, token.as_bytes()))
        })?;
        let entry = set.ways[way].as_ref()?;
        if expired(entry.claims.exp, now, leeway) {
            set.ways[way] = None;
            return Some(Err(AuthError::Expired));
        }
        Some(Ok(entry.claims.clone()))
    }

    /// Keeps `claims`, which `token` verified to just now with the full check.
    pub(crate) fn insert(&self, token: &str, claims: &AccessClaims, now: u64, leeway: u64) {
        let hash = self.hasher.hash_one(token.as_bytes());
        let mut set = self.set(hash).lock().unwrap_or_else(|p| p.into_inner());
        let mut free = None;
        for (way, entry) in set.ways.iter().enumerate() {
            match entry {
                // Two requests with the same token checked it at once: one place is enough.
                Some(e) if e.hash == hash && same(&e.token, token.as_bytes()) => return,
                Some(e) if !expired(e.claims.exp, now, leeway) => {}
                _ => free = free.or(Some(way)),
            }
        }
        let way = free.unwrap_or_else(|| {
            let way = set.next;
            set.next = (way + 1) % WAYS;
            way
        });
        set.ways[way] = Some(Entry {
            hash,
            token: token.as_bytes().into(),
            claims: claims.clone(),
        });
    }

    /// Tokens held now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.places.get().map_or(0, |places| {
            places
                .iter()
                .map(|set| {
                    let set = set.lock().unwrap_or_else(|p| p.into_inner());
                    set.ways.iter().flatten().count()
                })
                .sum()
        })
    }

    /// The most tokens it can hold.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.sets * WAYS
    }
}

/// Whether a token whose `exp` is `exp` is past it at `now`: exactly the full check's
/// rule (`jsonwebtoken`'s `exp < now - leeway`), so a cached token expires when an
/// uncached one would.
fn expired(exp: i64, now: u64, leeway: u64) -> bool {
    // A verified token's `exp` is a non-negative integer (the full check refuses others).
    u64::try_from(exp).map_or(true, |exp| exp < now.saturating_sub(leeway))
}

/// The whole token, byte for byte, in time that depends only on its length.
fn same(stored: &[u8], presented: &[u8]) -> bool {
    stored.ct_eq(presented).into()
}
