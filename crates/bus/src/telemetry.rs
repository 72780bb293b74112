//! What the event bus reports to Prometheus (names in `docs/operations.md#metrics`):
//! events handled per consumer group and outcome, rows relayed, and gauges read from the
//! stores every few seconds: the outbox backlog and the age of its oldest row (the
//! relay's lag), entries pending per group, dead letters per topic.

use std::time::Duration;

use redis::streams::StreamPendingReply;
use sqlx::PgPool;
use urr_proto::Topic;
use urr_store::Kv;

use crate::consumer::PollReport;
use crate::{dlq, store};

/// How often the gauges are read from PostgreSQL and Redis.
pub(crate) const GAUGES_EVERY: Duration = Duration::from_secs(5);

pub(crate) fn polled(group: &str, report: &PollReport) {
    for (outcome, n) in [
        ("processed", report.processed),
        ("duplicate", report.duplicates),
        ("failed", report.failed),
        ("dead_lettered", report.dead_lettered),
    ] {
        if n > 0 {
            metrics::counter!("urr_bus_events_total", "group" => group.to_owned(), "outcome" => outcome)
                .increment(n as u64);
        }
    }
}

pub(crate) fn relayed(n: usize) {
    metrics::counter!("urr_bus_relayed_total").increment(n as u64);
}

/// The outbox backlog and the dead letters, read by the relay. Dead letters are counted
/// on each of the product's topics by name: finding them by a scan of the keyspace took
/// seconds on a Redis holding a rush's millions of keys, and held up the relay.
pub(crate) async fn relay_gauges(db: &PgPool, kv: &Kv) {
    match store::backlog(db).await {
        Ok((rows, oldest_secs)) => {
            metrics::gauge!("urr_bus_outbox_unpublished").set(rows as f64);
            metrics::gauge!("urr_bus_outbox_lag_seconds").set(oldest_secs);
        }
        Err(err) => tracing::debug!(%err, "reading the outbox backlog"),
    }
    for topic in Topic::ALL {
        if let Ok(n) = dlq::len(kv, topic.as_str()).await {
            metrics::gauge!("urr_bus_dead_letters", "topic" => topic.as_str()).set(n as f64);
        }
    }
}

/// Entries delivered to `group` and not yet acknowledged, per topic.
pub(crate) async fn pending_gauges(kv: &Kv, group: &str, topics: &[String]) {
    let mut conn = kv.conn();
    for topic in topics {
        let pending: Result<StreamPendingReply, _> = redis::cmd("XPENDING")
            .arg(kv.key(topic))
            .arg(group)
            .query_async(&mut conn)
            .await;
        if let Ok(pending) = pending {
            metrics::gauge!("urr_bus_pending", "group" => group.to_owned(), "topic" => topic.clone())
                .set(pending.count() as f64);
        }
    }
}
