//! After the rush: the checks that decide whether the run was a success, each read from
//! the system rather than assumed. Every seat sold at most once, seen through the API and
//! in PostgreSQL; nobody admitted ahead of an earlier place.

use std::collections::HashMap;

use futures::StreamExt;
use reqwest::Method;
use serde::Serialize;
use urr_wire::queue::QueueLog;
use urr_wire::reservations::ReservationDetail;
use urr_wire::seats::SeatMapView;
use urr_wire::status::{ReservationStatus, SeatStatus};
use uuid::Uuid;

use crate::client::{Api, Caller};
use crate::error::LoadgenError;
use crate::fairness::{self, Fairness};
use crate::journey::UserReport;
use crate::setup::{Account, Backend, Sale};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checks {
    /// Seats that two confirmed reservations claim, from each buyer's reservation in the
    /// API: must be 0.
    pub oversold_api: u64,
    /// Seats held by more than one live reservation in PostgreSQL: must be 0.
    pub oversold_postgres: u64,
    /// Reservations the users paid for that the API does not show as confirmed.
    pub sales_not_confirmed: u64,
    /// Seats the seat map shows as sold, and the seats the users paid for.
    pub seats_sold_on_map: u64,
    pub seats_paid_for: u64,
    pub fairness: Fairness,
}

impl Checks {
    pub fn passed(&self) -> bool {
        self.oversold_api == 0
            && self.oversold_postgres == 0
            && self.sales_not_confirmed == 0
            && self.fairness.inversions == 0
            && self.fairness.position_mismatches == 0
    }
}

pub async fn run(
    api: &Api,
    backend: &Backend,
    operator: &Caller,
    sale: &Sale,
    accounts: &[Account],
    users: &[UserReport],
    concurrency: usize,
) -> Result<Checks, LoadgenError> {
    let callers: HashMap<Uuid, &Caller> = accounts.iter().map(|a| (a.user_id, &a.caller)).collect();
    // Each buyer asks for their reservation, as they would on "my tickets".
    let bought: Vec<(Uuid, &Caller)> = users
        .iter()
        .filter_map(|u| Some((u.reservation?, *callers.get(&u.user_id)?)))
        .collect();
    let seen: Vec<Option<(ReservationStatus, Vec<Uuid>)>> = futures::stream::iter(bought.iter())
        .map(|(id, caller)| async move {
            let reply = api
                .call(
                    "check_reservation",
                    api.request(Method::GET, &format!("/api/v1/reservations/{id}"), caller),
                )
                .await
                .ok()?;
            let found: ReservationDetail = reply.parse().ok()?;
            let seats = found
                .reservation
                .seats
                .iter()
                .filter_map(|item| item.seat_id)
                .collect();
            Some((found.reservation.status, seats))
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut claims: HashMap<Uuid, u64> = HashMap::new();
    let mut sales_not_confirmed = 0;
    for reservation in &seen {
        match reservation {
            Some((ReservationStatus::Confirmed, seats)) => {
                for seat in seats {
                    *claims.entry(*seat).or_default() += 1;
                }
            }
            _ => sales_not_confirmed += 1,
        }
    }
    let oversold_api = claims.values().filter(|&&n| n > 1).count() as u64;

    let holders = urr_store::reservations::live_holders_per_seat(&backend.db, sale.event).await?;
    let oversold_postgres = holders.iter().filter(|(_, n)| *n > 1).count() as u64;

    let (status, body) = api
        .call_raw(
            "check_seat_map",
            api.request(
                Method::GET,
                &format!("/api/v1/seats/events/{}", sale.event),
                operator,
            ),
        )
        .await?;
    // Informational beside the oversell checks: an unreadable map counts nothing.
    let seats_sold_on_map = match serde_json::from_slice::<SeatMapView>(&body) {
        Ok(map) if status == 200 => map
            .seats()
            .filter(|seat| seat.status == SeatStatus::Reserved)
            .count() as u64,
        _ => {
            tracing::warn!(status, "the seat map could not be read after the rush");
            0
        }
    };

    let log = api
        .call(
            "check_queue_log",
            api.request(
                Method::GET,
                &format!("/api/v1/admin/events/{}/queue/log", sale.event),
                operator,
            ),
        )
        .await?;
    if !log.ok() {
        return Err(LoadgenError::Setup(format!(
            "queue log: {} {}",
            log.status, log.body
        )));
    }
    let log: QueueLog = log
        .parse()
        .map_err(|e| LoadgenError::Setup(format!("queue log records: {e}")))?;
    let told: HashMap<Uuid, u64> = users
        .iter()
        .filter_map(|u| Some((u.user_id, u.tier1_position?)))
        .collect();

    Ok(Checks {
        oversold_api,
        oversold_postgres,
        sales_not_confirmed,
        seats_sold_on_map,
        seats_paid_for: users.iter().map(|u| u.seats.len() as u64).sum(),
        fairness: fairness::check(&log.records, &told),
    })
}
