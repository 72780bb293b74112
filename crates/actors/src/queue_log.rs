//! The queue's durable log: what the actor appends (to Redis) before it acknowledges a
//! join, so a restarted actor rebuilds the line exactly, losing nobody's place.
//!
//! Each record carries the user's arrival sequence number, so replay reproduces the
//! original order even for people without a Tier-1 position. The binary form starts
//! with a format version so the format can change while old logs stay readable.

use std::time::Instant;

use crate::ids::UserId;
use crate::queue::{Queue, QueueFull};

/// The binary format written by [`QueueLogRecord::encode`].
pub const FORMAT_VERSION: u8 = 1;

const KIND_JOINED: u8 = 1;
const KIND_LEFT: u8 = 2;
const KIND_ADMITTED: u8 = 3;
const KIND_DROPPED: u8 = 4;
const KIND_EXPIRED: u8 = 5;

/// One change to the queue or the active set, in the order it happened.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum QueueLogRecord {
    /// A newcomer took a place.
    Joined {
        /// Who.
        user: UserId,
        /// Their Tier-1 position, if they came through Tier 1.
        tier1_pos: Option<u64>,
        /// Their arrival sequence number, which orders people of equal priority.
        seq: u64,
    },
    /// Left the line or the active set of their own accord.
    Left {
        /// Who.
        user: UserId,
    },
    /// Admitted: out of the line (if in it) and into the active set.
    Admitted {
        /// Who.
        user: UserId,
    },
    /// Dropped from the line for not heartbeating.
    Dropped {
        /// Who.
        user: UserId,
    },
    /// An active user's admission expired.
    Expired {
        /// Who.
        user: UserId,
    },
}

/// Why bytes are not a [`QueueLogRecord`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum DecodeError {
    /// No bytes at all.
    #[error("empty record")]
    Empty,
    /// Written by a format this code does not know.
    #[error("unsupported record format version {0}")]
    UnsupportedVersion(u8),
    /// An unknown record kind.
    #[error("unknown record kind {0}")]
    UnknownKind(u8),
    /// The record ends early.
    #[error("record truncated")]
    Truncated,
    /// The Tier-1 position's presence byte is neither 0 nor 1.
    #[error("bad presence flag {0}")]
    BadFlag(u8),
    /// A number does not fit in 64 bits.
    #[error("number overflows 64 bits")]
    Overflow,
    /// A number is encoded with more bytes than it needs; refused so each record has
    /// exactly one encoding.
    #[error("number not minimally encoded")]
    NonCanonical,
    /// Bytes follow the record.
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
}

impl QueueLogRecord {
    /// The user the record is about.
    pub fn user(&self) -> UserId {
        match *self {
            Self::Joined { user, .. }
            | Self::Left { user }
            | Self::Admitted { user }
            | Self::Dropped { user }
            | Self::Expired { user } => user,
        }
    }

    /// The compact binary form: version, kind, the 16-byte user id, then for `Joined` a
    /// presence byte, the LEB128 position when present, and the LEB128 sequence number.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + 16 + 1 + 10 + 10);
        out.push(FORMAT_VERSION);
        out.push(match self {
            Self::Joined { .. } => KIND_JOINED,
            Self::Left { .. } => KIND_LEFT,
            Self::Admitted { .. } => KIND_ADMITTED,
            Self::Dropped { .. } => KIND_DROPPED,
            Self::Expired { .. } => KIND_EXPIRED,
        });
        out.extend_from_slice(self.user().as_bytes());
        if let Self::Joined { tier1_pos, seq, .. } = *self {
            match tier1_pos {
                Some(pos) => {
                    out.push(1);
                    put_varint(&mut out, pos);
                }
                None => out.push(0),
            }
            put_varint(&mut out, seq);
        }
        out
    }

    /// Parses [`Self::encode`]'s output; any other input is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader(bytes);
        let version = r.byte().map_err(|_| DecodeError::Empty)?;
        if version != FORMAT_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let kind = r.byte()?;
        if !(KIND_JOINED..=KIND_EXPIRED).contains(&kind) {
            return Err(DecodeError::UnknownKind(kind));
        }
        let user = UserId::from_bytes(r.array()?);
        let record = match kind {
            KIND_JOINED => {
                let tier1_pos = match r.byte()? {
                    0 => None,
                    1 => Some(r.varint()?),
                    flag => return Err(DecodeError::BadFlag(flag)),
                };
                let seq = r.varint()?;
                Self::Joined {
                    user,
                    tier1_pos,
                    seq,
                }
            }
            KIND_LEFT => Self::Left { user },
            KIND_ADMITTED => Self::Admitted { user },
            KIND_DROPPED => Self::Dropped { user },
            _ => Self::Expired { user },
        };
        match r.0.len() {
            0 => Ok(record),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }
}

