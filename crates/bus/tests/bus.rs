//! The event bus against real PostgreSQL and Redis: outbox → relay → consumer groups,
//! retries, dead letters, replay, takeover and concurrent relays.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{RecordingHandler, TestEnv, env, poll_until};
use redis::AsyncCommands;
use redis::streams::StreamRangeReply;
use urr_bus::cli::run_to;
use urr_bus::{Relay, RelayConfig, StreamsCommand, dlq};
use urr_proto::events::{PaymentConfirmed, ReservationConfirmed};
use urr_proto::{DomainEvent, Topic};

const PAYMENTS: &str = Topic::Payments.as_str();
const RESERVATIONS: &str = Topic::Reservations.as_str();

fn relay(env: &TestEnv, batch: i64) -> Relay {
    Relay::new(
        env.db.clone(),
        env.kv.clone(),
        RelayConfig {
            interval: Duration::from_millis(20),
            batch,
            max_stream_len: Some(10_000),
        },
    )
}

fn payment(order: &str) -> DomainEvent {
    DomainEvent::PaymentConfirmed(PaymentConfirmed {
        order_id: order.into(),
        amount: 165_000,
        ..Default::default()
    })
}

async fn unpublished(env: &TestEnv) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(&env.db)
        .await
        .expect("count unpublished")
}

#[tokio::test]
async fn an_outbox_row_is_relayed_and_consumed_once() {
    let env = env().await;
    let id = env.append(&payment("ORD_1"), "ORD_1").await;
    let relay = relay(&env, 100);
    assert_eq!(relay.relay_once().await.unwrap(), 1);
    assert_eq!(
        relay.relay_once().await.unwrap(),
        0,
        "published rows stay published"
    );
    assert_eq!(unpublished(&env).await, 0);

    let handler = Arc::new(RecordingHandler::default());
    let consumer = env.consumer("ticket", "node-1", PAYMENTS, handler.clone());
    let report = consumer.poll_once().await.unwrap();
    assert_eq!(report.processed, 1);
    assert!(consumer.poll_once().await.unwrap().is_idle());

    let seen = handler.seen();
    assert_eq!(seen.len(), 1);
    let event = &seen[0];
    assert_eq!(event.id, id.to_string());
    assert_eq!(event.topic, PAYMENTS);
    assert_eq!(event.key, "ORD_1");
    assert_eq!(event.event_type, "PaymentConfirmed");
    assert_eq!(event.deliveries, 1);
    let decoded = DomainEvent::decode(&event.event_type, &event.payload).unwrap();
    assert_eq!(decoded, payment("ORD_1"));
    assert_eq!(env.processed_count("ticket").await, 1);
    assert_eq!(env.pending(PAYMENTS, "ticket").await, 0);
}

#[tokio::test]
async fn a_relay_crash_between_xadd_and_commit_republishes_and_is_consumed_once() {
    let env = env().await;
    env.append(&payment("ORD_2"), "ORD_2").await;
    let relay = relay(&env, 100);

    // The crash: the XADD reached Redis, the commit never happened.
    let batch = relay.claim().await.unwrap();
    assert_eq!(batch.len(), 1);
    batch.publish().await.unwrap();
    drop(batch);
    assert_eq!(env.stream_len(PAYMENTS).await, 1);
    assert_eq!(unpublished(&env).await, 1, "the row was not marked");

    let handler = Arc::new(RecordingHandler::default());
    let consumer = env.consumer("ticket", "node-1", PAYMENTS, handler.clone());
    assert_eq!(consumer.poll_once().await.unwrap().processed, 1);

    // The restarted relay publishes the row again.
    assert_eq!(relay.relay_once().await.unwrap(), 1);
    assert_eq!(env.stream_len(PAYMENTS).await, 2);
    assert_eq!(unpublished(&env).await, 0);

    let report = consumer.poll_once().await.unwrap();
    assert_eq!((report.processed, report.duplicates), (0, 1));
    assert_eq!(
        handler.calls(),
        1,
        "the duplicate never reached the handler"
    );
    assert_eq!(env.processed_count("ticket").await, 1);
    assert_eq!(
        env.pending(PAYMENTS, "ticket").await,
        0,
        "the duplicate was acked"
    );
}

