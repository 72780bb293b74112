//! Admission fairness, checked from the outside: nobody may be admitted while someone
//! with an earlier place is still waiting in line.
//!
//! The admission order comes from the event's queue log (the operator API); the places
//! come from what each virtual user was told by Tier 1, so the check does not take the
//! server's word for either side.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use urr_wire::queue::QueueLogRecord;
use uuid::Uuid;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fairness {
    /// Admissions seen in the log.
    pub admissions: u64,
    /// (admitted, still waiting with an earlier place) pairs: must be 0.
    pub inversions: u64,
    /// Users whose Tier-1 place in the log differs from what Tier 1 told them: must be 0.
    pub position_mismatches: u64,
}

/// Walks the log in order, keeping the waiting line sorted by place; each admission
/// counts everyone still waiting ahead of the admitted person.
///
/// A person's place is their Tier-1 position as the user was told (`told`), else the
/// one logged; people without one stand after everyone with one, by arrival (`seq`),
/// which is how the queue orders them.
pub fn check(log: &[QueueLogRecord], told: &HashMap<Uuid, u64>) -> Fairness {
    let mut out = Fairness::default();
    let mut waiting: BTreeSet<(u64, u64, Uuid)> = BTreeSet::new();
    let mut place: HashMap<Uuid, (u64, u64, Uuid)> = HashMap::new();
    for record in log {
        match *record {
            QueueLogRecord::Joined {
                user_id,
                tier1_pos,
                seq,
            } => {
                if let (Some(logged), Some(&said)) = (tier1_pos, told.get(&user_id))
                    && logged != said
                {
                    out.position_mismatches += 1;
                }
                let rank = told
                    .get(&user_id)
                    .copied()
                    .or(tier1_pos)
                    .unwrap_or(u64::MAX);
                let key = (rank, seq, user_id);
                if let Some(old) = place.insert(user_id, key) {
                    waiting.remove(&old);
                }
                waiting.insert(key);
            }
            QueueLogRecord::Admitted { user_id } => {
                out.admissions += 1;
                if let Some(key) = place.remove(&user_id) {
                    waiting.remove(&key);
                    out.inversions += waiting.range(..key).count() as u64;
                } else {
                    // Admitted straight away at check-in: fair only if nobody waited.
                    out.inversions += waiting.len() as u64;
                }
            }
            QueueLogRecord::Left { user_id } | QueueLogRecord::Dropped { user_id } => {
                if let Some(key) = place.remove(&user_id) {
                    waiting.remove(&key);
                }
            }
            QueueLogRecord::Expired { .. } => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn user(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn joined(n: u128, pos: Option<u64>, seq: u64) -> QueueLogRecord {
        QueueLogRecord::Joined {
            user_id: user(n),
            tier1_pos: pos,
            seq,
        }
    }

    fn admitted(n: u128) -> QueueLogRecord {
        QueueLogRecord::Admitted { user_id: user(n) }
    }

    #[test]
    fn in_order_admissions_are_fair() {
        let log = [
            joined(2, Some(20), 1),
            joined(1, Some(10), 2),
            admitted(1),
            admitted(2),
        ];
        let result = check(&log, &HashMap::new());
        assert_eq!(result.admissions, 2);
        assert_eq!(result.inversions, 0);
    }

    #[test]
    fn admitting_past_an_earlier_place_is_an_inversion() {
        let log = [
            joined(1, Some(10), 1),
            joined(2, Some(20), 2),
            joined(3, Some(30), 3),
            admitted(3),
        ];
        assert_eq!(check(&log, &HashMap::new()).inversions, 2);
    }

    #[test]
    fn someone_who_left_is_not_overtaken() {
        let log = [
            joined(1, Some(10), 1),
            joined(2, Some(20), 2),
            QueueLogRecord::Left { user_id: user(1) },
            admitted(2),
        ];
        assert_eq!(check(&log, &HashMap::new()).inversions, 0);
    }

    #[test]
    fn an_instant_admission_while_others_wait_is_an_inversion() {
        let log = [joined(1, None, 1), admitted(9)];
        assert_eq!(check(&log, &HashMap::new()).inversions, 1);
    }

    #[test]
    fn the_places_users_were_told_win_and_mismatches_are_counted() {
        // The log claims 2 was ahead; Tier 1 told 1 it was first.
        let log = [joined(1, Some(50), 1), joined(2, Some(20), 2), admitted(2)];
        let told = HashMap::from([(user(1), 10), (user(2), 20)]);
        let result = check(&log, &told);
        assert_eq!(result.position_mismatches, 1);
        assert_eq!(result.inversions, 1);
    }

    #[test]
    fn people_without_a_tier1_place_queue_by_arrival_behind_those_with_one() {
        let log = [
            joined(1, None, 1),
            joined(2, Some(5), 2),
            admitted(2),
            admitted(1),
        ];
        assert_eq!(check(&log, &HashMap::new()).inversions, 0);
    }

    proptest! {
        /// Admitting from the head of the line is never an inversion, and admitting from
        /// anywhere else always is, in any interleaving of joins and admissions.
        #[test]
        fn head_admissions_are_fair_others_are_not(ops in proptest::collection::vec((any::<bool>(), 0u64..1000), 1..200)) {
            let mut log = Vec::new();
            let mut line: BTreeSet<(u64, u64, u128)> = BTreeSet::new();
            let mut expected = 0u64;
            let mut next = 1u128;
            for (seq, (join, pos)) in (0u64..).zip(ops) {
                if join || line.is_empty() {
                    log.push(joined(next, Some(pos), seq));
                    line.insert((pos, seq, next));
                    next += 1;
                } else {
                    // Admit the last of the line: everyone else in it is overtaken.
                    let last = *line.iter().next_back().expect("non-empty");
                    line.remove(&last);
                    expected += line.len() as u64;
                    log.push(admitted(last.2));
                }
            }
            prop_assert_eq!(check(&log, &HashMap::new()).inversions, expected);
            let mut fair = Vec::new();
            let mut line: BTreeSet<(u64, u64, u128)> = BTreeSet::new();
            for record in &log {
                if let QueueLogRecord::Joined { user_id, tier1_pos, seq } = record {
                    fair.push(record.clone());
                    line.insert((tier1_pos.unwrap_or(u64::MAX), *seq, user_id.as_u128()));
                } else if let Some(head) = line.pop_first() {
                    fair.push(admitted(head.2));
                }
            }
            prop_assert_eq!(check(&fair, &HashMap::new()).inversions, 0);
        }
    }
}
