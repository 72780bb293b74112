//! After a fault: wait until every payment has settled, then read the system of record
//! and assert the invariants (docs/architecture.md#fencing): no seat sold twice, every
//! charge ends in a ticket or a refund, nobody lost a queue place, nobody was admitted
//! out of order across epochs.

use std::time::{Duration, Instant};

use urr_loadgen::Report;
use uuid::Uuid;

use crate::site::Site;

/// Payment states that are still on their way to done, failed or refunded.
const UNSETTLED: &str = "('confirming', 'unknown', 'paid', 'refunding')";

/// Waits (at most 90 s) until no payment of the event is between states.
pub async fn settle(site: &Site, event: Uuid) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let open: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM payments p JOIN reservations r ON r.id = p.reservation_id \
             WHERE r.event_id = $1 AND p.status IN {UNSETTLED}"
        )))
        .bind(event)
        .fetch_one(&site.db)
        .await
        .expect("unsettled payments");
        if open == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{open} payments still unsettled after 90 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn count(site: &Site, sql: &'static str, event: Uuid) -> i64 {
    sqlx::query_scalar(sql)
        .bind(event)
        .fetch_one(&site.db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// What the checker saw, for the test's own asserts and its printout.
#[derive(Debug)]
pub struct Verdict {
    pub seats_sold: i64,
    pub capacity: i64,
}

/// Every invariant a fault must not break; panics with the first broken one.
pub async fn assert_nothing_lost(site: &Site, event: Uuid, report: &Report) -> Verdict {
    settle(site, event).await;
    let twice = count(
        site,
        "SELECT count(*) FROM (SELECT i.seat_id FROM reservation_items i \
         JOIN reservations r ON r.id = i.reservation_id \
         WHERE r.event_id = $1 AND r.status IN ('pending', 'confirmed') AND i.seat_id IS NOT NULL \
         GROUP BY i.seat_id HAVING count(*) > 1) s",
        event,
    )
    .await;
    assert_eq!(twice, 0, "seats held or sold by two reservations");

    let charged_without_ticket = count(
        site,
        "SELECT count(*) FROM payments p JOIN reservations r ON r.id = p.reservation_id \
         WHERE r.event_id = $1 AND p.status = 'done' AND r.status <> 'confirmed'",
        event,
    )
    .await;
    assert_eq!(
        charged_without_ticket, 0,
        "payments done whose reservation is not confirmed"
    );

    let ticket_without_charge = count(
        site,
        "SELECT count(*) FROM reservations r WHERE r.event_id = $1 AND r.status = 'confirmed' \
         AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.reservation_id = r.id \
                         AND p.status = 'done')",
        event,
    )
    .await;
    assert_eq!(
        ticket_without_charge, 0,
        "confirmed reservations nobody paid for"
    );

    let seats_sold = count(
        site,
        "SELECT count(*) FROM reservation_items i JOIN reservations r ON r.id = i.reservation_id \
         WHERE r.event_id = $1 AND r.status = 'confirmed'",
        event,
    )
    .await;
    let capacity = count(
        site,
        "SELECT count(*) FROM seats WHERE event_id = $1",
        event,
    )
    .await;
    assert!(seats_sold <= capacity, "{seats_sold} sold of {capacity}");

    // Every hold the node acknowledged is in the record (whatever became of it since).
    let acknowledged = &report.acknowledged_holds;
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM reservations WHERE id = ANY($1)")
        .bind(acknowledged)
        .fetch_one(&site.db)
        .await
        .expect("acknowledged holds");
    assert_eq!(
        recorded,
        acknowledged.len() as i64,
        "holds acknowledged to buyers but missing from PostgreSQL"
    );

    // The load generator's own reading, through the API and the queue log.
    let checks = &report.checks;
    assert_eq!(checks.oversold_api, 0, "oversold through the API");
    assert_eq!(checks.oversold_postgres, 0);
    assert_eq!(
        checks.fairness.inversions, 0,
        "someone admitted ahead of an earlier place"
    );
    assert_eq!(checks.fairness.position_mismatches, 0);
    assert_eq!(report.lost_queue_places, 0, "queue places lost");
    // A buyer told "done" holds a confirmed reservation, read back after the rush.
    let told_done = report.sales as i64;
    let confirmed_for_buyers = count(
        site,
        "SELECT count(*) FROM reservations WHERE event_id = $1 AND status = 'confirmed'",
        event,
    )
    .await;
    assert!(
        confirmed_for_buyers >= told_done,
        "{told_done} buyers were told done, {confirmed_for_buyers} reservations confirmed"
    );
    Verdict {
        seats_sold,
        capacity,
    }
}

/// Writes the stores refused from stale owners, summed over the members' counters.
pub async fn refused_writes(site: &Site) -> u64 {
    let token = site.operator_token().await;
    let client = reqwest::Client::new();
    let request = client
        .get(format!("{}/api/v1/admin/cluster", site.nodes[0].url()))
        .bearer_auth(token);
    let view: urr_wire::cluster::ClusterView = request
        .send()
        .await
        .expect("cluster view")
        .json()
        .await
        .expect("cluster view JSON");
    view.members.iter().map(|m| m.counters.refused_writes).sum()
}
