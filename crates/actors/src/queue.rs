//! The Tier-2 waiting line of one event.
//!
//! Fairness rule: people who came through Tier 1 are served in Tier-1 order, ahead of
//! everyone who skipped it; people without a Tier-1 position follow in arrival order. A
//! person holds one place: asking again never moves them.
//!
//! Layout, for a million people in under 64 bytes each (measured: about 60):
//! - a chunked slab of 44-byte entries: who, sort key, last heartbeat, touch-list links;
//! - a `HashTable<u32>` from user to entry handle, hashing through the entry, so the
//!   16-byte user id is stored once;
//! - a counted B+tree of handles in admission order, which answers "how many are ahead
//!   of me" exactly in O(log n);
//! - an intrusive doubly-linked list through the entries in heartbeat order: a heartbeat
//!   moves the entry to the newest end, so stale people are always at the oldest end and
//!   dropping them costs O(log n) each, with no scan.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use hashbrown::HashTable;

use crate::ids::UserId;
use crate::order_tree::OrderTree;
use crate::slab::Slab;

/// "No entry" in the touch list.
const NIL: u32 = u32::MAX;
/// The sort key of people without a Tier-1 position: after every real position.
const NO_POSITION: u64 = u64::MAX;
/// Heartbeat stamps are u32 milliseconds from a base instant; once that overflows (after
/// about 49 days) the base moves forward and the stamps are shifted by this much less.
const REBASE_KEEP_MS: u64 = 1 << 31;

/// A place in the line.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Place {
    /// 1-based: the head of the line is at position 1.
    pub position: u64,
    /// People admitted before this one, if nobody leaves.
    pub people_ahead: u64,
    /// People who will be admitted after this one.
    pub people_behind: u64,
}

impl Place {
    fn at(rank: usize, len: usize) -> Self {
        let rank = rank as u64;
        let len = len as u64;
        Self {
            position: rank + 1,
            people_ahead: rank,
            people_behind: len.saturating_sub(rank + 1),
        }
    }
}

/// What [`Queue::join`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct JoinResult {
    /// False when the user already had a place, which was kept.
    pub is_new: bool,
    /// The arrival sequence number of the user's place: the durable log records it so a
    /// restarted queue rebuilds the same order.
    pub seq: u64,
    /// The place now.
    pub place: Place,
}

/// A queued person, as iterated in admission order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct QueuedUser {
    /// Who.
    pub user: UserId,
    /// Their Tier-1 position, if they came through Tier 1.
    pub tier1_pos: Option<u64>,
    /// Their arrival sequence number.
    pub seq: u64,
}

/// The queue cannot hold more people (its handle space is exhausted; far beyond any
/// real on-sale, but refused rather than corrupting the order).
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("the queue is full ({0} people)")]
pub struct QueueFull(pub usize);

/// Two u32 halves of a u64: keeps [`Entry`] 4-byte aligned, so it packs into 44 bytes
/// instead of padding to 48.
#[derive(Clone, Copy, Debug)]
struct U64Halves([u32; 2]);

impl U64Halves {
    fn new(value: u64) -> Self {
        Self([(value >> 32) as u32, value as u32])
    }

    fn get(self) -> u64 {
        (u64::from(self.0[0]) << 32) | u64::from(self.0[1])
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    user: UserId,
    /// The Tier-1 position, or [`NO_POSITION`].
    tier1: U64Halves,
    seq: U64Halves,
    /// Last heartbeat, in ms from the queue's time base.
    touched: u32,
    /// Neighbours in heartbeat order ([`NIL`] at the ends).
    older: u32,
    newer: u32,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 44);

/// Admission order: Tier-1 position (none = last), then arrival, then the user id, which
/// keeps the order total even if a damaged log repeats a sequence number.
type SortKey = (u64, u64, UserId);

impl Entry {
    fn key(&self) -> SortKey {
        (self.tier1.get(), self.seq.get(), self.user)
    }

    fn tier1_pos(&self) -> Option<u64> {
        let pos = self.tier1.get();
        (pos != NO_POSITION).then_some(pos)
    }
}

/// The Tier-2 waiting line of one event; see the module docs.
#[derive(Debug)]
pub struct Queue {
    entries: Slab<Entry>,
    by_user: HashTable<u32>,
    hasher: RandomState,
    order: OrderTree<SortKey>,
    /// Ends of the heartbeat-order list.
    oldest: u32,
    newest: u32,
    next_seq: u64,
    /// Instant that heartbeat stamps count from; set by the first call that passes `now`.
    time_base: Option<Instant>,
    /// The latest stamp handed out: time never runs backwards inside the queue, so the
    /// heartbeat list stays sorted even if a caller passes an earlier `now`.
    latest_ms: u32,
}

impl Default for Queue {
    fn default() -> Self {
        Self::new()
    }
}

impl Queue {
    /// Most people one queue holds.
    pub const MAX_LEN: usize = (u32::MAX - 1) as usize;

