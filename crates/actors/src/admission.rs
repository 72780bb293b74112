//! Admission: who may enter the seat map now, and who waits.
//!
//! The seed let a newcomer slip in under the threshold while others were still waiting
//! (`docs/architecture.md#the-design-urr-rebuilds`).
//! Here a newcomer is admitted at once only when there is room *and nobody waits*;
//! otherwise everyone goes through the line, and the line is served strictly from its
//! head, so admission order equals queue order.

use std::time::{Duration, Instant};

use crate::active::ActiveSet;
use crate::ids::UserId;
use crate::queue::{JoinResult, Place, Queue, QueueFull, QueuedUser};
use crate::queue_log::QueueLogRecord;

/// How one event admits people.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AdmissionConfig {
    /// Most users active at once.
    pub threshold: usize,
    /// Most users admitted per tick.
    pub batch: usize,
    /// An active user expires this long after their last heartbeat or action.
    pub active_ttl: Duration,
    /// A queued user is dropped this long after their last heartbeat.
    pub queue_ttl: Duration,
}

/// What [`Admission::join`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum JoinOutcome {
    /// The user is active: already (`newly_admitted: false`, their expiry refreshed), or
    /// admitted now because there was room and nobody waited (log
    /// [`QueueLogRecord::Admitted`]).
    Active {
        /// True when this call admitted them.
        newly_admitted: bool,
    },
    /// The user waits (when `is_new`, log [`QueueLogRecord::Joined`] with the `seq`).
    Queued(JoinResult),
}

/// Where a user stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum UserStatus {
    /// Admitted, until the given instant unless they heartbeat or act.
    Active {
        /// When the admission lapses without a sign of life.
        expires_at: Instant,
    },
    /// Waiting at this place.
    Queued(Place),
}

/// Where the user was when they left.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LeftFrom {
    /// They were waiting.
    Queue,
    /// They were active.
    Active,
}

/// One admission tick.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Tick {
    /// Active users whose admission lapsed (log [`QueueLogRecord::Expired`]).
    pub expired: Vec<UserId>,
    /// Users admitted from the head of the line, in order (log
    /// [`QueueLogRecord::Admitted`]).
    pub admitted: Vec<UserId>,
}

/// Counters for an operator's overview.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Overview {
    /// Users waiting now.
    pub waiting: usize,
    /// Users active now.
    pub active: usize,
    /// Newcomers who took a place in line.
    pub total_joined: u64,
    /// Users admitted, at once or from the line.
    pub total_admitted: u64,
    /// Users who left (from the line or the active set).
    pub total_left: u64,
    /// Queued users dropped for not heartbeating.
    pub total_dropped: u64,
    /// Active users whose admission expired.
    pub total_expired: u64,
}

/// The Tier-2 queue and the active set of one event, with the rule that joins them.
#[derive(Debug)]
pub struct Admission {
    config: AdmissionConfig,
    queue: Queue,
    active: ActiveSet,
    overview: Overview,
    /// Admitted from the line since the last tick, by the tick or as room freed
    /// ([`Self::admit_freed`]): never more than `batch` per tick, so room that frees
    /// between ticks is filled at once without passing the rate the settings give.
    admitted_since_tick: usize,
    /// False while there is nothing to admit people to (sold out): nobody is admitted,
    /// newcomers take a place and the line keeps its order until it opens again.
    open: bool,
}

impl Admission {
    /// Nobody waiting, nobody active.
    pub fn new(config: AdmissionConfig) -> Self {
        Self {
            config,
            queue: Queue::new(),
            active: ActiveSet::new(config.active_ttl),
            overview: Overview::default(),
            admitted_since_tick: 0,
            open: true,
        }
    }

    /// Rebuilds the state a log describes, in order. Heartbeats before the restart are
    /// unknown, so everyone restored counts as seen at `now`.
    pub fn restore(
        config: AdmissionConfig,
        records: impl IntoIterator<Item = QueueLogRecord>,
        now: Instant,
    ) -> Result<Self, QueueFull> {
        let mut admission = Self::new(config);
        for record in records {
            admission.apply(&record, now)?;
        }
        Ok(admission)
    }