#[tokio::test]
async fn a_failing_handler_is_retried_with_backoff_and_processed_once() {
    let env = env().await;
    env.append(&payment("ORD_3"), "ORD_3").await;
    relay(&env, 100).relay_once().await.unwrap();
    let handler = Arc::new(RecordingHandler::failing_first(2));
    let consumer = env.consumer("ticket", "node-1", PAYMENTS, handler.clone());

    let first = consumer.poll_once().await.unwrap();
    assert_eq!(first.failed, 1);
    // Inside the backoff nothing is redelivered.
    assert!(consumer.poll_once().await.unwrap().is_idle());
    assert_eq!(env.pending(PAYMENTS, "ticket").await, 1, "left unacked");

    poll_until(&consumer, || !handler.seen().is_empty()).await;
    assert_eq!(handler.calls(), 3);
    assert_eq!(handler.seen()[0].deliveries, 3);
    for _ in 0..5 {
        assert!(consumer.poll_once().await.unwrap().is_idle());
    }
    assert_eq!(env.processed_count("ticket").await, 1);
    assert_eq!(env.pending(PAYMENTS, "ticket").await, 0);
    assert!(dlq::list(&env.kv, PAYMENTS, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_always_failing_handler_dead_letters_and_replay_after_the_fix_processes_once() {
    let env = env().await;
    let id = env.append(&payment("ORD_4"), "ORD_4").await;
    relay(&env, 100).relay_once().await.unwrap();
    let broken = Arc::new(RecordingHandler::always_failing());
    let ticket = env.consumer("ticket", "node-1", PAYMENTS, broken.clone());
    // A second group on the same topic whose handler works all along.
    let stats_handler = Arc::new(RecordingHandler::default());
    let stats = env.consumer("stats", "node-1", PAYMENTS, stats_handler.clone());
    stats.poll_once().await.unwrap();

    let kv = env.kv.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while dlq::list(&kv, PAYMENTS, 10).await.unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never dead-lettered"
        );
        ticket.poll_once().await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        broken.calls(),
        3,
        "max_deliveries deliveries, then given up"
    );
    assert_eq!(
        env.pending(PAYMENTS, "ticket").await,
        0,
        "the dead letter was acked"
    );
    assert_eq!(env.processed_count("ticket").await, 0);
    let letters = dlq::list(&kv, PAYMENTS, 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.event_id, id.to_string());
    assert_eq!(letter.group, "ticket");
    assert_eq!(letter.deliveries, 3);
    assert_eq!(letter.reason, "simulated failure on call 3");
    assert_eq!(letter.payload, payment("ORD_4").encode());
    assert_eq!(dlq::topics(&kv).await.unwrap(), vec![PAYMENTS.to_owned()]);

    let mut out = Vec::new();
    let list = StreamsCommand::List {
        stream: None,
        limit: 10,
    };
    run_to(list, &kv, &env.db, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("payment-events: 1 dead letter(s)"), "{text}");
    assert!(text.contains(&letter.dlq_id), "{text}");

    // The fix, then the replay.
    broken.broken.store(false, Ordering::SeqCst);
    let mut out = Vec::new();
    let replay = StreamsCommand::Replay {
        stream: Some(PAYMENTS.into()),
        id: Some(letter.dlq_id.clone()),
    };
    run_to(replay, &kv, &env.db, &mut out).await.unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "payment-events: replayed 1\n"
    );
    assert!(dlq::list(&kv, PAYMENTS, 10).await.unwrap().is_empty());

    poll_until(&ticket, || !broken.seen().is_empty()).await;
    for _ in 0..3 {
        assert!(ticket.poll_once().await.unwrap().is_idle());
    }
    assert_eq!(broken.seen().len(), 1);
    assert_eq!(broken.seen()[0].id, id.to_string());
    assert_eq!(env.processed_count("ticket").await, 1);

    // The group that had processed it skips the replayed copy.
    let report = stats.poll_once().await.unwrap();
    assert_eq!((report.processed, report.duplicates), (0, 1));
    assert_eq!(stats_handler.seen().len(), 1);
}

#[tokio::test]
async fn a_dead_consumers_pending_entry_is_taken_over() {
    let env = env().await;
    env.append(&payment("ORD_5"), "ORD_5").await;
    relay(&env, 100).relay_once().await.unwrap();
    let handler = Arc::new(RecordingHandler::default());
    let survivor = env.consumer("ticket", "node-2", PAYMENTS, handler.clone());
    survivor.ensure_groups().await.unwrap();

    // node-1 reads the entry and dies before acking it.
    let mut conn = env.kv.conn();
    let taken: redis::streams::StreamReadReply = conn
        .xread_options(
            &[env.kv.key(PAYMENTS)],
            &[">"],
            &redis::streams::StreamReadOptions::default().group("ticket", "node-1"),
        )
        .await
        .unwrap();
    assert_eq!(taken.keys[0].ids.len(), 1);
    assert!(
        survivor.poll_once().await.unwrap().is_idle(),
        "nothing new to read"
    );

    poll_until(&survivor, || !handler.seen().is_empty()).await;
    let seen = handler.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].deliveries, 2, "node-1's delivery counted");
    assert_eq!(env.pending(PAYMENTS, "ticket").await, 0);
    assert_eq!(env.processed_count("ticket").await, 1);
}