    /// An empty queue.
    pub fn new() -> Self {
        Self {
            entries: Slab::default(),
            by_user: HashTable::new(),
            hasher: RandomState::new(),
            order: OrderTree::new(),
            oldest: NIL,
            newest: NIL,
            next_seq: 0,
            time_base: None,
            latest_ms: 0,
        }
    }

    /// People waiting.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nobody waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `user` has a place.
    pub fn contains(&self, user: UserId) -> bool {
        self.find(user).is_some()
    }

    /// The sequence number the next newcomer gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Puts `user` in line, or, if they already have a place, keeps it (a repeated join
    /// counts as a heartbeat; a different `tier1_pos` the second time is ignored, so
    /// nobody improves their place by asking again).
    ///
    /// A Tier-1 position of `u64::MAX` counts as `u64::MAX - 1`: that value marks "no
    /// position" internally, and no Tier-1 counter gets there.
    pub fn join(
        &mut self,
        user: UserId,
        tier1_pos: Option<u64>,
        now: Instant,
    ) -> Result<JoinResult, QueueFull> {
        self.insert(user, tier1_pos, self.next_seq, now)
    }

    /// Inserts with a given sequence number (a new one, or a replayed log record's; later
    /// newcomers are numbered after it), or, if the user is already in line, refreshes
    /// their heartbeat and keeps their place.
    pub(crate) fn insert(
        &mut self,
        user: UserId,
        tier1_pos: Option<u64>,
        seq: u64,
        now: Instant,
    ) -> Result<JoinResult, QueueFull> {
        let stamp = self.stamp(now);
        if let Some(slot) = self.find(user) {
            self.touch_slot(slot, stamp);
            let entry = *self.entries.get(slot);
            return Ok(JoinResult {
                is_new: false,
                seq: entry.seq.get(),
                place: self.place_of(slot),
            });
        }
        if self.len() >= Self::MAX_LEN {
            return Err(QueueFull(self.len()));
        }
        let entry = Entry {
            user,
            tier1: U64Halves::new(tier1_pos.map_or(NO_POSITION, |p| p.min(NO_POSITION - 1))),
            seq: U64Halves::new(seq),
            touched: stamp,
            older: NIL,
            newer: NIL,
        };
        let slot = self.entries.insert(entry).ok_or(QueueFull(self.len()))?;
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.by_user
            .insert_unique(hasher.hash_one(user), slot, |&s| {
                hasher.hash_one(entries.get(s).user)
            });
        let entries = &self.entries;
        let rank = self
            .order
            .insert(slot, entry.key(), &|x| entries.get(x).key());
        self.push_newest(slot);
        if seq >= self.next_seq {
            self.next_seq = seq.saturating_add(1);
        }
        Ok(JoinResult {
            is_new: true,
            seq,
            place: Place::at(rank, self.len()),
        })
    }

    /// The user's exact place, if they have one.
    pub fn position(&self, user: UserId) -> Option<Place> {
        self.find(user).map(|slot| self.place_of(slot))
    }

    /// Takes `user` out of line; false if they had no place.
    pub fn leave(&mut self, user: UserId) -> bool {
        match self.find(user) {
            Some(slot) => {
                self.remove_slot(slot, true);
                true
            }
            None => false,
        }
    }

    /// Records a heartbeat, so the user is not dropped as stale; false if they have no
    /// place.
    pub fn touch(&mut self, user: UserId, now: Instant) -> bool {
        let stamp = self.stamp(now);
        match self.find(user) {
            Some(slot) => {
                self.touch_slot(slot, stamp);
                true
            }
            None => false,
        }
    }

    /// Drops everyone whose last heartbeat is `ttl` or more before `now` (millisecond
    /// precision), oldest heartbeat first.
    pub fn drop_stale(&mut self, now: Instant, ttl: Duration) -> Vec<UserId> {
        let now_ms = u64::from(self.stamp(now));
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let mut dropped = Vec::new();
        while self.oldest != NIL {
            let entry = *self.entries.get(self.oldest);
            if u64::from(entry.touched).saturating_add(ttl_ms) > now_ms {
                break;
            }
            self.remove_slot(self.oldest, true);
            dropped.push(entry.user);
        }
        dropped
    }

    /// Takes up to `k` people from the head of the line, in order.
    pub fn pop_front(&mut self, k: usize) -> Vec<UserId> {
        let mut admitted = Vec::with_capacity(k.min(self.len()));
        while admitted.len() < k {
            let entries = &self.entries;
            let Some(slot) = self.order.pop_first(&|x| entries.get(x).key()) else {
                break;
            };
            admitted.push(self.entries.get(slot).user);
            self.remove_slot(slot, false);
        }
        admitted
    }

