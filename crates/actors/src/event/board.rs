//! What readers read without the mailbox (`docs/architecture.md#status-board`): the
//! line's standing and the seat map as announced.
//!
//! A status is the most frequent call of a sale: everyone waiting asks every few seconds.
//! The actor stays the single writer of its admission, but keeps it here, behind a
//! read-write lock that only the actor writes through, so any thread answers a status
//! under a read lock in about a microsecond instead of a mailbox round trip.
//!
//! Asking is also a heartbeat, which is a write. A reader notes it in one of a few
//! sharded buffers; the actor applies them at the start of each tick, before it expires
//! anyone, so a heartbeat noted here counts exactly as one the actor took itself.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use super::published_seats::PublishedSeats;
use super::settings::QueueSettings;
use super::views::{QueueView, SeatStateView};
use crate::admission::{Admission, UserStatus};
use crate::ids::UserId;

/// Heartbeat buffers: readers on different threads rarely meet on one.
const HEARTBEAT_SHARDS: usize = 16;

pub struct StatusBoard {
    standing: RwLock<Standing>,
    heartbeats: [Mutex<Vec<(UserId, Instant)>>; HEARTBEAT_SHARDS],
    /// The seat map as announced, for the compact map (`published_seats`).
    seats: RwLock<PublishedSeats>,
}

/// What a status is answered from; written only by the event's actor.
pub(super) struct Standing {
    pub(super) admission: Admission,
    /// Users admitted in memory whose `Admitted` record is not yet in the log: nobody is
    /// told they are in (nor given an entry token) before it is, since a crash would put
    /// them back in line. Their status is the actor's to answer, after the write.
    pub(super) undurable_admissions: HashSet<UserId>,
    /// Everything is sold, as of the actor's last message.
    pub(super) sold_out: bool,
    pub(super) settings: QueueSettings,
}

impl Standing {
    /// `user`'s standing, told the way a status answers it.
    pub(super) fn view(&self, user: UserId, sold_out: bool, now: Instant) -> QueueView {
        match self.admission.status(user) {
            Some(UserStatus::Active { expires_at }) => QueueView::Active {
                expires_in: expires_at.saturating_duration_since(now),
                sold_out,
            },
            Some(UserStatus::Queued(place)) => {
                let rate = self.settings.admissions_per_sec();
                let wait = if rate > 0.0 {
                    Duration::from_secs_f64(place.people_ahead as f64 / rate)
                } else {
                    Duration::MAX
                };
                QueueView::Queued {
                    position: place.position,
                    people_ahead: place.people_ahead,
                    people_behind: place.people_behind,
                    estimated_wait: wait,
                    heartbeat_within: self.settings.queue_ttl,
                    sold_out,
                }
            }
            None => QueueView::Absent { sold_out },
        }
    }
}

impl StatusBoard {
    /// A board for an actor about to start: an empty line under `settings`.
    pub(super) fn new(settings: QueueSettings) -> Self {
        Self {
            standing: RwLock::new(Standing {
                admission: Admission::new(settings.admission()),
                undurable_admissions: HashSet::new(),
                sold_out: false,
                settings,
            }),
            heartbeats: std::array::from_fn(|_| Mutex::new(Vec::new())),
            seats: RwLock::new(PublishedSeats::new(0, [])),
        }
    }

    /// The seat map as announced so far.
    pub(super) fn seat_state(&self) -> SeatStateView {
        self.seats
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .view()
    }

    /// The actor's write access to the published seats, on the terms of [`Self::write`].
    pub(super) fn seats_mut(&self) -> RwLockWriteGuard<'_, PublishedSeats> {
        self.seats.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn read(&self) -> RwLockReadGuard<'_, Standing> {
        self.standing.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The actor's write access. Never held across an `.await`, nor beside a read guard
    /// of the same board on the same thread (the lock is not reentrant).
    pub(super) fn write(&self) -> RwLockWriteGuard<'_, Standing> {
        self.standing
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A status answered off the mailbox, its heartbeat noted for the actor's next tick.
    /// `None` when the actor must answer it (an admission not yet durable).
    pub(super) fn status(&self, user: UserId, now: Instant) -> Option<QueueView> {
        let view = {
            let standing = self.read();
            if standing.undurable_admissions.contains(&user) {
                return None;
            }
            let view = standing.view(user, standing.sold_out, now);
            match view {
                // The heartbeat renews the admission: it lasts a full term from now.
                QueueView::Active { sold_out, .. } => QueueView::Active {
                    expires_in: standing.settings.active_ttl,
                    sold_out,
                },
                other => other,
            }
        };
        if !matches!(view, QueueView::Absent { .. }) {
            self.note_heartbeat(user, now);
        }
        Some(view)
    }