#[tokio::test]
async fn concurrent_relays_never_publish_a_row_twice() {
    let env = env().await;
    for i in 0..120 {
        let event = if i % 2 == 0 {
            payment("X")
        } else {
            DomainEvent::ReservationConfirmed(ReservationConfirmed::default())
        };
        env.append(&event, &format!("K{i}")).await;
    }

    // Two relays holding their batches at once hold disjoint rows.
    let a = relay(&env, 10).claim().await.unwrap();
    let b = relay(&env, 10).claim().await.unwrap();
    let (ids_a, ids_b): (HashSet<i64>, HashSet<i64>) =
        (a.ids().into_iter().collect(), b.ids().into_iter().collect());
    assert_eq!((ids_a.len(), ids_b.len()), (10, 10));
    assert!(ids_a.is_disjoint(&ids_b));
    drop((a, b));

    // Four relays draining the outbox together.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let relay = relay(&env, 7);
        tasks.push(tokio::spawn(async move {
            let mut total = 0;
            loop {
                match relay.relay_once().await.unwrap() {
                    0 => break total,
                    n => total += n,
                }
            }
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    assert_eq!(total, 120);
    assert_eq!(unpublished(&env).await, 0);

    let mut conn = env.kv.conn();
    let mut ids = HashSet::new();
    let mut entries = 0;
    for topic in [PAYMENTS, RESERVATIONS] {
        let reply: StreamRangeReply = conn.xrange_all(env.kv.key(topic)).await.unwrap();
        entries += reply.ids.len();
        ids.extend(reply.ids.iter().map(|e| e.get::<String>("id").unwrap()));
    }
    assert_eq!(entries, 120, "every row published exactly once");
    assert_eq!(ids.len(), 120);
}

#[tokio::test]
async fn a_malformed_entry_goes_straight_to_the_dead_letters() {
    let env = env().await;
    let handler = Arc::new(RecordingHandler::default());
    let consumer = env.consumer("ticket", "node-1", PAYMENTS, handler.clone());
    let mut conn = env.kv.conn();
    let _: String = conn
        .xadd(env.kv.key(PAYMENTS), "*", &[("junk", "1")])
        .await
        .unwrap();
    let report = consumer.poll_once().await.unwrap();
    assert_eq!(report.dead_lettered, 1);
    assert_eq!(handler.calls(), 0);
    assert_eq!(env.pending(PAYMENTS, "ticket").await, 0);
    let letters = dlq::list(&env.kv, PAYMENTS, 10).await.unwrap();
    assert!(letters[0].reason.contains("field `id`"), "{:?}", letters[0]);
    // Unreadable letters are not replayed (there is no event to replay).
    assert_eq!(dlq::replay(&env.kv, PAYMENTS, None).await.unwrap(), 0);
}

#[tokio::test]
async fn the_running_relay_and_consumer_deliver_until_shut_down() {
    let env = env().await;
    let handler = Arc::new(RecordingHandler::default());
    let consumer = env.consumer("ticket", "node-1", PAYMENTS, handler.clone());
    let (stop_relay, relay_stopped) = tokio::sync::oneshot::channel::<()>();
    let (stop_consumer, consumer_stopped) = tokio::sync::oneshot::channel::<()>();
    let relay_task = tokio::spawn(relay(&env, 100).run(async {
        let _ = relay_stopped.await;
    }));
    let consumer_task = tokio::spawn(consumer.run(async {
        let _ = consumer_stopped.await;
    }));

    for i in 0..3 {
        env.append(&payment("R"), &format!("ORD_R{i}")).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while handler.seen().len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "events did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_relay.send(()).unwrap();
    stop_consumer.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), relay_task)
        .await
        .unwrap()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), consumer_task)
        .await
        .unwrap()
        .unwrap();
    let keys: Vec<String> = handler.seen().iter().map(|e| e.key.clone()).collect();
    assert_eq!(keys, ["ORD_R0", "ORD_R1", "ORD_R2"], "in outbox order");
}