    /// Replays one log record.
    pub fn apply(&mut self, record: &QueueLogRecord, now: Instant) -> Result<(), QueueFull> {
        let counters = &mut self.overview;
        match *record {
            QueueLogRecord::Joined { user, .. } => {
                if !self.active.contains(user) && !self.queue.contains(user) {
                    self.queue.apply(record, now)?;
                    counters.total_joined += 1;
                }
            }
            QueueLogRecord::Admitted { user } => {
                self.queue.leave(user);
                if self.active.insert(user, now) {
                    counters.total_admitted += 1;
                }
            }
            QueueLogRecord::Left { user } => {
                if self.queue.leave(user) | self.active.remove(user) {
                    counters.total_left += 1;
                }
            }
            QueueLogRecord::Dropped { user } => {
                if self.queue.leave(user) {
                    counters.total_dropped += 1;
                }
            }
            QueueLogRecord::Expired { user } => {
                if self.active.remove(user) {
                    counters.total_expired += 1;
                }
            }
        }
        Ok(())
    }

    /// A log that rebuilds the current state alone: the line in order, then the active
    /// users. Lets the actor compact its log.
    pub fn snapshot_log(&self) -> Vec<QueueLogRecord> {
        let queued = self.queue.iter().map(
            |QueuedUser {
                 user,
                 tier1_pos,
                 seq,
             }| QueueLogRecord::Joined {
                user,
                tier1_pos,
                seq,
            },
        );
        let active = self
            .active
            .iter()
            .map(|(user, _)| QueueLogRecord::Admitted { user });
        queued.chain(active).collect()
    }

    /// The configuration in force.
    pub fn config(&self) -> AdmissionConfig {
        self.config
    }

    /// Changes the configuration; it applies from the next call on.
    pub fn set_config(&mut self, config: AdmissionConfig) {
        self.config = config;
        self.active.set_ttl(config.active_ttl);
    }

    /// Opens or closes the doors: while closed nobody is admitted, at once or by a tick.
    /// The line itself is not touched, so opening again admits it in the same order.
    pub fn set_open(&mut self, open: bool) {
        self.open = open;
    }

    /// Whether anyone may be admitted now (see [`Self::set_open`]).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// A user asks to enter. Active users stay active; a newcomer is admitted at once
    /// only if the doors are open, there is room and nobody waits, else takes (or keeps) a
    /// place in line.
    pub fn join(
        &mut self,
        user: UserId,
        tier1_pos: Option<u64>,
        now: Instant,
    ) -> Result<JoinOutcome, QueueFull> {
        if self.active.refresh(user, now) {
            return Ok(JoinOutcome::Active {
                newly_admitted: false,
            });
        }
        if self.open && self.queue.is_empty() && self.active.len() < self.config.threshold {
            self.active.insert(user, now);
            self.overview.total_admitted += 1;
            return Ok(JoinOutcome::Active {
                newly_admitted: true,
            });
        }
        let joined = self.queue.join(user, tier1_pos, now)?;
        if joined.is_new {
            self.overview.total_joined += 1;
        }
        Ok(JoinOutcome::Queued(joined))
    }

    /// Where `user` stands, without counting as a sign of life.
    pub fn status(&self, user: UserId) -> Option<UserStatus> {
        if let Some(expires_at) = self.active.expires_at(user) {
            return Some(UserStatus::Active { expires_at });
        }
        self.queue.position(user).map(UserStatus::Queued)
    }

    /// A sign of life: keeps a queued user in line, or an active user's admission alive.
    pub fn heartbeat(&mut self, user: UserId, now: Instant) -> Option<UserStatus> {
        if !self.active.refresh(user, now) && !self.queue.touch(user, now) {
            return None;
        }
        self.status(user)
    }

    /// The user gives up their place or admission (log [`QueueLogRecord::Left`]).
    pub fn leave(&mut self, user: UserId) -> Option<LeftFrom> {
        let from = if self.active.remove(user) {
            LeftFrom::Active
        } else if self.queue.leave(user) {
            LeftFrom::Queue
        } else {
            return None;
        };
        self.overview.total_left += 1;
        Some(from)
    }

