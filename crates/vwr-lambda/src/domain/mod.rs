//! The waiting room's rules as plain values: no I/O, so every rule is tested directly.

pub mod defence;
pub mod ids;
pub mod pacing;
pub mod proof;
pub mod room;
pub mod shuffle;