impl Queue {
    /// Replays one log record: `Joined` restores the place with its original sequence
    /// number (touched at `now`, since the heartbeats before a restart are unknown);
    /// `Left`, `Admitted` and `Dropped` take the user out of line; `Expired` concerns
    /// the active set only.
    pub fn apply(&mut self, record: &QueueLogRecord, now: Instant) -> Result<(), QueueFull> {
        match *record {
            QueueLogRecord::Joined {
                user,
                tier1_pos,
                seq,
            } => self.insert(user, tier1_pos, seq, now).map(|_| ()),
            QueueLogRecord::Left { user }
            | QueueLogRecord::Admitted { user }
            | QueueLogRecord::Dropped { user } => {
                self.leave(user);
                Ok(())
            }
            QueueLogRecord::Expired { .. } => Ok(()),
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let (&first, rest) = self.0.split_first().ok_or(DecodeError::Truncated)?;
        self.0 = rest;
        Ok(first)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(DecodeError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for i in 0..10 {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            // The tenth byte carries only the top bit of a u64.
            if i == 9 && bits > 1 {
                return Err(DecodeError::Overflow);
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                if i > 0 && bits == 0 {
                    return Err(DecodeError::NonCanonical);
                }
                return Ok(value);
            }
        }
        Err(DecodeError::Overflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn user(n: u128) -> UserId {
        UserId(Uuid::from_u128(n))
    }

    fn samples() -> Vec<QueueLogRecord> {
        let mut records = vec![
            QueueLogRecord::Left { user: user(1) },
            QueueLogRecord::Admitted { user: user(2) },
            QueueLogRecord::Dropped { user: user(3) },
            QueueLogRecord::Expired { user: user(4) },
        ];
        for (tier1_pos, seq) in [
            (None, 0),
            (Some(0), 127),
            (Some(128), 128),
            (Some(u64::MAX), u64::MAX),
            (None, 1 << 63),
        ] {
            records.push(QueueLogRecord::Joined {
                user: user(u128::MAX - seq as u128),
                tier1_pos,
                seq,
            });
        }
        records
    }

    #[test]
    fn records_round_trip() {
        for record in samples() {
            let bytes = record.encode();
            assert_eq!(QueueLogRecord::decode(&bytes), Ok(record), "{bytes:?}");
        }
    }

    #[test]
    fn records_are_compact() {
        let joined = QueueLogRecord::Joined {
            user: user(1),
            tier1_pos: Some(300_000),
            seq: 250_000,
        };
        assert_eq!(joined.encode().len(), 2 + 16 + 1 + 3 + 3);
        assert_eq!(QueueLogRecord::Left { user: user(1) }.encode().len(), 18);
    }

    #[test]
    fn junk_is_refused_without_panicking() {
        use DecodeError::*;
        let good = QueueLogRecord::Joined {
            user: user(7),
            tier1_pos: Some(5),
            seq: 9,
        }
        .encode();
        assert_eq!(QueueLogRecord::decode(&[]), Err(Empty));
        assert_eq!(QueueLogRecord::decode(&[2]), Err(UnsupportedVersion(2)));
        assert_eq!(QueueLogRecord::decode(&[1]), Err(Truncated));
        assert_eq!(QueueLogRecord::decode(&[1, 0]), Err(UnknownKind(0)));
        assert_eq!(QueueLogRecord::decode(&[1, 9]), Err(UnknownKind(9)));
        assert_eq!(QueueLogRecord::decode(&[1, 2, 0, 0]), Err(Truncated));
        let mut flag = good.clone();
        flag[18] = 7;
        assert_eq!(QueueLogRecord::decode(&flag), Err(BadFlag(7)));
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(QueueLogRecord::decode(&trailing), Err(TrailingBytes(1)));
        let mut overlong = good[..20].to_vec();
        overlong.extend([0x89, 0x00]);
        assert_eq!(QueueLogRecord::decode(&overlong), Err(NonCanonical));
        let mut huge = good[..20].to_vec();
        huge.extend([0xff; 9]);
        huge.push(0x02);
        assert_eq!(QueueLogRecord::decode(&huge), Err(Overflow));
        let mut endless = good[..20].to_vec();
        endless.extend([0xff; 12]);
        assert_eq!(QueueLogRecord::decode(&endless), Err(Overflow));
        for cut in 0..good.len() {
            assert!(QueueLogRecord::decode(&good[..cut]).is_err());
        }
    }

    #[test]
    fn replay_restores_order_and_sequence() {
        let t = Instant::now();
        let mut original = Queue::new();
        let mut log = Vec::new();
        for (n, pos) in [(1, None), (2, Some(9)), (3, None), (4, Some(3)), (5, None)] {
            let joined = original.join(user(n), pos, t).unwrap();
            log.push(QueueLogRecord::Joined {
                user: user(n),
                tier1_pos: pos,
                seq: joined.seq,
            });
        }
        original.leave(user(3));
        log.push(QueueLogRecord::Left { user: user(3) });
        for admitted in original.pop_front(1) {
            log.push(QueueLogRecord::Admitted { user: admitted });
        }
        let mut rebuilt = Queue::new();
        for record in &log {
            let bytes = record.encode();
            let decoded = QueueLogRecord::decode(&bytes).unwrap();
            rebuilt.apply(&decoded, t).unwrap();
        }
        assert_eq!(
            rebuilt.iter().collect::<Vec<_>>(),
            original.iter().collect::<Vec<_>>()
        );
        assert_eq!(rebuilt.next_seq(), original.next_seq());
        // A newcomer after the restart still goes behind everyone restored.
        let late = rebuilt.join(user(6), None, t).unwrap();
        assert_eq!(late.place.position, 4);
    }
}