    /// The admission tick: first lapsed admissions expire (freeing room), then up to
    /// `min(batch, threshold - active)` users are admitted from the head of the line (none
    /// while the doors are closed).
    pub fn tick(&mut self, now: Instant) -> Tick {
        let expired = self.active.expire(now);
        self.overview.total_expired += expired.len() as u64;
        let room = if self.open {
            self.config.threshold.saturating_sub(self.active.len())
        } else {
            0
        };
        let admitted = self.queue.pop_front(self.config.batch.min(room));
        for &user in &admitted {
            self.active.insert(user, now);
        }
        self.overview.total_admitted += admitted.len() as u64;
        self.admitted_since_tick = admitted.len();
        Tick { expired, admitted }
    }

    /// Fills room that freed since the tick (a turn ended, someone left) from the head of
    /// the line at once, instead of at the next tick, as far as the tick's budget allows:
    /// with the tick's own admissions, at most `batch` per tick. None while the doors are
    /// closed. The admitted, in order (log [`QueueLogRecord::Admitted`]).
    pub fn admit_freed(&mut self, now: Instant) -> Vec<UserId> {
        if !self.open {
            return Vec::new();
        }
        let room = self.config.threshold.saturating_sub(self.active.len());
        let budget = self.config.batch.saturating_sub(self.admitted_since_tick);
        let admitted = self.queue.pop_front(room.min(budget));
        for &user in &admitted {
            self.active.insert(user, now);
        }
        self.admitted_since_tick += admitted.len();
        self.overview.total_admitted += admitted.len() as u64;
        admitted
    }

    /// [`Self::tick`], keeping only who was admitted.
    pub fn admit_batch(&mut self, now: Instant) -> Vec<UserId> {
        self.tick(now).admitted
    }

    /// Drops queued users who stopped heartbeating `queue_ttl` ago (log
    /// [`QueueLogRecord::Dropped`]).
    pub fn drop_stale(&mut self, now: Instant) -> Vec<UserId> {
        let dropped = self.queue.drop_stale(now, self.config.queue_ttl);
        self.overview.total_dropped += dropped.len() as u64;
        dropped
    }

    /// Counters for an overview.
    pub fn overview(&self) -> Overview {
        Overview {
            waiting: self.queue.len(),
            active: self.active.len(),
            ..self.overview
        }
    }

