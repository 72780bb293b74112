//! What bot defence at Tier 1 costs (`docs/architecture.md#bot-defence-at-tier-1`), side
//! by side in one run: the client's proof-of-work solve at 12, 16 and 20 bits (the rule
//! the browser's worker and the load generator use), and the server's share of a join:
//! verifying the proof (one HMAC, one SHA-256), marking it used in Redis, counting a
//! join limit, and a whole join with and without a proof.
//! Run: `cargo bench -p urr-vwr --bench bot_defence` (Redis on 127.0.0.1:6379).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use urr_auth::TokenKeys;
use urr_kv::Kv;
use urr_vwr::domain::ids::EventId;
use urr_vwr::domain::proof::{Challenge, ChallengeKey, solve};
use urr_vwr::waiting_room::RoomChange;
use urr_vwr::{AnyStore, JoinProof, RedisStore, RoomDefaults, VwrStore, WaitingRoom};
use uuid::Uuid;

fn client_solve(c: &mut Criterion) {
    let key = ChallengeKey::derive(&TokenKeys::new(b"bench-secret-of-at-least-32-bytes!!"));
    let mut group = c.benchmark_group("pow/client_solve");
    for (bits, samples, secs) in [(12u8, 100, 5), (16, 30, 10), (20, 10, 30)] {
        group.sample_size(samples);
        group.measurement_time(Duration::from_secs(secs));
        // A fresh challenge per iteration: the mean over many is the expected cost, 2^bits
        // hashes, whatever one challenge's luck.
        group.bench_function(format!("{bits}_bits"), |b| {
            b.iter_batched(
                || Challenge::new("1", "user", bits, Utc::now()).sign(&key),
                |text| solve(black_box(&text), bits),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn server(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let keys = TokenKeys::new(b"bench-secret-of-at-least-32-bytes!!");
    let key = ChallengeKey::derive(&keys);
    let now = Utc::now();
    let text = Challenge::new("1", "user", 16, now).sign(&key);
    let counter = solve(&text, 16);
    let mut group = c.benchmark_group("pow/server");
    group.bench_function("verify", |b| {
        b.iter(|| Challenge::verify(&key, black_box(&text), counter, ("1", "user"), 16, now))
    });

    let kv = runtime
        .block_on(Kv::connect(
            "redis://127.0.0.1:6379",
            format!("bench:vwr:{}:", Uuid::new_v4().simple()),
        ))
        .expect("redis on 127.0.0.1:6379");
    let store = AnyStore::Redis(RedisStore::new(kv));
    let event = EventId::parse("1").expect("event");
    let n = AtomicU64::new(0);
    group.bench_function("verify_and_use_once/redis", |b| {
        b.to_async(&runtime).iter(|| async {
            let proof =
                Challenge::verify(&key, &text, counter, ("1", "user"), 16, now).expect("verifies");
            let nonce = format!("{}-{}", proof.nonce, n.fetch_add(1, Ordering::Relaxed));
            store
                .use_once(&event, &nonce, proof.expires_at)
                .await
                .expect("mark")
        })
    });
    group.bench_function("join_limit_hit/redis", |b| {
        b.to_async(&runtime)
            .iter(|| async { store.hit(&event, "acct:user", 0).await.expect("hit") })
    });
    group.finish();

    // A whole join (a new place each time) in a room without and with a proof of work:
    // the server's share only. The proofs are made before the clock starts (8 bits: the
    // server's check is one hash at any difficulty), and each sample's joins run in one
    // task back to back, as a busy room's would.
    let room = WaitingRoom::new(store.clone(), keys.clone(), RoomDefaults::default());
    let mut group = c.benchmark_group("pow/join");
    group.sample_size(20);
    for difficulty in [0u8, 8] {
        let event = EventId::parse(&Uuid::new_v4().to_string()).expect("event");
        runtime
            .block_on(room.change(
                &event,
                RoomChange::Open {
                    batch: None,
                    interval_secs: None,
                    claim_window_secs: None,
                    defence: urr_vwr::domain::defence::DefenceChange {
                        pow_difficulty: Some(difficulty),
                        ..Default::default()
                    },
                },
            ))
            .expect("open");
        let (room, event) = (&room, &event);
        group.bench_function(format!("assign/{difficulty}_bits"), |b| {
            b.to_async(&runtime).iter_custom(|iters| async move {
                let mut joins = Vec::new();
                for _ in 0..iters {
                    let user = Uuid::new_v4().to_string();
                    let proof = if difficulty == 0 {
                        JoinProof::default()
                    } else {
                        let issued = room.challenge(event, &user).await.expect("challenge");
                        JoinProof {
                            counter: Some(solve(&issued.challenge, difficulty)),
                            challenge: Some(issued.challenge),
                            ..JoinProof::default()
                        }
                    };
                    joins.push((user, proof));
                }
                let started = std::time::Instant::now();
                for (user, proof) in &joins {
                    black_box(room.assign_with(event, user, proof).await.expect("join"));
                }
                started.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, client_solve, server);
criterion_main!(benches);
