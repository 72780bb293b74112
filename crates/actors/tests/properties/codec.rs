//! The queue log's binary form: round trips, and junk never panics.

use proptest::collection;
use proptest::option;
use proptest::prelude::*;
use uuid::Uuid;

use urr_actors::{QueueLogRecord, UserId};

fn record() -> impl Strategy<Value = QueueLogRecord> {
    let user = any::<u128>().prop_map(|n| UserId(Uuid::from_u128(n)));
    (0u8..5, user, option::of(any::<u64>()), any::<u64>()).prop_map(
        |(kind, user, tier1_pos, seq)| match kind {
            0 => QueueLogRecord::Joined {
                user,
                tier1_pos,
                seq,
            },
            1 => QueueLogRecord::Left { user },
            2 => QueueLogRecord::Admitted { user },
            3 => QueueLogRecord::Dropped { user },
            _ => QueueLogRecord::Expired { user },
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_record_round_trips(record in record()) {
        prop_assert_eq!(QueueLogRecord::decode(&record.encode()), Ok(record));
    }

    /// Decoding arbitrary bytes returns an error or a record whose encoding is exactly
    /// those bytes: one encoding per record, and no panic.
    #[test]
    fn junk_decodes_to_an_error_or_to_itself(bytes in collection::vec(any::<u8>(), 0..48)) {
        if let Ok(record) = QueueLogRecord::decode(&bytes) {
            prop_assert_eq!(record.encode(), bytes);
        }
    }

    /// Damaging one byte of a valid record never panics either.
    #[test]
    fn damaged_records_never_panic(record in record(), at in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = record.encode();
        let at = at % bytes.len();
        bytes[at] = byte;
        if let Ok(decoded) = QueueLogRecord::decode(&bytes) {
            prop_assert_eq!(decoded.encode(), bytes);
        }
    }
}
