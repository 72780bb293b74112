//! The payment provider misbehaving mid-rush (docs/operations.md#faults): a Toss stand-in
//! that, by payment key, charges and then errs (500), charges and answers past the node's
//! 1 s timeout, charges and answers garbage, answers late, is down, or declines. After
//! the rush and the reconciler, the provider's own ledger is compared with the record:
//! every charge kept is a done payment with a ticket, every charge given back a refund.

use std::collections::HashMap;

use crate::site::{Backing, Site};
use crate::toss;
use crate::{ONE_AT_A_TIME, checker, rush};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_errs_times_out_and_answers_late_loses_no_charge() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (toss_url, ledger) = toss::start().await;
    let extra = [
        "--toss-base-url",
        &toss_url,
        "--toss-secret-key",
        toss::SECRET,
        "--toss-client-key",
        "test_ck_urr",
        "--payment-timeout-secs",
        "1",
        "--reconcile-interval-ms",
        "200",
        "--reconcile-grace-secs",
        "1",
    ]
    .map(str::to_owned)
    .to_vec();
    let site = Site::start_with(Backing::shared(), vec!["127.0.0.1".into()], 1_500, extra).await;
    let keys = [
        "ok", "ok", "ok", "error", "slow", "lag", "garbage", "down", "decline",
    ];
    let rush = rush::start_with(&site, 160, 80, |config| {
        config.toss_keys = keys.map(str::to_owned).to_vec();
    })
    .await;
    let event = rush.event;
    let report = rush::finish(rush).await;
    checker::assert_nothing_lost(&site, event, &report).await;

    let charges: Vec<(String, bool)> = {
        let calls = ledger.lock().expect("ledger");
        calls
            .ledger
            .iter()
            .map(|(order, charge)| (order.clone(), charge.cancelled))
            .collect()
    };
    let rows: HashMap<String, (String, Option<String>)> =
        sqlx::query_as::<_, (String, String, Option<String>)>(
            "SELECT p.order_id, p.status, r.status FROM payments p \
         LEFT JOIN reservations r ON r.id = p.reservation_id WHERE p.provider = 'toss'",
        )
        .fetch_all(&site.db)
        .await
        .expect("payments")
        .into_iter()
        .map(|(order, payment, reservation)| (order, (payment, reservation)))
        .collect();
    let (mut kept, mut given_back) = (0, 0);
    for (order, cancelled) in &charges {
        let (payment, reservation) = rows
            .get(order)
            .unwrap_or_else(|| panic!("the provider charged {order}, which URR has no record of"));
        if *cancelled {
            given_back += 1;
            assert_eq!(payment, "refunded", "{order}: money given back");
        } else {
            kept += 1;
            assert_eq!(payment, "done", "{order}: money kept, so a ticket");
            assert_eq!(reservation.as_deref(), Some("confirmed"), "{order}");
        }
    }
    println!(
        "provider charges: {} ({kept} kept with a ticket, {given_back} given back)",
        charges.len()
    );
    assert!(kept > 0, "some buyers got tickets");
    assert!(
        report.sales > 0 && report.seats_sold > 0,
        "the rush sold through the misbehaving provider"
    );
}
