//! Durable seat holds, 64 concurrent callers each holding 2 seats, same machine, same run:
//! - the EventActor (group commit: the holds taken meanwhile, cut into chunks of at most 16,
//!   each chunk one Lua fencing script + one Postgres transaction, up to 4 chunks written
//!   side by side off the actor: docs/architecture.md#holds-in-flight);
//! - the same actor with up to 8 chunks at once (`actor-8-chunks`);
//! - the same actor writing each mailbox batch whole, two at once (`actor-two-batches`,
//!   the way before chunks), and one batch at a time (`actor-one-batch`), for what the
//!   chunks and the overlap buy;
//! - the seed's per-request path: a Redis Lua lock with a fencing token per seat, then a
//!   Postgres transaction with `SELECT ... FOR UPDATE`, a version check, the update and the
//!   reservation insert;
//! - pretix's way: a Postgres advisory lock per seat inside the transaction, a check that
//!   no live reservation holds the seat, then the insert.
//!
//! The two baselines use their own tables in the bench's throwaway database.
//! Run: `cargo bench --bench holds_vs_seed` (needs PostgreSQL and Redis).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use redis::Script;
use sqlx::PgPool;
use urr_actors::event::{DirectoryOptions, EventDirectory, EventRef, QueueSettings};
use urr_actors::ids::{ReservationId, SeatId, UserId};
use urr_store::event_store::PgRedisEventStore;
use uuid::Uuid;

mod support;

const CONCURRENT: usize = 64;
const SEATS: usize = 20_000;

const SEED_LOCK: &str = r"
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
for i = 2, #KEYS do
  local token = redis.call('INCR', KEYS[1])
  redis.call('SET', KEYS[i], ARGV[1] .. '|' .. token, 'PX', 300000)
end
return 1
";

const BASELINE_SCHEMA: &str = "
CREATE TABLE seed_seats (id UUID PRIMARY KEY, status TEXT NOT NULL, version INT NOT NULL);
CREATE TABLE seed_reservations (id UUID PRIMARY KEY, user_id UUID NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE seed_items (reservation_id UUID NOT NULL, seat_id UUID NOT NULL, live BOOLEAN NOT NULL DEFAULT true);
CREATE INDEX seed_items_seat ON seed_items (seat_id) WHERE live;
";

struct Bench {
    base: support::BenchDb,
    directory: EventDirectory,
    /// The same actors, up to 8 chunks at once.
    eight_chunks: EventDirectory,
    /// The same actors, writing each batch of holds whole, two batches at once.
    two_batches: EventDirectory,
    /// The same actors, writing one batch of holds at a time.
    one_batch: EventDirectory,
    user: UserId,
}

async fn setup() -> Bench {
    let base = support::bench_db(20).await;
    sqlx::raw_sql(BASELINE_SCHEMA)
        .execute(&base.db)
        .await
        .expect("baseline schema");
    let settings = QueueSettings {
        enabled: false,
        // One bench user holds thousands of seats: no per-user limit here.
        max_seats_per_user: Some(u32::MAX),
        ..QueueSettings::default()
    };
    let store = Arc::new(PgRedisEventStore::new(
        base.db.clone(),
        base.kv.clone(),
        settings,
    ));
    let directory = EventDirectory::start(store.clone(), DirectoryOptions::default())
        .await
        .expect("directory");
    let whole = |in_flight| DirectoryOptions {
        hold_batches_in_flight: in_flight,
        holds_per_write: usize::MAX,
        ..DirectoryOptions::default()
    };
    let eight_chunks = DirectoryOptions {
        hold_batches_in_flight: 8,
        ..DirectoryOptions::default()
    };
    let eight_chunks = EventDirectory::start(store.clone(), eight_chunks)
        .await
        .expect("directory");
    let two_batches = EventDirectory::start(store.clone(), whole(2))
        .await
        .expect("directory");
    let one_batch = EventDirectory::start(store, whole(1))
        .await
        .expect("directory");
    let user = urr_store::users::create(&base.db, "bench@urr.test", "b", "x")
        .await
        .expect("user");
    Bench {
        base,
        directory,
        eight_chunks,
        two_batches,
        one_batch,
        user: UserId::from(user.id),
    }
}

async fn actor_event(directory: &EventDirectory, bench: &Bench) -> (EventRef, Vec<SeatId>) {
    let (id, seats) = support::on_sale_event(&bench.base.db, Some((100, 200))).await;
    let handle = directory.event(id);
    handle.start().await.expect("actor");
    (handle, seats)
}

async fn baseline_seats(db: &PgPool) -> Vec<Uuid> {
    let seats: Vec<Uuid> = (0..SEATS).map(|_| Uuid::new_v4()).collect();
    sqlx::query(
        "INSERT INTO seed_seats (id, status, version) SELECT unnest($1::uuid[]), 'available', 0",
    )
    .bind(&seats)
    .execute(db)
    .await
    .expect("baseline seats");
    seats
}

/// The seed's path for one request.
async fn seed_hold(bench: &Bench, event: Uuid, script: &Script, seats: &[Uuid]) {
    let owner = Uuid::new_v4();
    let mut invocation = script.prepare_invoke();
    invocation.key(bench.base.kv.key(&format!("fence:{{{event}}}")));
    for seat in seats {
        invocation.key(bench.base.kv.key(&format!("seat:{{{event}}}:{seat}")));
    }
    let locked: i64 = invocation
        .arg(owner.to_string())
        .invoke_async(&mut bench.base.kv.conn())
        .await
        .expect("lock");
    assert_eq!(locked, 1, "baseline seats are distinct");
    let mut tx = bench.base.db.begin().await.expect("tx");
    let rows: Vec<(Uuid, String, i32)> = sqlx::query_as(
        "SELECT id, status, version FROM seed_seats WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind(seats)
    .fetch_all(&mut *tx)
    .await
    .expect("select for update");
    assert!(rows.iter().all(|(_, s, _)| s == "available"));
    for (id, _, version) in &rows {
        let updated = sqlx::query(
            "UPDATE seed_seats SET status = 'locked', version = version + 1 WHERE id = $1 AND version = $2",
        )
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await
        .expect("version check");
        assert_eq!(updated.rows_affected(), 1);
    }
    sqlx::query("INSERT INTO seed_reservations (id, user_id) VALUES ($1, $2)")
        .bind(owner)
        .bind(bench.user.0)
        .execute(&mut *tx)
        .await
        .expect("reservation");
    sqlx::query("INSERT INTO seed_items (reservation_id, seat_id) SELECT $1, unnest($2::uuid[])")
        .bind(owner)
        .bind(seats)
        .execute(&mut *tx)
        .await
        .expect("items");
    tx.commit().await.expect("commit");
}

/// pretix's way for one request.
async fn pretix_hold(bench: &Bench, seats: &[Uuid]) {
    let owner = Uuid::new_v4();
    let mut sorted = seats.to_vec();
    sorted.sort();
    let mut tx = bench.base.db.begin().await.expect("tx");
    for seat in &sorted {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))")
            .bind(seat.to_string())
            .execute(&mut *tx)
            .await
            .expect("advisory lock");
    }
    let taken: i64 =
        sqlx::query_scalar("SELECT count(*) FROM seed_items WHERE seat_id = ANY($1) AND live")
            .bind(&sorted)
            .fetch_one(&mut *tx)
            .await
            .expect("check");
    assert_eq!(taken, 0);
    sqlx::query("INSERT INTO seed_reservations (id, user_id) VALUES ($1, $2)")
        .bind(owner)
        .bind(bench.user.0)
        .execute(&mut *tx)
        .await
        .expect("reservation");
    sqlx::query("INSERT INTO seed_items (reservation_id, seat_id) SELECT $1, unnest($2::uuid[])")
        .bind(owner)
        .bind(&sorted)
        .execute(&mut *tx)
        .await
        .expect("items");
    tx.commit().await.expect("commit");
}

