//! The admitted ("active") users of one event, each with an expiry.
//!
//! Admission is capped by how many are active at once, so a user who walks away must
//! stop counting: each admitted user expires `ttl` after they last heartbeat or acted.
//! Expiry is swept explicitly ([`ActiveSet::expire`]) on the actor's tick, so the actor
//! learns exactly who expired and can log and announce it.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::ids::UserId;
use crate::time::deadline;

/// Admitted users with their expiry.
#[derive(Debug, Clone)]
pub struct ActiveSet {
    ttl: Duration,
    expires_at: HashMap<UserId, Instant>,
    /// The same pairs ordered by expiry, so a sweep touches only the expired ones.
    by_expiry: BTreeSet<(Instant, UserId)>,
}

impl ActiveSet {
    /// An empty set whose members expire `ttl` after their last sign of life.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            expires_at: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    /// The TTL members get on admission and on each refresh.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Changes the TTL for future admissions and refreshes.
    pub fn set_ttl(&mut self, ttl: Duration) {
        self.ttl = ttl;
    }

    /// Admits `user` (or refreshes them if already active); true if they are new.
    pub fn insert(&mut self, user: UserId, now: Instant) -> bool {
        let new_expiry = deadline(now, self.ttl);
        let old = self.expires_at.insert(user, new_expiry);
        if let Some(old) = old {
            self.by_expiry.remove(&(old, user));
        }
        self.by_expiry.insert((new_expiry, user));
        old.is_none()
    }

    /// Extends an active user's life after a heartbeat or an action; false if not active.
    pub fn refresh(&mut self, user: UserId, now: Instant) -> bool {
        if !self.contains(user) {
            return false;
        }
        self.insert(user, now);
        true
    }

    /// Removes `user`; false if not active.
    pub fn remove(&mut self, user: UserId) -> bool {
        match self.expires_at.remove(&user) {
            Some(at) => {
                self.by_expiry.remove(&(at, user));
                true
            }
            None => false,
        }
    }

    /// Removes and returns everyone whose expiry is at or before `now`, earliest first.
    pub fn expire(&mut self, now: Instant) -> Vec<UserId> {
        let mut expired = Vec::new();
        while let Some(&(at, user)) = self.by_expiry.first() {
            if at > now {
                break;
            }
            self.by_expiry.pop_first();
            self.expires_at.remove(&user);
            expired.push(user);
        }
        expired
    }

    /// Whether `user` is active (until swept, even past their expiry).
    pub fn contains(&self, user: UserId) -> bool {
        self.expires_at.contains_key(&user)
    }

    /// When `user` expires, if active.
    pub fn expires_at(&self, user: UserId) -> Option<Instant> {
        self.expires_at.get(&user).copied()
    }

    /// Active users.
    pub fn len(&self) -> usize {
        self.expires_at.len()
    }

    /// Whether nobody is active.
    pub fn is_empty(&self) -> bool {
        self.expires_at.is_empty()
    }

    /// Active users with their expiry, earliest expiry first.
    pub fn iter(&self) -> impl Iterator<Item = (UserId, Instant)> + '_ {
        self.by_expiry.iter().map(|&(at, user)| (user, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn user(n: u128) -> UserId {
        UserId(Uuid::from_u128(n))
    }

    #[test]
    fn members_expire_unless_refreshed() {
        let t = Instant::now();
        let s = Duration::from_secs;
        let mut set = ActiveSet::new(s(10));
        assert!(set.insert(user(1), t));
        assert!(set.insert(user(2), t + s(1)));
        assert!(!set.insert(user(2), t + s(1)));
        assert!(set.refresh(user(1), t + s(5)));
        assert!(!set.refresh(user(3), t + s(5)));
        assert_eq!(set.expire(t + s(10)), vec![]);
        assert_eq!(set.expire(t + s(11)), vec![user(2)]);
        assert_eq!(set.expires_at(user(1)), Some(t + s(15)));
        assert_eq!(set.len(), 1);
        assert!(set.remove(user(1)));
        assert!(!set.remove(user(1)));
        assert!(set.is_empty());
        assert_eq!(set.expire(t + s(100)), vec![]);
    }

    #[test]
    fn an_absurd_ttl_does_not_panic() {
        let mut set = ActiveSet::new(Duration::MAX);
        let t = Instant::now();
        set.insert(user(1), t);
        assert_eq!(set.expire(t + Duration::from_secs(3600)), vec![]);
    }
}
