//! Counted inventory never oversells, and its counts always equal the sum of its
//! reservations.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use proptest::collection;
use proptest::prelude::*;

use urr_actors::{BookingStatus, Inventory, InventoryError, TicketTypeId};

use crate::{reservation, ticket_type};

const MAX_PER_HOLD: u32 = 4;

#[derive(Clone, Debug)]
enum Op {
    Hold {
        res: u8,
        ty: u8,
        qty: u32,
        ttl_ms: u64,
    },
    Release {
        res: u8,
    },
    Confirm {
        res: u8,
    },
    Expire,
    Advance {
        ms: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..12, 0u8..3, 0u32..6, 1u64..30)
            .prop_map(|(res, ty, qty, t)| Op::Hold { res, ty, qty, ttl_ms: t * 100 }),
        2 => (0u8..12).prop_map(|res| Op::Release { res }),
        3 => (0u8..12).prop_map(|res| Op::Confirm { res }),
        2 => Just(Op::Expire),
        3 => (0u64..15).prop_map(|t| Op::Advance { ms: t * 100 }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn never_oversells(
        capacities in collection::vec(0u32..10, 2),
        ops in collection::vec(op(), 1..120),
    ) {
        run_never_oversells(capacities, ops)?;
    }
}

fn run_never_oversells(capacities: Vec<u32>, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let start = Instant::now();
    let mut now = start;
    let mut inventory = Inventory::new(MAX_PER_HOLD);
    // Type 2 is never added: holds on it must fail.
    for (n, &capacity) in capacities.iter().enumerate() {
        inventory.add_type(ticket_type(n as u8), capacity);
    }
    let mut open: BTreeMap<u8, ()> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Hold {
                res,
                ty,
                qty,
                ttl_ms,
            } => {
                let before = inventory.counts(ticket_type(ty));
                let result = inventory.hold(
                    reservation(res),
                    ticket_type(ty),
                    qty,
                    now,
                    Duration::from_millis(ttl_ms),
                );
                match (&result, before) {
                    (Ok(_), Some(counts)) => {
                        prop_assert!(
                            (1..=MAX_PER_HOLD).contains(&qty) && qty <= counts.available()
                        );
                        open.insert(res, ());
                    }
                    (Ok(_), None) => prop_assert!(false, "held an unknown type"),
                    (Err(InventoryError::NotEnough { available, .. }), Some(counts)) => {
                        prop_assert_eq!(*available, counts.available());
                        prop_assert!(qty > counts.available());
                    }
                    (Err(_), _) => {}
                }
            }
            Op::Release { res } => {
                let had = inventory.booking(reservation(res));
                prop_assert_eq!(inventory.release(reservation(res)), had);
            }
            Op::Confirm { res } => {
                if let Ok(booking) = inventory.confirm(reservation(res), now) {
                    prop_assert_eq!(booking.status, BookingStatus::Sold);
                }
            }
            Op::Expire => {
                for (_, booking) in inventory.expire(now) {
                    let lapsed = match booking.status {
                        BookingStatus::Held { expires_at } => expires_at <= now,
                        BookingStatus::Sold => false,
                    };
                    prop_assert!(lapsed);
                }
            }
            Op::Advance { ms } => now += Duration::from_millis(ms),
        }
        // Counts are exactly the sum of the reservations, within capacity.
        let mut sums: BTreeMap<TicketTypeId, (u32, u32)> = BTreeMap::new();
        for res in 0..12 {
            if let Some(b) = inventory.booking(reservation(res)) {
                let entry = sums.entry(b.ticket_type).or_default();
                match b.status {
                    BookingStatus::Held { .. } => entry.0 += b.quantity,
                    BookingStatus::Sold => entry.1 += b.quantity,
                }
            }
        }
        for (ty, counts) in inventory.types() {
            prop_assert!(counts.held + counts.sold <= counts.capacity, "oversold");
            prop_assert_eq!(
                (counts.held, counts.sold),
                sums.get(&ty).copied().unwrap_or_default()
            );
        }
        prop_assert!(inventory.counts(ticket_type(2)).is_none());
    }
    Ok(())
}
