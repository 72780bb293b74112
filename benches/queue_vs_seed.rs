//! The Tier-2 queue in the EventActor beside the seed's design, same machine, same run:
//! the seed keeps a Redis sorted set per event (`{eventId}:queue`, score = arrival), does
//! ZADD/ZRANK per request, and admits with a Lua script moving a batch from the queue
//! set to the `{eventId}:active` set. Needs PostgreSQL and Redis as the tests use them.
//! Run: `cargo bench --bench queue_vs_seed` (sizes: URR_BENCH_SIZES, default
//! 10000,100000,1000000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use futures::StreamExt;
use redis::Script;
use urr_actors::event::{DirectoryOptions, EventDirectory, EventRef, QueueSettings};
use urr_actors::ids::UserId;
use urr_actors::queue::Queue;
use urr_store::event_store::PgRedisEventStore;
use uuid::Uuid;

mod support;

/// The seed's admission script: move up to ARGV[1] users from the queue set to the
/// active set with expiry scores.
const SEED_ADMIT: &str = r"
local users = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
for _, user in ipairs(users) do
  redis.call('ZADD', KEYS[2], tonumber(ARGV[2]), user)
  redis.call('ZREM', KEYS[1], user)
end
return #users
";

/// Callers at once in the concurrent variants.
const CONCURRENT: usize = 64;