    fn note_heartbeat(&self, user: UserId, at: Instant) {
        let shard = (user.0.as_u128() % HEARTBEAT_SHARDS as u128) as usize;
        self.heartbeats[shard]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((user, at));
    }

    /// Applies the heartbeats readers noted since the last call: the actor does before
    /// anything that asks whether someone is still there (its tick, a hold).
    pub(super) fn apply_heartbeats(&self) {
        let noted = self.take_heartbeats();
        if noted.is_empty() {
            return;
        }
        let mut standing = self.write();
        for (user, at) in noted {
            standing.admission.heartbeat(user, at);
        }
    }

    fn take_heartbeats(&self) -> Vec<(UserId, Instant)> {
        let mut all = Vec::new();
        for shard in &self.heartbeats {
            let mut noted = shard.lock().unwrap_or_else(PoisonError::into_inner);
            if all.is_empty() {
                all = std::mem::take(&mut *noted);
            } else {
                all.append(&mut noted);
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use uuid::Uuid;

    use super::*;

    fn user(n: u128) -> UserId {
        UserId(Uuid::from_u128(n))
    }

    /// A closed line (nobody admitted) of users 1, 2, 3 joined at `t0`, dropped 10 s
    /// after their last heartbeat.
    fn board_with_line(t0: Instant) -> StatusBoard {
        let settings = QueueSettings {
            queue_ttl: Duration::from_secs(10),
            ..QueueSettings::default()
        };
        let board = StatusBoard::new(settings);
        {
            let mut standing = board.write();
            standing.admission.set_open(false);
            for n in 1..=3 {
                standing.admission.join(user(n), None, t0).expect("room");
            }
        }
        board
    }

    #[test]
    fn a_status_read_off_the_board_tells_the_exact_place() {
        let t0 = Instant::now();
        let board = board_with_line(t0);
        match board.status(user(2), t0) {
            Some(QueueView::Queued {
                position,
                people_ahead,
                people_behind,
                heartbeat_within,
                ..
            }) => {
                assert_eq!((position, people_ahead, people_behind), (2, 1, 1));
                assert_eq!(heartbeat_within, Duration::from_secs(10));
            }
            other => panic!("queued at 2, got {other:?}"),
        }
        assert_eq!(
            board.status(user(9), t0),
            Some(QueueView::Absent { sold_out: false })
        );
    }

    #[test]
    fn a_status_read_off_the_board_keeps_its_reader_in_line_once_applied() {
        let t0 = Instant::now();
        let board = board_with_line(t0);
        board.status(user(2), t0 + Duration::from_secs(8));
        // The tick applies the noted heartbeats before it drops anyone.
        let at = t0 + Duration::from_secs(12);
        board.apply_heartbeats();
        let dropped = board.write().admission.drop_stale(at);
        assert_eq!(dropped.len(), 2);
        assert!(!dropped.contains(&user(2)), "the reader kept its place");
        assert!(matches!(
            board.status(user(2), at),
            Some(QueueView::Queued { position: 1, .. })
        ));
        // That status was a heartbeat too: once applied, the reader goes 10 s after it.
        board.apply_heartbeats();
        let before = t0 + Duration::from_secs(21);
        assert!(board.write().admission.drop_stale(before).is_empty());
        let after = t0 + Duration::from_secs(22);
        assert_eq!(board.write().admission.drop_stale(after), vec![user(2)]);
    }

    #[test]
    fn an_admission_not_yet_durable_is_left_to_the_actor() {
        let t0 = Instant::now();
        let board = board_with_line(t0);
        board.write().undurable_admissions.insert(user(1));
        assert_eq!(board.status(user(1), t0), None);
        assert!(board.status(user(2), t0).is_some());
    }

    #[test]
    fn an_admitted_reader_is_told_its_admission_runs_a_full_term_from_now() {
        let t0 = Instant::now();
        let board = StatusBoard::new(QueueSettings::default());
        board
            .write()
            .admission
            .join(user(1), None, t0)
            .expect("room");
        let later = t0 + Duration::from_secs(30);
        match board.status(user(1), later) {
            Some(QueueView::Active { expires_in, .. }) => {
                assert_eq!(expires_in, QueueSettings::default().active_ttl);
            }
            other => panic!("active, got {other:?}"),
        }
        board.apply_heartbeats();
        let status = board.read().admission.status(user(1));
        assert_eq!(
            status,
            Some(UserStatus::Active {
                expires_at: later + QueueSettings::default().active_ttl
            })
        );
    }
}
