//! The pre-queue shuffle: everyone who joined before the sale opened gets a place drawn by
//! a seeded permutation, so arriving a millisecond earlier in the pre-queue buys nothing.
//!
//! The permutation is a keyed Feistel network over the smallest power-of-four domain that
//! holds the pre-queue, walked in cycles until it lands inside it. That makes it a
//! bijection over `1..=size` computable one ticket at a time (a check never materialises a
//! table of 100,000 places), and anyone holding the published seed and size can recompute
//! every place to audit the draw.

/// Four rounds of a balanced Feistel network are a pseudo-random permutation; two more
/// cost nothing and keep small domains well mixed.
const ROUNDS: u64 = 6;

/// A seeded permutation of the pre-queue tickets `1..=size` onto positions `1..=size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shuffle {
    seed: u64,
    size: u64,
    half_bits: u32,
}

impl Shuffle {
    pub fn new(seed: u64, size: u64) -> Self {
        let bits = 64 - size.max(1).leading_zeros();
        Self {
            seed,
            size,
            // At least one bit per half, so a domain of one or two still permutes.
            half_bits: bits.div_ceil(2).max(1),
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The position drawn for pre-queue ticket `ticket`; `None` outside `1..=size`.
    pub fn position(&self, ticket: u64) -> Option<u64> {
        if ticket == 0 || ticket > self.size {
            return None;
        }
        // Cycle-walking: the domain 4^k < 4 * size, so this ends after a few steps.
        let mut x = ticket - 1;
        loop {
            x = self.encrypt(x);
            if x < self.size {
                return Some(x + 1);
            }
        }
    }

    fn encrypt(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let mut left = x >> self.half_bits;
        let mut right = x & mask;
        for round in 0..ROUNDS {
            let next = left ^ (round_function(self.seed, round, right) & mask);
            left = right;
            right = next;
        }
        (left << self.half_bits) | right
    }
}

/// SplitMix64's finaliser over seed, round and input: fast, well mixed, and simple enough
/// for an auditor to re-implement from this file.
fn round_function(seed: u64, round: u64, value: u64) -> u64 {
    let mut z = seed
        .wrapping_add(round.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(value.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_bijection(shuffle: &Shuffle) -> bool {
        let n = shuffle.size() as usize;
        let mut seen = vec![false; n + 1];
        for ticket in 1..=shuffle.size() {
            let p = shuffle.position(ticket).unwrap() as usize;
            if p == 0 || p > n || seen[p] {
                return false;
            }
            seen[p] = true;
        }
        true
    }

    #[test]
    fn every_size_is_a_bijection() {
        for size in [1, 2, 3, 4, 5, 7, 16, 17, 100, 1000, 4097] {
            for seed in [0, 1, 42, u64::MAX] {
                assert!(
                    is_bijection(&Shuffle::new(seed, size)),
                    "size {size} seed {seed}"
                );
            }
        }
    }

    #[test]
    fn same_seed_same_draw_and_seeds_differ() {
        let a = Shuffle::new(7, 1000);
        let b = Shuffle::new(7, 1000);
        let c = Shuffle::new(8, 1000);
        let draw = |s: &Shuffle| {
            (1..=1000)
                .map(|t| s.position(t).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(&a), draw(&b));
        assert_ne!(draw(&a), draw(&c));
        // A shuffle that leaves most tickets in place is no shuffle.
        let fixed = (1..=1000).filter(|&t| a.position(t) == Some(t)).count();
        assert!(fixed < 20, "{fixed} fixed points");
    }

    #[test]
    fn tickets_outside_the_pre_queue_have_no_place() {
        let s = Shuffle::new(3, 10);
        assert_eq!(s.position(0), None);
        assert_eq!(s.position(11), None);
    }
}
