//! Admission never admits out of queue order and never exceeds its threshold.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use proptest::collection;
use proptest::option;
use proptest::prelude::*;

use urr_actors::{Admission, AdmissionConfig, JoinOutcome, UserId};

use crate::user;

#[derive(Clone, Debug)]
pub enum Op {
    Join { user: u8, pos: Option<u64> },
    Leave { user: u8 },
    Heartbeat { user: u8 },
    Tick,
    DropStale,
    Advance { ms: u64 },
}

pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..40, option::of(0u64..20)).prop_map(|(user, pos)| Op::Join { user, pos }),
        1 => (0u8..40).prop_map(|user| Op::Leave { user }),
        2 => (0u8..40).prop_map(|user| Op::Heartbeat { user }),
        3 => Just(Op::Tick),
        1 => Just(Op::DropStale),
        // Times on a 100 ms grid, so steps land exactly on TTL boundaries often.
        3 => (0u64..40).prop_map(|t| Op::Advance { ms: t * 100 }),
    ]
}

pub fn config() -> impl Strategy<Value = AdmissionConfig> {
    (0usize..6, 0usize..4, 1u64..80, 1u64..80).prop_map(|(threshold, batch, active, queue)| {
        AdmissionConfig {
            threshold,
            batch,
            active_ttl: Duration::from_millis(active * 100),
            queue_ttl: Duration::from_millis(queue * 100),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn admits_in_queue_order_within_the_threshold(
        config in config(),
        ops in collection::vec(op(), 1..150),
    ) {
        run_admits_in_queue_order_within_the_threshold(config, ops)?;
    }
}

fn run_admits_in_queue_order_within_the_threshold(
    config: AdmissionConfig,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let start = Instant::now();
    let mut now = start;
    let mut admission = Admission::new(config);
    for op in ops {
        let line_before: Vec<UserId> = admission.queue().iter().map(|q| q.user).collect();
        let active_before = admission.active().len();
        match op {
            Op::Join { user: n, pos } => {
                let was_active = admission.active().contains(user(n));
                match admission.join(user(n), pos, now).expect("room in line") {
                    JoinOutcome::Active {
                        newly_admitted: true,
                    } => {
                        // Nobody overtaken, room respected.
                        prop_assert!(line_before.is_empty());
                        prop_assert!(active_before < config.threshold);
                        prop_assert!(!was_active);
                    }
                    JoinOutcome::Active {
                        newly_admitted: false,
                    } => prop_assert!(was_active),
                    JoinOutcome::Queued(joined) => {
                        prop_assert!(!was_active);
                        prop_assert_eq!(joined.is_new, !line_before.contains(&user(n)));
                        if joined.is_new {
                            // A newcomer could have entered at once only if the line
                            // was empty and there was room.
                            prop_assert!(
                                !line_before.is_empty() || active_before >= config.threshold
                            );
                        }
                    }
                }
            }
            Op::Leave { user: n } => {
                admission.leave(user(n));
            }
            Op::Heartbeat { user: n } => {
                admission.heartbeat(user(n), now);
            }
            Op::Tick => {
                let tick = admission.tick(now);
                let room = config
                    .threshold
                    .saturating_sub(active_before - tick.expired.len());
                let k = config.batch.min(room).min(line_before.len());
                // Exactly the head of the line, in order.
                prop_assert_eq!(&tick.admitted[..], &line_before[..k]);
            }
            Op::DropStale => {
                let dropped = admission.drop_stale(now);
                let line_after: Vec<UserId> = admission.queue().iter().map(|q| q.user).collect();
                // Dropping removes people, never reorders the rest.
                let kept: Vec<UserId> = line_before
                    .iter()
                    .copied()
                    .filter(|u| !dropped.contains(u))
                    .collect();
                prop_assert_eq!(line_after, kept);
            }
            Op::Advance { ms } => now += Duration::from_millis(ms),
        }
        let overview = admission.overview();
        prop_assert!(overview.active <= config.threshold);
        let queued: HashSet<UserId> = admission.queue().iter().map(|q| q.user).collect();
        prop_assert_eq!(queued.len(), overview.waiting);
        for (active, _) in admission.active().iter() {
            prop_assert!(!queued.contains(&active), "active and queued at once");
        }
    }
    Ok(())
}
