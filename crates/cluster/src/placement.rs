//! Which live member should own an event: the rendezvous (highest-random-weight)
//! winner. Every node computes the same answer from the same members, with no
//! coordination; a member that joins wins only the events it now outweighs, and one that
//! leaves gives up only its own (`docs/architecture.md#ownership`).
//!
//! The weight is a stable hash of the event and the node id (FNV-1a, then a 64-bit
//! finalizer for an even spread), the same on every node, build and platform; std's
//! `DefaultHasher` promises none of that.

use uuid::Uuid;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The weight of `node` for `event`.
pub fn weight(event: Uuid, node: &str) -> u64 {
    let mut hash = FNV_OFFSET;
    for &byte in event
        .as_bytes()
        .iter()
        .chain([0xff].iter())
        .chain(node.as_bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    mix(hash)
}

/// SplitMix64's finalizer: every input bit moves every output bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The member that should own `event`: the heaviest, ties broken by the smaller id.
pub fn preferred<'a>(event: Uuid, nodes: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    nodes.into_iter().max_by(|a, b| {
        weight(event, a)
            .cmp(&weight(event, b))
            .then_with(|| b.cmp(a))
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;
    use uuid::Uuid;

    use super::{preferred, weight};

    fn nodes(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("urr-{i}")).collect()
    }

    #[test]
    fn the_weight_is_the_same_everywhere() {
        // Pinned: a change here moves every event of every running cluster.
        let event = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(weight(event, "urr-0"), weight(event, "urr-0"));
        // The same value as an independent FNV-1a + SplitMix64 computation gives.
        assert_eq!(weight(event, "urr-0"), 0x345a_c548_ea9f_d5cd);
    }

    #[test]
    fn events_spread_over_the_members() {
        let members = nodes(4);
        let mut owned: HashMap<&str, usize> = HashMap::new();
        for i in 0..4_000u128 {
            let winner = preferred(Uuid::from_u128(i), members.iter().map(String::as_str));
            *owned.entry(winner.expect("a winner")).or_default() += 1;
        }
        for node in &members {
            let share = owned.get(node.as_str()).copied().unwrap_or(0);
            assert!((800..1_200).contains(&share), "{node} owns {share} of 4000");
        }
    }

    proptest! {
        /// A join moves only the events the newcomer wins, each to the newcomer.
        #[test]
        fn a_join_moves_only_what_the_newcomer_wins(
            n in 1usize..8,
            events in proptest::collection::vec(any::<u128>(), 1..200),
            newcomer in "[a-z]{1,8}-[0-9]{1,3}",
        ) {
            let before = nodes(n);
            prop_assume!(!before.contains(&newcomer));
            let mut after = before.clone();
            after.push(newcomer.clone());
            for event in events.into_iter().map(Uuid::from_u128) {
                let old = preferred(event, before.iter().map(String::as_str));
                let new = preferred(event, after.iter().map(String::as_str));
                prop_assert!(new == old || new == Some(newcomer.as_str()));
            }
        }

        /// A leave moves only the leaver's events; every other event keeps its owner.
        #[test]
        fn a_leave_moves_only_the_leavers_events(
            n in 2usize..8,
            leaver in 0usize..8,
            events in proptest::collection::vec(any::<u128>(), 1..200),
        ) {
            let before = nodes(n);
            let leaver = before[leaver % n].clone();
            let after: Vec<String> = before.iter().filter(|m| **m != leaver).cloned().collect();
            for event in events.into_iter().map(Uuid::from_u128) {
                let old = preferred(event, before.iter().map(String::as_str));
                let new = preferred(event, after.iter().map(String::as_str));
                if old != Some(leaver.as_str()) {
                    prop_assert_eq!(new, old);
                } else {
                    prop_assert!(new.is_some() && new != old);
                }
            }
        }

        /// The members' order never matters: every node agrees.
        #[test]
        fn the_order_of_members_does_not_matter(
            n in 1usize..8,
            event in any::<u128>(),
            rotate in 0usize..8,
        ) {
            let mut members = nodes(n);
            let event = Uuid::from_u128(event);
            let first = preferred(event, members.iter().map(String::as_str)).map(str::to_owned);
            members.rotate_left(rotate % n);
            members.reverse();
            let second = preferred(event, members.iter().map(String::as_str)).map(str::to_owned);
            prop_assert_eq!(first, second);
        }
    }
}