    /// Everyone in line, in admission order.
    pub fn iter(&self) -> impl Iterator<Item = QueuedUser> + '_ {
        self.order.iter().map(|slot| {
            let entry = self.entries.get(slot);
            QueuedUser {
                user: entry.user,
                tier1_pos: entry.tier1_pos(),
                seq: entry.seq.get(),
            }
        })
    }

    fn find(&self, user: UserId) -> Option<u32> {
        self.by_user
            .find(self.hasher.hash_one(user), |&s| {
                self.entries.get(s).user == user
            })
            .copied()
    }

    fn place_of(&self, slot: u32) -> Place {
        let key = self.entries.get(slot).key();
        // Every live entry is in the order tree, so the rank is always found.
        let rank = self.order.rank(slot, &key).unwrap_or(0);
        Place::at(rank, self.len())
    }

    /// Unlinks `slot` from every index. `in_order` is false when the order tree already
    /// gave it up (popped from the head).
    fn remove_slot(&mut self, slot: u32, in_order: bool) {
        let entry = *self.entries.get(slot);
        if in_order {
            let entries = &self.entries;
            self.order
                .remove(slot, &entry.key(), &|x| entries.get(x).key());
        }
        self.unlink(slot);
        if let Ok(found) = self
            .by_user
            .find_entry(self.hasher.hash_one(entry.user), |&s| s == slot)
        {
            found.remove();
        }
        self.entries.remove(slot);
    }

    fn touch_slot(&mut self, slot: u32, stamp: u32) {
        self.unlink(slot);
        self.entries.get_mut(slot).touched = stamp;
        self.push_newest(slot);
    }

    fn unlink(&mut self, slot: u32) {
        let Entry { older, newer, .. } = *self.entries.get(slot);
        if older == NIL {
            self.oldest = newer;
        } else {
            self.entries.get_mut(older).newer = newer;
        }
        if newer == NIL {
            self.newest = older;
        } else {
            self.entries.get_mut(newer).older = older;
        }
        let entry = self.entries.get_mut(slot);
        entry.older = NIL;
        entry.newer = NIL;
    }

    fn push_newest(&mut self, slot: u32) {
        let newest = self.newest;
        {
            let entry = self.entries.get_mut(slot);
            entry.older = newest;
            entry.newer = NIL;
        }
        if newest == NIL {
            self.oldest = slot;
        } else {
            self.entries.get_mut(newest).newer = slot;
        }
        self.newest = slot;
    }

    /// Milliseconds from the time base, never less than a stamp already handed out.
    fn stamp(&mut self, now: Instant) -> u32 {
        let base = *self.time_base.get_or_insert(now);
        let mut ms =
            u64::try_from(now.saturating_duration_since(base).as_millis()).unwrap_or(u64::MAX);
        if ms > u64::from(u32::MAX) {
            let shift = ms - REBASE_KEEP_MS;
            self.rebase(base, shift);
            ms = REBASE_KEEP_MS;
        }
        let ms = u32::try_from(ms).unwrap_or(u32::MAX);
        self.latest_ms = self.latest_ms.max(ms);
        self.latest_ms
    }

    /// Moves the time base `shift_ms` forward. Stamps older than the new base become the
    /// base itself; only a TTL over ~24 days could tell the difference.
    fn rebase(&mut self, base: Instant, shift_ms: u64) {
        self.time_base = Some(
            base.checked_add(Duration::from_millis(shift_ms))
                .unwrap_or(base),
        );
        let shift =
            |stamp: u32| u32::try_from(u64::from(stamp).saturating_sub(shift_ms)).unwrap_or(0);
        self.latest_ms = shift(self.latest_ms);
        let mut slot = self.oldest;
        while slot != NIL {
            let entry = self.entries.get_mut(slot);
            entry.touched = shift(entry.touched);
            slot = entry.newer;
        }
    }

