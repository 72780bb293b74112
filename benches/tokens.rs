//! Token and password costs per request: what every authenticated call pays.
//! Run: `cargo bench --bench tokens`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use urr_auth::{Role, Tier, TokenKeys, password};
use uuid::Uuid;

fn tokens(c: &mut Criterion) {
    let keys = TokenKeys::new(b"bench-secret-of-at-least-32-bytes!!");
    let user = Uuid::now_v7();
    let (access, _) = keys
        .issue_access(user, "fan@example.com", Role::User)
        .expect("sign");
    let (entry, _) = keys
        .issue_queue("event-1", "user-1", Tier::Two, None)
        .expect("sign");
    let mut group = c.benchmark_group("tokens");
    group.bench_function("access/sign", |b| {
        b.iter(|| keys.issue_access(black_box(user), "fan@example.com", Role::User))
    });
    group.bench_function("access/verify", |b| {
        b.iter(|| keys.verify_access(black_box(&access)))
    });
    group.bench_function("entry/verify", |b| {
        b.iter(|| keys.verify_queue(black_box(&entry), Tier::Two, "event-1", "user-1"))
    });
    group.finish();

    let hash = password::hash("correct-horse-battery").expect("hash");
    let mut group = c.benchmark_group("password");
    group.sample_size(10);
    group.bench_function("argon2id/verify", |b| {
        b.iter(|| password::verify(black_box("correct-horse-battery"), &hash))
    });
    group.finish();
}

criterion_group!(benches, tokens);
criterion_main!(benches);
