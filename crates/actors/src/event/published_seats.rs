//! The seat map as subscribers know it: one status code per seat in layout order, and
//! the version of the last change announced (`docs/architecture.md#seat-map-on-the-wire`).
//!
//! It changes only where the actor announces a change on the seat stream, in the same
//! step, so a client that loads it at version `v` and applies the stream's changes after
//! `v`, in order, holds exactly what the actor announced. A hold not yet durable (and so
//! not announced) is not in it.

use std::collections::HashMap;

use super::views::{SeatStateView, SeatStatus, SeatVersion};
use crate::ids::SeatId;

pub(super) struct PublishedSeats {
    version: SeatVersion,
    codes: Vec<u8>,
    index: HashMap<SeatId, usize>,
}

impl PublishedSeats {
    /// The map as an actor starts with it; `actor` tells this actor's versions from those
    /// of the one before it.
    pub(super) fn new(actor: u32, seats: impl IntoIterator<Item = (SeatId, SeatStatus)>) -> Self {
        let mut codes = Vec::new();
        let mut index = HashMap::new();
        for (i, (seat, status)) in seats.into_iter().enumerate() {
            codes.push(code(status));
            index.insert(seat, i);
        }
        Self {
            version: SeatVersion { actor, seq: 0 },
            codes,
            index,
        }
    }

    /// Records one announced change; its version.
    pub(super) fn change(&mut self, seat: SeatId, status: SeatStatus) -> SeatVersion {
        if let Some(&i) = self.index.get(&seat) {
            self.codes[i] = code(status);
        }
        self.version.seq += 1;
        self.version
    }

    pub(super) fn view(&self) -> SeatStateView {
        SeatStateView {
            version: self.version,
            codes: self.codes.clone(),
        }
    }
}

/// One byte per seat: `a` available, `l` held (locked), `r` sold (reserved).
pub fn code(status: SeatStatus) -> u8 {
    match status {
        SeatStatus::Available => b'a',
        SeatStatus::Locked => b'l',
        SeatStatus::Reserved => b'r',
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn each_announced_change_moves_the_version_and_the_code() {
        let seats: Vec<SeatId> = (1..=3).map(|n| SeatId(Uuid::from_u128(n))).collect();
        let mut published =
            PublishedSeats::new(7, seats.iter().map(|&seat| (seat, SeatStatus::Available)));
        assert_eq!(published.view().codes, b"aaa");
        let v1 = published.change(seats[1], SeatStatus::Locked);
        let v2 = published.change(seats[1], SeatStatus::Reserved);
        assert_eq!((v1.actor, v1.seq, v2.seq), (7, 1, 2));
        let view = published.view();
        assert_eq!(view.codes, b"ara");
        assert_eq!(view.version, v2);
    }
}
