//! The actor runtime, measured: the EventActor's queue logic (`Admission`: status of a
//! queued user, join of a newcomer) behind a mailbox on ractor, beside the same logic
//! behind an actix actor. Both answer through their runtime's request/reply path; the
//! domain work per message is identical, so the difference is the runtime's.
//!
//! ractor runs on a current-thread tokio runtime (as actix does: actix-rt is one) and on
//! the multi-thread runtime URR deploys with.
//! Run: `cargo bench --bench actors` (no services needed).

use std::time::{Duration, Instant};

use actix::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};
use ractor::{Actor as RactorActor, ActorProcessingErr, ActorRef, RpcReplyPort};
use urr_actors::admission::{Admission, AdmissionConfig, UserStatus};
use urr_actors::ids::UserId;
use uuid::Uuid;

/// People already in line when the measurement starts.
const QUEUED: u128 = 100_000;
/// Requests in flight at once in the concurrent variant.
const CONCURRENT: usize = 64;

fn user(n: u128) -> UserId {
    UserId(Uuid::from_u128(n + 1))
}

/// A line of `QUEUED` people behind one active user, as during a rush.
fn filled() -> Admission {
    let mut admission = Admission::new(AdmissionConfig {
        threshold: 1,
        batch: 100,
        active_ttl: Duration::from_secs(3600),
        queue_ttl: Duration::from_secs(3600),
    });
    let now = std::time::Instant::now();
    for n in 0..QUEUED {
        let _ = admission.join(user(n), Some(n as u64), now);
    }
    admission
}

// ---- ractor --------------------------------------------------------------------------

enum QueueMsg {
    Status(UserId, RpcReplyPort<Option<UserStatus>>),
    Join(UserId, RpcReplyPort<bool>),
}

struct RactorQueue;

impl RactorActor for RactorQueue {
    type Msg = QueueMsg;
    type State = Admission;
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        (): (),
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(filled())
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            QueueMsg::Status(user, reply) => {
                let _ = reply.send(state.status(user));
            }
            QueueMsg::Join(user, reply) => {
                let joined = state.join(user, None, std::time::Instant::now()).is_ok();
                let _ = reply.send(joined);
            }
        }
        Ok(())
    }
}

async fn ractor_status(actor: &ActorRef<QueueMsg>, n: u128) {
    let status = ractor::call!(actor, QueueMsg::Status, user(n % QUEUED)).expect("status");
    assert!(status.is_some());
}

async fn ractor_join(actor: &ActorRef<QueueMsg>, n: u128) {
    let joined = ractor::call!(actor, QueueMsg::Join, user(QUEUED + n)).expect("join");
    assert!(joined);
}

// ---- actix ---------------------------------------------------------------------------

struct ActixQueue(Admission);

impl actix::Actor for ActixQueue {
    type Context = Context<Self>;
}

#[derive(actix::Message)]
#[rtype(result = "Option<UserStatus>")]
struct Status(UserId);

#[derive(actix::Message)]
#[rtype(result = "bool")]
struct Join(UserId);

impl Handler<Status> for ActixQueue {
    type Result = Option<UserStatus>;
    fn handle(&mut self, msg: Status, _: &mut Context<Self>) -> Self::Result {
        self.0.status(msg.0)
    }
}

impl Handler<Join> for ActixQueue {
    type Result = bool;
    fn handle(&mut self, msg: Join, _: &mut Context<Self>) -> Self::Result {
        self.0.join(msg.0, None, std::time::Instant::now()).is_ok()
    }
}

async fn actix_status(actor: &Addr<ActixQueue>, n: u128) {
    let status = actor.send(Status(user(n % QUEUED))).await.expect("status");
    assert!(status.is_some());
}

async fn actix_join(actor: &Addr<ActixQueue>, n: u128) {
    assert!(actor.send(Join(user(QUEUED + n))).await.expect("join"));
}

// ---- the comparison ------------------------------------------------------------------

fn compare(c: &mut Criterion) {
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let multi = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let on_current = current.block_on(async {
        RactorActor::spawn(None, RactorQueue, ())
            .await
            .expect("spawn")
            .0
    });
    let on_multi = multi.block_on(async {
        RactorActor::spawn(None, RactorQueue, ())
            .await
            .expect("spawn")
            .0
    });
    let system = actix::System::new();
    let actix_addr = system.block_on(async { ActixQueue(filled()).start() });

    let mut group = c.benchmark_group("actor_round_trip");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    let mut next = 0u128;

    // One caller, one message at a time: the mailbox round trip.
    group.bench_function("status/ractor (current-thread)", |b| {
        b.iter_custom(|iters| {
            current.block_on(async {
                let start = Instant::now();
                for i in 0..u128::from(iters) {
                    ractor_status(&on_current, i).await;
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("status/ractor (multi-thread)", |b| {
        b.iter_custom(|iters| {
            multi.block_on(async {
                let start = Instant::now();
                for i in 0..u128::from(iters) {
                    ractor_status(&on_multi, i).await;
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("status/actix", |b| {
        b.iter_custom(|iters| {
            system.block_on(async {
                let start = Instant::now();
                for i in 0..u128::from(iters) {
                    actix_status(&actix_addr, i).await;
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("join/ractor (current-thread)", |b| {
        b.iter_custom(|iters| {
            current.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    next += 1;
                    ractor_join(&on_current, next).await;
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("join/actix", |b| {
        b.iter_custom(|iters| {
            system.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    next += 1;
                    actix_join(&actix_addr, next).await;
                }
                start.elapsed()
            })
        })
    });

    // Many callers at once: what a node sees in a rush. Time per 64 replies.
    group.bench_function("status x64/ractor (multi-thread)", |b| {
        b.iter_custom(|iters| {
            multi.block_on(async {
                let start = Instant::now();
                for i in 0..u128::from(iters) {
                    let calls =
                        (0..CONCURRENT as u128).map(|k| ractor_status(&on_multi, i * 64 + k));
                    futures::future::join_all(calls).await;
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("status x64/ractor (current-thread)", |b| {
        b.iter_custom(|iters| {
            current.block_on(async {
                let start = Instant::now();
                for i in 0..u128::from(iters) {
                    let calls =
                        (0..CONCURRENT as u128).map(|k| ractor_status(&on_current, i * 64 + k));
                    futures::future::join_all(calls).await;
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("status x64/actix", |b| {
        b.iter_custom(|iters| {
            system.block_on(async {
                let start = Instant::now();
                for i in 0..u128::from(iters) {
                    let calls =
                        (0..CONCURRENT as u128).map(|k| actix_status(&actix_addr, i * 64 + k));
                    futures::future::join_all(calls).await;
                }
                start.elapsed()
            })
        })
    });
    group.finish();
    on_current.stop(None);
    on_multi.stop(None);
}

criterion_group!(benches, compare);
criterion_main!(benches);