fn sizes() -> Vec<usize> {
    std::env::var("URR_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000])
}

struct Setup {
    base: support::BenchDb,
    directory: EventDirectory,
}

async fn setup() -> Setup {
    let base = support::bench_db(10).await;
    // Threshold 1 with a long active TTL: after the first join nobody is admitted, so the
    // line keeps its length while it is measured.
    let settings = QueueSettings {
        threshold: 1,
        active_ttl: Duration::from_secs(3600),
        queue_ttl: Duration::from_secs(3600),
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
    Setup { base, directory }
}

/// The seed's status: position and line length, as its reply needs.
async fn seed_status(mut conn: urr_kv::KvConn, key: String, member: String) {
    let _: (Option<i64>, i64) = redis::pipe()
        .cmd("ZRANK")
        .arg(&key)
        .arg(&member)
        .cmd("ZCARD")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("zrank");
}

/// The seed's join: ZADD NX at the arrival score, then ZRANK for the position.
async fn seed_join(mut conn: urr_kv::KvConn, key: String, at: f64) {
    let member = Uuid::new_v4().to_string();
    let _: (i64, Option<i64>) = redis::pipe()
        .cmd("ZADD")
        .arg(&key)
        .arg("NX")
        .arg(at)
        .arg(&member)
        .cmd("ZRANK")
        .arg(&key)
        .arg(&member)
        .query_async(&mut conn)
        .await
        .expect("zadd");
}

async fn actor_event(setup: &Setup) -> EventRef {
    let (id, _) = support::on_sale_event(&setup.base.db, None).await;
    let event = setup.directory.event(id);
    event.start().await.expect("actor");
    event
}

fn compare(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let setup = runtime.block_on(setup());
    let admit = Script::new(SEED_ADMIT);
    let mut group = c.benchmark_group("queue_vs_seed");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    for n in sizes() {
        // Fill both lines with the same n users.
        let users: Vec<UserId> = (0..n).map(|_| UserId::from(Uuid::new_v4())).collect();
        let event = Uuid::new_v4();
        let queue_key = setup.base.kv.key(&format!("{{{event}}}:queue"));
        let active_key = setup.base.kv.key(&format!("{{{event}}}:active"));
        let handle = runtime.block_on(async {
            let mut conn = setup.base.kv.conn();
            for (chunk_index, chunk) in users.chunks(10_000).enumerate() {
                let mut pipe = redis::pipe();
                for (i, user) in chunk.iter().enumerate() {
                    let score = (chunk_index * 10_000 + i) as f64;
                    pipe.cmd("ZADD")
                        .arg(&queue_key)
                        .arg(score)
                        .arg(user.0.to_string())
                        .ignore();
                }
                let _: () = pipe.query_async(&mut conn).await.expect("seed fill");
            }
            let handle = actor_event(&setup).await;
            futures::stream::iter(users.iter().copied())
                .map(|user| {
                    let handle = handle.clone();
                    async move { handle.join(user, None).await.expect("join") }
                })
                .buffer_unordered(512)
                .for_each(|_| async {})
                .await;
            handle
        });

        let mut i = 0usize;
        group.bench_with_input(BenchmarkId::new("status/actor", n), &n, |b, _| {
            b.to_async(&runtime).iter(|| {
                i = (i + 7919) % users.len();
                let (handle, user) = (handle.clone(), users[i]);
                async move { handle.status(user).await.expect("status") }
            })
        });
        let mut j = 0usize;
        group.bench_with_input(BenchmarkId::new("status/seed", n), &n, |b, _| {
            b.to_async(&runtime).iter(|| {
                j = (j + 7919) % users.len();
                seed_status(
                    setup.base.kv.conn(),
                    queue_key.clone(),
                    users[j].0.to_string(),
                )
            })
        });
        group.bench_with_input(BenchmarkId::new("join/actor", n), &n, |b, _| {
            b.to_async(&runtime).iter(|| {
                let handle = handle.clone();
                async move {
                    handle
                        .join(UserId::from(Uuid::new_v4()), None)
                        .await
                        .expect("join")
                }
            })
        });
        let mut score = n as f64;
        group.bench_with_input(BenchmarkId::new("join/seed", n), &n, |b, _| {
            b.to_async(&runtime).iter(|| {
                score += 1.0;
                seed_join(setup.base.kv.conn(), queue_key.clone(), score)
            })
        });
        // 64 callers at once, as in a rush: the actor answers statuses from memory one
        // after another and acknowledges every join waiting in its mailbox with one log
        // write; the seed sends each caller's commands to Redis (pipelined on one
        // multiplexed connection, as its Lettuce client does). Time per 64 replies.
        group.bench_with_input(BenchmarkId::new("status_x64/actor", n), &n, |b, _| {
            b.to_async(&runtime).iter(|| {
                i = (i + 7919) % users.len();
                let calls = (0..CONCURRENT).map(|k| {
                    let (handle, user) = (handle.clone(), users[(i + k * 131) % users.len()]);
                    async move { handle.status(user).await.expect("status") }
                });
                futures::future::join_all(calls)
            })
        });
        group.bench_with_input(BenchmarkId::new("status_x64/seed", n), &n, |b, _| {
            b.to_async(&runtime).iter(|| {
                j = (j + 7919) % users.len();
                let calls = (0..CONCURRENT).map(|k| {
                    let member = users[(j + k * 131) % users.len()].0.to_string();
                    seed_status(setup.base.kv.conn(), queue_key.clone(), member)
                });
                futures::future::join_all(calls)
            })
        });
        group.bench_with_input(BenchmarkId::new("join_x64/actor", n), &n, |b, _| {
            b.to_async(&runtime).iter(|| {
                let calls = (0..CONCURRENT).map(|_| {
                    let handle = handle.clone();
                    async move {
                        handle
                            .join(UserId::from(Uuid::new_v4()), None)
                            .await
                            .expect("join")
                    }
                });
                futures::future::join_all(calls)
            })
        });
        group.bench_with_input(BenchmarkId::new("join_x64/seed", n), &n, |b, _| {
            b.to_async(&runtime).iter(|| {
                let calls = (0..CONCURRENT).map(|_| {
                    score += 1.0;
                    seed_join(setup.base.kv.conn(), queue_key.clone(), score)
                });
                futures::future::join_all(calls)
            })
        });
        // Admission of 100 from the head: the seed's script (members re-added at the back,
        // untimed) beside the actor's domain step over the same number of users.
        group.bench_with_input(BenchmarkId::new("admit_100/seed", n), &n, |b, _| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (queue_key, active_key, admit) =
                    (queue_key.clone(), active_key.clone(), &admit);
                let mut conn = setup.base.kv.conn();
                async move {
                    let mut took = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        let _: i64 = admit
                            .key(&queue_key)
                            .key(&active_key)
                            .arg(100)
                            .arg(4_102_444_800_i64)
                            .invoke_async(&mut conn)
                            .await
                            .expect("admit");
                        took += start.elapsed();
                        let moved: Vec<String> = redis::cmd("ZRANGE")
                            .arg(&active_key)
                            .arg(0)
                            .arg(-1)
                            .query_async(&mut conn)
                            .await
                            .expect("active");
                        let mut pipe = redis::pipe();
                        pipe.cmd("DEL").arg(&active_key).ignore();
                        for member in moved {
                            pipe.cmd("ZADD")
                                .arg(&queue_key)
                                .arg(1e15)
                                .arg(member)
                                .ignore();
                        }
                        let _: () = pipe.query_async(&mut conn).await.expect("refill");
                    }
                    took
                }
            })
        });
        let mut domain = Queue::new();
        let now = Instant::now();
        for &user in &users {
            let _ = domain.join(user, None, now);
        }
        group.bench_with_input(BenchmarkId::new("admit_100/actor_domain", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let mut took = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let admitted = domain.pop_front(100);
                    took += start.elapsed();
                    for user in admitted {
                        let _ = domain.join(user, None, now);
                    }
                }
                took
            })
        });
        runtime.block_on(async {
            let log_key = setup
                .base
                .kv
                .key(&format!("qlog:{{{}}}", handle.event_id()));
            let _: () = redis::cmd("DEL")
                .arg(&queue_key)
                .arg(&active_key)
                .arg(&log_key)
                .query_async(&mut setup.base.kv.conn())
                .await
                .expect("cleanup");
        });
    }
    group.finish();
    runtime.block_on(async {
        setup.directory.shutdown().await;
        setup.base.drop_database().await;
    });
}

criterion_group!(benches, compare);
criterion_main!(benches);
