//! Replaying the queue log (through its binary form) rebuilds the same line, the same
//! active set and the same counters; so does replaying a compacted snapshot.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use proptest::collection;
use proptest::prelude::*;

use urr_actors::{Admission, AdmissionConfig, JoinOutcome, QueueLogRecord, QueuedUser, UserId};

use crate::admission::{Op, config, op};
use crate::user;

fn line(admission: &Admission) -> Vec<QueuedUser> {
    admission.queue().iter().collect()
}

fn active(admission: &Admission) -> BTreeSet<UserId> {
    admission.active().iter().map(|(user, _)| user).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn log_replay_reproduces_the_queue(
        config in config(),
        ops in collection::vec(op(), 1..150),
    ) {
        run_log_replay_reproduces_the_queue(config, ops)?;
    }
}

fn run_log_replay_reproduces_the_queue(
    config: AdmissionConfig,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let start = Instant::now();
    let mut now = start;
    let mut live = Admission::new(config);
    let mut log: Vec<Vec<u8>> = Vec::new();
    let mut append = |record: QueueLogRecord| log.push(record.encode());
    for op in ops {
        match op {
            Op::Join { user: n, pos } => {
                match live.join(user(n), pos, now).expect("room in line") {
                    JoinOutcome::Active {
                        newly_admitted: true,
                    } => {
                        append(QueueLogRecord::Admitted { user: user(n) });
                    }
                    JoinOutcome::Queued(joined) if joined.is_new => {
                        append(QueueLogRecord::Joined {
                            user: user(n),
                            tier1_pos: pos,
                            seq: joined.seq,
                        });
                    }
                    _ => {}
                }
            }
            Op::Leave { user: n } => {
                if live.leave(user(n)).is_some() {
                    append(QueueLogRecord::Left { user: user(n) });
                }
            }
            Op::Heartbeat { user: n } => {
                live.heartbeat(user(n), now);
            }
            Op::Tick => {
                let tick = live.tick(now);
                tick.expired
                    .iter()
                    .for_each(|&user| append(QueueLogRecord::Expired { user }));
                tick.admitted
                    .iter()
                    .for_each(|&user| append(QueueLogRecord::Admitted { user }));
            }
            Op::DropStale => {
                for user in live.drop_stale(now) {
                    append(QueueLogRecord::Dropped { user });
                }
            }
            Op::Advance { ms } => now += Duration::from_millis(ms),
        }
    }
    let restart = now + Duration::from_secs(5);
    let records: Vec<QueueLogRecord> = log
        .iter()
        .map(|bytes| QueueLogRecord::decode(bytes).expect("a record we encoded"))
        .collect();
    let mut rebuilt = Admission::restore(config, records, restart).expect("room in line");
    prop_assert_eq!(line(&rebuilt), line(&live));
    prop_assert_eq!(active(&rebuilt), active(&live));
    prop_assert_eq!(rebuilt.overview(), live.overview());
    prop_assert_eq!(rebuilt.queue().next_seq(), live.queue().next_seq());
    for n in 0..40 {
        prop_assert_eq!(
            rebuilt.queue().position(user(n)),
            live.queue().position(user(n))
        );
    }

    let compacted = Admission::restore(config, live.snapshot_log(), restart).expect("room in line");
    prop_assert_eq!(line(&compacted), line(&live));
    prop_assert_eq!(active(&compacted), active(&live));

    // Life goes on identically: a newcomer lands at the same place in both.
    let newcomer = user(200);
    let a = live.join(newcomer, Some(7), restart).expect("room in line");
    let b = rebuilt
        .join(newcomer, Some(7), restart)
        .expect("room in line");
    prop_assert_eq!(a, b);
    Ok(())
}
