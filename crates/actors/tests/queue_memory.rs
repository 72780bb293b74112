//! Measures the queue's memory per waiting person at one million people.
//!
//! A counting global allocator is the only honest measure: it sees every index, every
//! node, every spare bucket. It is the one place in the crate that needs `unsafe`
//! (implementing `GlobalAlloc`), and it only forwards to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use urr_actors::{Queue, UserId};
use uuid::Uuid;

struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to `System` unchanged; the counter is a side note.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, which `System` shares.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, hence from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `realloc`'s contract, which `System` shares.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const PEOPLE: u64 = 1_000_000;
const BUDGET_BYTES_PER_PERSON: f64 = 64.0;

/// A cheap deterministic generator, so the measurement is reproducible.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn bytes_per_person(tier1: impl Fn(u64, &mut u64) -> Option<u64>) -> f64 {
    let start = Instant::now();
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let mut queue = Queue::new();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..PEOPLE {
        let user = UserId(Uuid::from_u64_pair(xorshift(&mut rng), i));
        let pos = tier1(i, &mut rng);
        queue
            .join(user, pos, start + Duration::from_millis(i / 100))
            .expect("room in the queue");
    }
    assert_eq!(queue.len(), PEOPLE as usize);
    let used = LIVE_BYTES.load(Ordering::Relaxed) - before;
    drop(queue);
    used as f64 / PEOPLE as f64
}

#[test]
fn a_million_people_fit_in_64_bytes_each() {
    // The expected rush: most people come through Tier 1, in roughly Tier-1 order with
    // some jitter; a fifth skipped Tier 1.
    let typical = bytes_per_person(|i, rng| {
        (!xorshift(rng).is_multiple_of(5)).then(|| (i + xorshift(rng) % 1000).saturating_sub(500))
    });
    // The worst order for the tree: Tier-1 positions in random order.
    let shuffled = bytes_per_person(|_, rng| Some(xorshift(rng) % (4 * PEOPLE)));
    println!("bytes per person: typical {typical:.1}, shuffled {shuffled:.1}");
    assert!(
        typical <= BUDGET_BYTES_PER_PERSON,
        "typical: {typical:.1} bytes per person"
    );
    assert!(
        shuffled <= BUDGET_BYTES_PER_PERSON,
        "shuffled: {shuffled:.1} bytes per person"
    );
}
