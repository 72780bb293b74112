//! Property test: the queue agrees with a naive model (a Vec sorted on demand) in every
//! observable, for random operation sequences. It lives inside the crate so it can also
//! check the queue's internal indexes against each other after every step.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use proptest::collection;
use proptest::option;
use proptest::prelude::*;
use uuid::Uuid;

use crate::ids::UserId;
use crate::queue::{Place, Queue, QueuedUser};

#[derive(Clone, Debug)]
enum Op {
    Join {
        user: u8,
        pos: Option<u64>,
    },
    /// Many newcomers at once, so the order tree grows several levels deep.
    JoinMany {
        count: u16,
        seed: u64,
    },
    Leave {
        user: u8,
    },
    Touch {
        user: u8,
    },
    DropStale {
        ttl_ms: u64,
    },
    PopFront {
        k: usize,
    },
    Advance {
        ms: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..24, option::of(0u64..12)).prop_map(|(user, pos)| Op::Join { user, pos }),
        1 => (0u16..400, any::<u64>()).prop_map(|(count, seed)| Op::JoinMany { count, seed }),
        2 => (0u8..24).prop_map(|user| Op::Leave { user }),
        3 => (0u8..24).prop_map(|user| Op::Touch { user }),
        // Times on a 100 ms grid, so heartbeats land exactly on the TTL boundary often.
        1 => (0u64..30).prop_map(|t| Op::DropStale { ttl_ms: t * 100 }),
        2 => (0usize..60).prop_map(|k| Op::PopFront { k }),
        3 => (0u64..15).prop_map(|t| Op::Advance { ms: t * 100 }),
    ]
}

#[derive(Clone, Debug)]
struct ModelEntry {
    user: UserId,
    tier1_pos: Option<u64>,
    seq: u64,
    touched_ms: u64,
    /// Order of the last heartbeat, which breaks ties between equal stamps.
    touch_no: u64,
}

#[derive(Default)]
struct Model {
    entries: Vec<ModelEntry>,
    next_seq: u64,
    touches: u64,
}

impl Model {
    fn order(&self) -> Vec<&ModelEntry> {
        let mut sorted: Vec<&ModelEntry> = self.entries.iter().collect();
        sorted.sort_by_key(|e| (e.tier1_pos.is_none(), e.tier1_pos, e.seq));
        sorted
    }

    /// Every queued user's place, from one sort.
    fn places(&self) -> HashMap<UserId, Place> {
        let order = self.order();
        let len = order.len() as u64;
        order
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let i = i as u64;
                let place = Place {
                    position: i + 1,
                    people_ahead: i,
                    people_behind: len - i - 1,
                };
                (e.user, place)
            })
            .collect()
    }

    fn touch(&mut self, user: UserId, now_ms: u64) -> bool {
        self.touches += 1;
        let touch_no = self.touches;
        match self.entries.iter_mut().find(|e| e.user == user) {
            Some(e) => {
                e.touched_ms = now_ms;
                e.touch_no = touch_no;
                true
            }
            None => false,
        }
    }

    /// (is new, arrival sequence number).
    fn join(&mut self, user: UserId, tier1_pos: Option<u64>, now_ms: u64) -> (bool, u64) {
        if self.touch(user, now_ms) {
            let seq = self.entries.iter().find(|e| e.user == user).map(|e| e.seq);
            return (false, seq.unwrap_or(u64::MAX));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.push(ModelEntry {
            user,
            tier1_pos,
            seq,
            touched_ms: now_ms,
            touch_no: self.touches,
        });
        (true, seq)
    }

    fn remove(&mut self, user: UserId) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.user != user);
        self.entries.len() != before
    }
}

fn small_user(n: u8) -> UserId {
    UserId(Uuid::from_u128(u128::from(n) + 1))
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn queue_agrees_with_a_naive_model(ops in collection::vec(op(), 1..120)) {
        run_queue_agrees_with_a_naive_model(ops)?;
    }
}

fn run_queue_agrees_with_a_naive_model(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let start = Instant::now();
    let mut now_ms = 0u64;
    let mut queue = Queue::new();
    let mut model = Model::default();
    let mut fresh = 1000u128;
    for op in ops {
        let now = start + Duration::from_millis(now_ms);
        match op {
            Op::Join { user, pos } => {
                let user = small_user(user);
                let got = queue.join(user, pos, now).unwrap();
                let (is_new, seq) = model.join(user, pos, now_ms);
                prop_assert_eq!((got.is_new, got.seq), (is_new, seq));
                prop_assert_eq!(Some(got.place), model.places().get(&user).copied());
            }
            Op::JoinMany { count, seed } => {
                let mut rng = seed | 1;
                for _ in 0..count {
                    fresh += 1;
                    let r = xorshift(&mut rng);
                    // Mostly rising Tier-1 positions with jitter, some without.
                    let pos = (!r.is_multiple_of(4)).then(|| fresh as u64 / 2 + r % 64);
                    let user = UserId(Uuid::from_u128(fresh));
                    let got = queue.join(user, pos, now).unwrap();
                    prop_assert!(got.is_new);
                    model.join(user, pos, now_ms);
                }
            }
            Op::Leave { user } => {
                let user = small_user(user);
                prop_assert_eq!(queue.leave(user), model.remove(user));
            }
            Op::Touch { user } => {
                let user = small_user(user);
                prop_assert_eq!(queue.touch(user, now), model.touch(user, now_ms));
            }
            Op::DropStale { ttl_ms } => {
                let mut stale: Vec<&ModelEntry> = model
                    .entries
                    .iter()
                    .filter(|e| e.touched_ms + ttl_ms <= now_ms)
                    .collect();
                stale.sort_by_key(|e| e.touch_no);
                let expected: Vec<UserId> = stale.iter().map(|e| e.user).collect();
                for user in &expected {
                    model.remove(*user);
                }
                let got = queue.drop_stale(now, Duration::from_millis(ttl_ms));
                prop_assert_eq!(got, expected);
            }
            Op::PopFront { k } => {
                let expected: Vec<UserId> = model.order().iter().take(k).map(|e| e.user).collect();
                for user in &expected {
                    model.remove(*user);
                }
                prop_assert_eq!(queue.pop_front(k), expected);
            }
            Op::Advance { ms } => now_ms += ms,
        }
        queue.check();
        prop_assert_eq!(queue.len(), model.entries.len());
        let expected: Vec<QueuedUser> = model
            .order()
            .iter()
            .map(|e| QueuedUser {
                user: e.user,
                tier1_pos: e.tier1_pos,
                seq: e.seq,
            })
            .collect();
        prop_assert_eq!(queue.iter().collect::<Vec<_>>(), expected);
        let places = model.places();
        for n in 0..24 {
            let user = small_user(n);
            prop_assert_eq!(queue.position(user), places.get(&user).copied());
            prop_assert_eq!(queue.contains(user), places.contains_key(&user));
        }
        for e in model.entries.iter().step_by(37) {
            prop_assert_eq!(queue.position(e.user), places.get(&e.user).copied());
        }
    }
    Ok(())
}