    /// Checks every index against the others; for tests.
    #[cfg(test)]
    pub(crate) fn check(&self) {
        self.order.check(&|x| self.entries.get(x).key());
        assert_eq!(self.order.len(), self.len());
        assert_eq!(self.by_user.len(), self.len());
        let mut seen = 0;
        let mut slot = self.oldest;
        let mut prev = NIL;
        let mut last_stamp = 0;
        while slot != NIL {
            let entry = self.entries.get(slot);
            assert_eq!(entry.older, prev);
            assert!(entry.touched >= last_stamp, "heartbeat list out of order");
            last_stamp = entry.touched;
            assert_eq!(self.find(entry.user), Some(slot));
            prev = slot;
            slot = entry.newer;
            seen += 1;
        }
        assert_eq!(prev, self.newest);
        assert_eq!(seen, self.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn user(n: u128) -> UserId {
        UserId(Uuid::from_u128(n))
    }

    fn order(q: &Queue) -> Vec<UserId> {
        q.iter().map(|u| u.user).collect()
    }

    #[test]
    fn tier1_people_come_first_then_arrival() {
        let t = Instant::now();
        let mut q = Queue::new();
        q.join(user(1), None, t).unwrap();
        q.join(user(2), Some(50), t).unwrap();
        q.join(user(3), Some(10), t).unwrap();
        q.join(user(4), None, t).unwrap();
        q.join(user(5), Some(50), t).unwrap();
        assert_eq!(order(&q), vec![user(3), user(2), user(5), user(1), user(4)]);
        let place = q.position(user(1)).unwrap();
        assert_eq!(
            place,
            Place {
                position: 4,
                people_ahead: 3,
                people_behind: 1
            }
        );
        q.check();
    }

    #[test]
    fn joining_again_keeps_the_place() {
        let t = Instant::now();
        let mut q = Queue::new();
        let first = q.join(user(1), None, t).unwrap();
        q.join(user(2), Some(1), t).unwrap();
        let again = q.join(user(1), Some(0), t).unwrap();
        assert!(first.is_new);
        assert!(!again.is_new);
        assert_eq!(again.seq, first.seq);
        assert_eq!(again.place.position, 2);
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn extreme_tier1_positions_stay_ahead_of_people_without_one() {
        let t = Instant::now();
        let mut q = Queue::new();
        q.join(user(1), None, t).unwrap();
        q.join(user(2), Some(u64::MAX), t).unwrap();
        q.join(user(3), Some(u64::MAX - 1), t).unwrap();
        assert_eq!(order(&q), vec![user(2), user(3), user(1)]);
        assert_eq!(q.iter().next().unwrap().tier1_pos, Some(u64::MAX - 1));
    }

    #[test]
    fn stale_people_are_dropped_oldest_first() {
        let t = Instant::now();
        let ms = Duration::from_millis;
        let mut q = Queue::new();
        q.join(user(1), None, t).unwrap();
        q.join(user(2), None, t + ms(10)).unwrap();
        q.join(user(3), None, t + ms(20)).unwrap();
        assert!(q.touch(user(1), t + ms(30)));
        assert!(!q.touch(user(9), t + ms(30)));
        assert_eq!(q.drop_stale(t + ms(105), ms(100)), vec![]);
        assert_eq!(q.drop_stale(t + ms(110), ms(100)), vec![user(2)]);
        assert_eq!(q.drop_stale(t + ms(125), ms(100)), vec![user(3)]);
        assert_eq!(order(&q), vec![user(1)]);
        q.check();
    }

    #[test]
    fn time_going_backwards_does_not_break_staleness() {
        let t = Instant::now() + Duration::from_secs(10);
        let mut q = Queue::new();
        q.join(user(1), None, t).unwrap();
        q.join(user(2), None, t - Duration::from_secs(5)).unwrap();
        q.check();
        // The earlier `now` counts as the latest one seen.
        assert_eq!(q.drop_stale(t, Duration::ZERO), vec![user(1), user(2)]);
    }

    #[test]
    fn stamps_survive_the_u32_millisecond_wraparound() {
        let t = Instant::now();
        let day = Duration::from_secs(86_400);
        let mut q = Queue::new();
        q.join(user(1), None, t).unwrap();
        q.join(user(2), None, t + day * 30).unwrap();
        q.join(user(3), None, t + day * 60).unwrap();
        q.check();
        assert_eq!(q.drop_stale(t + day * 61, day * 2), vec![user(1), user(2)]);
        assert_eq!(
            q.drop_stale(t + day * 61 + Duration::from_secs(1), day),
            vec![user(3)]
        );
        assert!(q.is_empty());
    }

    #[test]
    fn pop_front_admits_in_order_and_frees_places() {
        let t = Instant::now();
        let mut q = Queue::new();
        for i in 0..1000u128 {
            let pos = (i % 3 != 0).then_some(1000 - i as u64);
            q.join(user(i), pos, t).unwrap();
        }
        let expected: Vec<UserId> = order(&q);
        let mut admitted = Vec::new();
        while !q.is_empty() {
            admitted.extend(q.pop_front(37));
            q.check();
        }
        assert_eq!(admitted, expected);
        assert!(q.pop_front(5).is_empty());
        assert_eq!(q.position(user(1)), None);
        // Reused slots keep working.
        q.join(user(5), None, t).unwrap();
        assert_eq!(q.position(user(5)).unwrap().position, 1);
        q.check();
    }
}
