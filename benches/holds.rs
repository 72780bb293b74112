//! Seat holds: in memory (the SeatMap), and the durable path through the EventActor
//! (Redis fencing script + Postgres, group-committed), one at a time and 64 at once.
//! The durable cases need PostgreSQL and Redis as the tests use them (URR_TEST_DATABASE_URL,
//! URR_TEST_REDIS_URL, or the local defaults). Run: `cargo bench --bench holds`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use urr_actors::event::{DirectoryOptions, EventDirectory, EventRef, QueueSettings};
use urr_actors::ids::{ReservationId, SeatId, UserId};
use urr_actors::seat_map::SeatMap;
use urr_store::event_store::PgRedisEventStore;
use uuid::Uuid;

mod support;

fn in_memory(c: &mut Criterion) {
    let seats: Vec<SeatId> = (0..20_000).map(|_| SeatId::from(Uuid::new_v4())).collect();
    let mut map = SeatMap::new(seats.iter().copied());
    let now = Instant::now();
    let mut group = c.benchmark_group("hold/in_memory");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("hold_2_and_release", |b| {
        b.iter(|| {
            i = (i + 2) % (seats.len() - 1);
            let reservation = ReservationId::from(Uuid::new_v4());
            let user = UserId::from(Uuid::nil());
            black_box(
                map.hold(
                    user,
                    reservation,
                    &seats[i..i + 2],
                    now,
                    Duration::from_secs(300),
                    4,
                )
                .is_ok(),
            );
            map.release(reservation);
        })
    });
    group.finish();
}

struct Bench {
    base: support::BenchDb,
    directory: EventDirectory,
    users: Vec<UserId>,
}

async fn setup() -> Bench {
    let base = support::bench_db(10).await;
    let settings = QueueSettings {
        enabled: false,
        max_seats_per_hold: 4,
        // A few bench users hold thousands of seats: no per-user limit here.
        max_seats_per_user: Some(u32::MAX),
        ..QueueSettings::default()
    };
    let store = Arc::new(PgRedisEventStore::new(
        base.db.clone(),
        base.kv.clone(),
        settings,
    ));
    let directory = EventDirectory::start(store, DirectoryOptions::default())
        .await
        .expect("directory");
    let mut users = Vec::new();
    for i in 0..64 {
        let user = urr_store::users::create(&base.db, &format!("bench{i}@urr.test"), "b", "x")
            .await
            .expect("user");
        users.push(UserId::from(user.id));
    }
    Bench {
        base,
        directory,
        users,
    }
}

/// A fresh on-sale event of 20,000 seats; its actor and seat ids.
async fn event(bench: &Bench) -> (EventRef, Vec<SeatId>) {
    let (id, seats) = support::on_sale_event(&bench.base.db, Some((100, 200))).await;
    let handle = bench.directory.event(id);
    handle.start().await.expect("actor");
    (handle, seats)
}

fn durable(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let bench = runtime.block_on(setup());
    let mut group = c.benchmark_group("hold/durable");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for concurrent in [1usize, 64] {
        group.throughput(Throughput::Elements(concurrent as u64));
        group.bench_with_input(
            BenchmarkId::new("two_seats", concurrent),
            &concurrent,
            |b, &concurrent| {
                let mut current: Option<(EventRef, Vec<SeatId>, usize)> = None;
                b.to_async(&runtime).iter_custom(|iters| {
                    let taken = current.take();
                    let bench = &bench;
                    async move {
                        let mut state = taken;
                        let mut took = Duration::ZERO;
                        for _ in 0..iters {
                            let needs_event = state
                                .as_ref()
                                .is_none_or(|(_, seats, next)| next + 2 * concurrent > seats.len());
                            if needs_event {
                                let (handle, seats) = event(bench).await;
                                state = Some((handle, seats, 0));
                            }
                            let Some((handle, seats, next)) = state.as_mut() else {
                                continue;
                            };
                            let holds = (0..concurrent).map(|k| {
                                let pair = seats[*next + 2 * k..*next + 2 * k + 2].to_vec();
                                handle.hold_seats(
                                    bench.users[k % bench.users.len()],
                                    ReservationId::from(Uuid::now_v7()),
                                    pair,
                                    Uuid::new_v4().to_string(),
                                )
                            });
                            let start = Instant::now();
                            let results = futures::future::join_all(holds).await;
                            took += start.elapsed();
                            assert!(results.iter().all(Result::is_ok), "every hold succeeds");
                            *next += 2 * concurrent;
                        }
                        took
                    }
                });
            },
        );
    }
    group.finish();
    runtime.block_on(async {
        bench.directory.shutdown().await;
        bench.base.drop_database().await;
    });
}

criterion_group!(benches, in_memory, durable);
criterion_main!(benches);
