//! The Tier-2 queue in memory (the EventActor's domain): join, status and admit at 10k,
//! 100k and 1M queued. Run: `cargo bench --bench queue`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use urr_actors::ids::UserId;
use urr_actors::queue::Queue;
use uuid::Uuid;

fn filled(n: usize, now: Instant) -> (Queue, Vec<UserId>) {
    let mut queue = Queue::new();
    let users: Vec<UserId> = (0..n).map(|_| UserId::from(Uuid::new_v4())).collect();
    for (i, &user) in users.iter().enumerate() {
        // Most people come through Tier 1 with a position; some skip it.
        let tier1 = (i % 5 != 0).then_some(i as u64);
        queue.join(user, tier1, now).expect("room");
    }
    (queue, users)
}

fn queue_ops(c: &mut Criterion) {
    let now = Instant::now();
    let mut group = c.benchmark_group("queue");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));
    for n in [10_000usize, 100_000, 1_000_000] {
        let (mut queue, users) = filled(n, now);

        group.bench_with_input(BenchmarkId::new("join", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let fresh: Vec<UserId> = (0..iters).map(|_| UserId::from(Uuid::new_v4())).collect();
                let start = Instant::now();
                for (i, &user) in fresh.iter().enumerate() {
                    let tier1 = (i % 5 != 0).then_some((i as u64) * 7 % n as u64);
                    black_box(queue.join(user, tier1, now).expect("room"));
                }
                let took = start.elapsed();
                for &user in &fresh {
                    queue.leave(user);
                }
                took
            })
        });

        let mut i = 0usize;
        group.bench_with_input(BenchmarkId::new("status", n), &n, |b, _| {
            b.iter(|| {
                i = (i + 7919) % users.len();
                black_box(queue.position(users[i]))
            })
        });

        // Admitting 100 from the head; they rejoin at the back untimed, so the size holds.
        group.bench_with_input(BenchmarkId::new("admit_100", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let mut took = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let admitted = black_box(queue.pop_front(100));
                    took += start.elapsed();
                    for user in admitted {
                        queue.join(user, None, now).expect("room");
                    }
                }
                took
            })
        });
    }
    group.finish();
}

criterion_group!(benches, queue_ops);
criterion_main!(benches);