fn compare(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let bench = runtime.block_on(setup());
    let script = Script::new(SEED_LOCK);
    let mut group = c.benchmark_group("holds_vs_seed");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(CONCURRENT as u64));

    for way in [
        "actor",
        "actor-8-chunks",
        "actor-two-batches",
        "actor-one-batch",
        "seed",
        "pretix",
    ] {
        group.bench_function(BenchmarkId::new(way, CONCURRENT), |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (bench, script) = (&bench, &script);
                async move {
                    let mut took = Duration::ZERO;
                    let mut actor: Option<(EventRef, Vec<SeatId>)> = None;
                    let mut plain: Vec<Uuid> = Vec::new();
                    let event = Uuid::new_v4();
                    let mut next = 0usize;
                    for _ in 0..iters {
                        // Fresh seats when these run out (untimed).
                        if next + 2 * CONCURRENT > SEATS || (actor.is_none() && plain.is_empty()) {
                            next = 0;
                            let directory = match way {
                                "actor" => Some(&bench.directory),
                                "actor-8-chunks" => Some(&bench.eight_chunks),
                                "actor-two-batches" => Some(&bench.two_batches),
                                "actor-one-batch" => Some(&bench.one_batch),
                                _ => None,
                            };
                            if let Some(directory) = directory {
                                actor = Some(actor_event(directory, bench).await);
                            } else {
                                plain = baseline_seats(&bench.base.db).await;
                            }
                        }
                        let start = Instant::now();
                        if let Some((handle, seats)) = &actor {
                            let holds = (0..CONCURRENT).map(|k| {
                                handle.hold_seats(
                                    bench.user,
                                    ReservationId::from(Uuid::now_v7()),
                                    seats[next + 2 * k..next + 2 * k + 2].to_vec(),
                                    Uuid::new_v4().to_string(),
                                )
                            });
                            let results = futures::future::join_all(holds).await;
                            assert!(results.iter().all(Result::is_ok));
                        } else {
                            let holds = (0..CONCURRENT).map(|k| {
                                let pair = &plain[next + 2 * k..next + 2 * k + 2];
                                async move {
                                    if way == "seed" {
                                        seed_hold(bench, event, script, pair).await;
                                    } else {
                                        pretix_hold(bench, pair).await;
                                    }
                                }
                            });
                            futures::future::join_all(holds).await;
                        }
                        took += start.elapsed();
                        next += 2 * CONCURRENT;
                    }
                    took
                }
            })
        });
    }
    group.finish();
    runtime.block_on(async {
        bench.directory.shutdown().await;
        bench.eight_chunks.shutdown().await;
        bench.two_batches.shutdown().await;
        bench.one_batch.shutdown().await;
        bench.base.drop_database().await;
    });
}

criterion_group!(benches, compare);
criterion_main!(benches);