    /// The line, for reading.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// The active set, for reading.
    pub fn active(&self) -> &ActiveSet {
        &self.active
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn user(n: u128) -> UserId {
        UserId(Uuid::from_u128(n))
    }

    fn config(threshold: usize, batch: usize) -> AdmissionConfig {
        AdmissionConfig {
            threshold,
            batch,
            active_ttl: Duration::from_secs(60),
            queue_ttl: Duration::from_secs(30),
        }
    }

    #[test]
    fn admits_at_once_only_with_room_and_an_empty_line() {
        let t = Instant::now();
        let mut a = Admission::new(config(2, 10));
        let now_active = JoinOutcome::Active {
            newly_admitted: true,
        };
        assert_eq!(a.join(user(1), None, t).unwrap(), now_active);
        assert_eq!(a.join(user(2), None, t).unwrap(), now_active);
        // Full: the third waits.
        assert!(matches!(
            a.join(user(3), None, t).unwrap(),
            JoinOutcome::Queued(_)
        ));
        // Room again, but someone waits: the fourth must not overtake the third.
        a.leave(user(1));
        assert!(matches!(
            a.join(user(4), Some(1), t).unwrap(),
            JoinOutcome::Queued(_)
        ));
        // The Tier-1 user goes first, then the one who skipped Tier 1.
        assert_eq!(a.admit_batch(t), vec![user(4)]);
        a.leave(user(2));
        assert_eq!(a.admit_batch(t), vec![user(3)]);
        assert_eq!(
            a.join(user(3), None, t).unwrap(),
            JoinOutcome::Active {
                newly_admitted: false
            }
        );
        let o = a.overview();
        assert_eq!((o.waiting, o.active, o.total_admitted), (0, 2, 4));
        assert_eq!((o.total_joined, o.total_left), (2, 2));
    }

    #[test]
    fn room_freed_between_ticks_is_filled_at_once_within_the_ticks_budget() {
        let t = Instant::now();
        // Three active at most, two admitted per tick.
        let mut a = Admission::new(config(3, 2));
        for n in 0..3 {
            a.join(user(n), None, t).unwrap();
        }
        for n in 10..16 {
            a.join(user(n), None, t).unwrap();
        }
        // Full: a tick admits nobody, and with no room nobody is admitted between ticks.
        assert!(a.admit_batch(t).is_empty());
        assert!(a.admit_freed(t).is_empty());
        // A turn ends: the head of the line takes the place at once, not at the tick.
        a.leave(user(0));
        assert_eq!(a.admit_freed(t), vec![user(10)]);
        a.leave(user(1));
        assert_eq!(a.admit_freed(t), vec![user(11)]);
        // The tick's budget (2) is spent: more room waits for the next tick.
        a.leave(user(2));
        assert!(a.admit_freed(t).is_empty(), "the tick's budget is spent");
        assert_eq!(a.admit_batch(t), vec![user(12)]);
        // The tick admitted one of its two: one more may come in before the next.
        a.leave(user(10));
        a.leave(user(11));
        assert_eq!(a.admit_freed(t), vec![user(13)]);
        assert!(a.admit_freed(t).is_empty());
        assert_eq!(a.admit_batch(t), vec![user(14)]);
        // Closed doors (sold out): freed room is not filled.
        a.leave(user(12));
        a.set_open(false);
        assert!(a.admit_freed(t).is_empty());
        assert!(matches!(a.status(user(15)), Some(UserStatus::Queued(_))));
        let o = a.overview();
        assert_eq!((o.total_admitted, o.waiting), (8, 1));
    }

    #[test]
    fn tick_expires_first_then_admits_a_batch() {
        let t = Instant::now();
        let s = Duration::from_secs;
        let mut a = Admission::new(config(3, 2));
        for n in 0..3 {
            a.join(user(n), None, t).unwrap();
        }
        for n in 10..15 {
            a.join(user(n), None, t + s(1)).unwrap();
        }
        assert_eq!(a.tick(t + s(2)), Tick::default());
        // Keep user 0 alive; users 1 and 2 lapse at t + 60 s.
        assert!(a.heartbeat(user(0), t + s(30)).is_some());
        for n in 10..15 {
            a.heartbeat(user(n), t + s(50));
        }
        let tick = a.tick(t + s(60));
        assert_eq!(tick.expired, vec![user(1), user(2)]);
        assert_eq!(tick.admitted, vec![user(10), user(11)]);
        assert_eq!(
            a.status(user(12)),
            Some(UserStatus::Queued(Place {
                position: 1,
                people_ahead: 0,
                people_behind: 2
            }))
        );
        assert_eq!(a.drop_stale(t + s(80)), vec![user(12), user(13), user(14)]);
        assert_eq!(a.overview().total_dropped, 3);
        assert_eq!(a.status(user(12)), None);
    }

    #[test]
    fn closed_doors_admit_nobody_and_keep_the_line_in_order() {
        let t = Instant::now();
        let mut a = Admission::new(config(10, 10));
        a.join(user(1), None, t).unwrap();
        a.set_open(false);
        // Room for nine more, but nothing to admit them to.
        assert!(matches!(
            a.join(user(2), None, t).unwrap(),
            JoinOutcome::Queued(_)
        ));
        a.join(user(3), None, t).unwrap();
        assert_eq!(a.tick(t), Tick::default());
        // Whoever is in stays in.
        assert_eq!(
            a.join(user(1), None, t).unwrap(),
            JoinOutcome::Active {
                newly_admitted: false
            }
        );
        a.set_open(true);
        assert_eq!(a.admit_batch(t), vec![user(2), user(3)]);
    }

    #[test]
    fn snapshot_log_rebuilds_the_state() {
        let t = Instant::now();
        let mut a = Admission::new(config(1, 1));
        a.join(user(1), None, t).unwrap();
        a.join(user(2), None, t).unwrap();
        a.join(user(3), Some(4), t).unwrap();
        let restored = Admission::restore(a.config(), a.snapshot_log(), t).unwrap();
        assert_eq!(
            restored.queue().iter().collect::<Vec<_>>(),
            a.queue().iter().collect::<Vec<_>>()
        );
        assert!(restored.active().contains(user(1)));
        assert_eq!(restored.overview().waiting, 2);
    }

    /// The log the actor would write for `ops` (0: join, 1: leave, filling the place it
    /// frees, 2: tick, 3: expire everything), as the actor logs each outcome.
    fn logged(ops: &[(u8, u128)]) -> Vec<QueueLogRecord> {
        let t = Instant::now();
        let mut a = Admission::new(config(3, 2));
        let mut log = Vec::new();
        for &(op, n) in ops {
            let u = user(n);
            match op {
                0 => match a.join(u, Some(n as u64 % 7), t) {
                    Ok(JoinOutcome::Active {
                        newly_admitted: true,
                    }) => log.push(QueueLogRecord::Admitted { user: u }),
                    Ok(JoinOutcome::Queued(joined)) if joined.is_new => {
                        log.push(QueueLogRecord::Joined {
                            user: u,
                            tier1_pos: Some(n as u64 % 7),
                            seq: joined.seq,
                        })
                    }
                    _ => {}
                },
                1 => {
                    let left = a.leave(u);
                    if left.is_some() {
                        log.push(QueueLogRecord::Left { user: u });
                    }
                    if left == Some(LeftFrom::Active) {
                        for admitted in a.admit_freed(t) {
                            log.push(QueueLogRecord::Admitted { user: admitted });
                        }
                    }
                }
                2 => {
                    for admitted in a.admit_batch(t) {
                        log.push(QueueLogRecord::Admitted { user: admitted });
                    }
                }
                _ => {
                    for expired in a.tick(t + Duration::from_secs(3600)).expired {
                        log.push(QueueLogRecord::Expired { user: expired });
                    }
                }
            }
        }
        log
    }

    fn state_of(a: &Admission) -> (Vec<(UserId, Option<u64>)>, Vec<UserId>) {
        let line = a.queue().iter().map(|q| (q.user, q.tier1_pos)).collect();
        let mut active: Vec<UserId> = a.active().iter().map(|(u, _)| u).collect();
        active.sort();
        (line, active)
    }

    proptest::proptest! {
        /// The actor re-sends a log batch whose write timed out (it may have landed), so
        /// a batch can be in the log twice in a row; replay must end where it would with
        /// the batch once.
        #[test]
        fn a_batch_replayed_twice_in_a_row_ends_where_once_does(
            ops in proptest::collection::vec((0u8..4, 0u128..12), 1..80),
            start in 0usize..80,
            len in 1usize..12,
        ) {
            let log = logged(&ops);
            let start = start.min(log.len());
            let end = (start + len).min(log.len());
            let mut twice = log[..end].to_vec();
            twice.extend_from_slice(&log[start..end]);
            twice.extend_from_slice(&log[end..]);
            let t = Instant::now();
            let once = Admission::restore(config(3, 2), log.iter().copied(), t).unwrap();
            let again = Admission::restore(config(3, 2), twice, t).unwrap();
            proptest::prop_assert_eq!(state_of(&once), state_of(&again));
        }

        /// Whatever joins, leaves and ticks come, the tick and the room filled after it
        /// admit at most `batch` until the next tick, never past the threshold, and always
        /// the head of the line in its order.
        #[test]
        fn admissions_keep_the_rate_the_threshold_and_the_order(
            ops in proptest::collection::vec((0u8..3, 0u128..24), 1..200),
        ) {
            let t = Instant::now();
            let (threshold, batch) = (4, 3);
            let mut a = Admission::new(config(threshold, batch));
            let mut since_tick = 0;
            for (op, n) in ops {
                let u = user(n);
                let head: Vec<UserId> = a.queue().iter().map(|q| q.user).collect();
                let admitted = match op {
                    0 => {
                        a.join(u, Some(n as u64 % 5), t).unwrap();
                        Vec::new()
                    }
                    1 => match a.leave(u) {
                        Some(LeftFrom::Active) => a.admit_freed(t),
                        _ => Vec::new(),
                    },
                    _ => {
                        since_tick = 0;
                        a.admit_batch(t)
                    }
                };
                proptest::prop_assert_eq!(&admitted[..], &head[..admitted.len()]);
                since_tick += admitted.len();
                proptest::prop_assert!(since_tick <= batch);
                proptest::prop_assert!(a.active().len() <= threshold);
            }
        }
    }
}
