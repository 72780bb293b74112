//! One person's evening: through the Tier-1 room, the Tier-2 queue, the seat map, a hold
//! and a payment, with the impatience and bad luck real people have.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use rand::Rng;
use rand::rngs::StdRng;
use reqwest::Method;
use serde::Serialize;
use serde_json::json;
use tokio::sync::watch;
use tokio::time::Instant;
use urr_wire::payments::{ConfirmRequest, PayFor, PaymentView, PreparedPayment, ProcessRequest};
use urr_wire::queue::QueueReply;
use urr_wire::reservations::{ReservationDetail, ReservationView, SeatHoldRequest};
use urr_wire::seats::{SeatLayoutView, SeatStateView};
use urr_wire::status::{PaymentStatus, QueueStatus, ReservationStatus, SeatStatus};
use uuid::Uuid;

use crate::client::{Api, Reply};
use crate::setup::{Account, Sale};

/// A queued user says they are still there this often (the queue drops the silent).
const HEARTBEAT_EVERY: Duration = Duration::from_secs(20);
/// How long someone staring at a map with only held seats waits before looking again.
const HELD_ONLY_WAIT: Duration = Duration::from_secs(3);
/// A user's failure when the queue no longer knows them while they wait.
pub const LOST_PLACE: &str = "lost the queue place";
const SANDBOX_METHODS: [&str; 3] = ["kakaopay", "naverpay", "transfer"];

/// What the run shares with every user.
pub struct Run {
    /// The crowd's calls: the Tier-1 waiting room.
    pub api: Api,
    /// The Tier-2 queue's calls (check-in, statuses, heartbeats, streams), on a bound of
    /// their own ([`Api::lane`]).
    pub queue: Api,
    /// Admitted people's calls, on a bound of their own ([`Api::lane`]).
    pub buying: Api,
    pub sale: Sale,
    /// Flips to true at the deadline or when the last seat is sold: everyone goes home.
    pub stop: watch::Receiver<bool>,
    pub stop_tx: watch::Sender<bool>,
    pub deadline: Instant,
    pub sse_open: AtomicUsize,
    pub sse_max: usize,
    pub retries: u32,
    /// Payment-key prefixes for Toss (`--toss-keys`); empty: the sandbox.
    pub toss_keys: Vec<String>,
}

/// Decided before the user arrives, from the run's seed.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub arrive_after: Duration,
    pub wants: usize,
    pub abandons: bool,
    pub follows_stream: bool,
    pub rng_seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Bought,
    Abandoned,
    /// Every try lost its race (409) and the retries ran out.
    LostRaces,
    SoldOut,
    /// Still waiting when the run stopped.
    Stopped,
    Failed,
}

/// What one user did, for the checks after the run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserReport {
    pub user_id: Uuid,
    pub tier1_position: Option<u64>,
    pub admitted: bool,
    pub reservation: Option<Uuid>,
    /// Every reservation the node acknowledged holding for this user (201), paid or not.
    pub held: Vec<Uuid>,
    pub seats: Vec<Uuid>,
    pub outcome: Outcome,
    pub failure: Option<String>,
}

impl UserReport {
    fn new(user_id: Uuid) -> Self {
        Self {
            user_id,
            tier1_position: None,
            admitted: false,
            reservation: None,
            held: Vec::new(),
            seats: Vec::new(),
            outcome: Outcome::Stopped,
            failure: None,
        }
    }

    fn fail(mut self, why: impl Into<String>) -> Self {
        self.outcome = Outcome::Failed;
        self.failure = Some(why.into());
        self
    }
}

/// Counts someone standing in a line for as long as the guard lives.
struct Standing<'a>(&'a std::sync::atomic::AtomicI64);

impl<'a> Standing<'a> {
    fn new(counter: &'a std::sync::atomic::AtomicI64) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for Standing<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Run {
    fn stopped(&self) -> bool {
        *self.stop.borrow() || Instant::now() >= self.deadline
    }

    /// Waits `d`, or less if the run stops; false if it stopped.
    async fn pause(&self, d: Duration) -> bool {
        let mut stop = self.stop.clone();
        tokio::select! {
            () = tokio::time::sleep(d) => {}
            () = until_stopped(&mut stop) => {}
            () = tokio::time::sleep_until(self.deadline) => {}
        }
        !self.stopped()
    }

    fn path(&self, tail: &str) -> String {
        tail.replace("{event}", &self.sale.event.to_string())
    }
}

pub async fn journey(run: Arc<Run>, account: Account, plan: Plan) -> UserReport {
    let mut report = UserReport::new(account.user_id);
    if !run.pause(plan.arrive_after).await {
        return report;
    }
    let mut rng: StdRng = rand::SeedableRng::seed_from_u64(plan.rng_seed);
    let tier1_token = if run.sale.tier1 {
        match tier1(&run, &account, &mut report).await {
            Some(token) => Some(token),
            None => return report,
        }
    } else {
        None
    };
    let Some(entry) = tier2(&run, &account, tier1_token.as_deref(), plan, &mut report).await else {
        return report;
    };
    report.admitted = true;
    run.api.metrics.admitted.fetch_add(1, Ordering::Relaxed);
    let turn = Instant::now();
    let report = buy(&run, &account, &entry, plan, &mut rng, report).await;
    // How long an admitted person keeps a place among the active: what bounds the sale
    // once the active set is full.
    run.api
        .metrics
        .record_local("(turn) admitted to done", turn.elapsed());
    // Done either way: give the place in the active set to the next person.
    let _ = run
        .buying
        .call(
            "queue_leave",
            run.buying.request(
                Method::POST,
                &run.path("/api/v1/queue/leave/{event}"),
                &account.caller,
            ),
        )
        .await;
    run.api.metrics.finished.fetch_add(1, Ordering::Relaxed);
    report
}

/// The Tier-1 room: take a number, poll at the pace the room asks, get its token.
async fn tier1(run: &Run, account: &Account, report: &mut UserReport) -> Option<String> {
    let _standing = Standing::new(&run.api.metrics.tier1_waiting);
    let user = account.user_id.to_string();
    'assign: for _ in 0..3 {
        let mut body = json!({"userId": user});
        if run.sale.pow_difficulty > 0 {
            let Some((challenge, counter)) = solve_challenge(run, account).await else {
                *report = report.clone().fail("vwr: no proof-of-work challenge");
                return None;
            };
            body["challenge"] = json!(challenge);
            body["counter"] = json!(counter);
        }
        let assigned = run
            .api
            .call(
                "vwr_assign",
                run.api
                    .request(
                        Method::POST,
                        &run.path("/vwr-api/vwr/assign/{event}"),
                        &account.caller,
                    )
                    .json(&body),
            )
            .await
            .ok()?;
        if !assigned.ok() {
            *report = report
                .clone()
                .fail(format!("vwr assign: {}", assigned.status));
            return None;
        }
        report.tier1_position = assigned.u64("position");
        let request = assigned.str("requestId")?.to_owned();
        let check_path = format!(
            "/vwr-api/vwr/check/{}/{request}?userId={user}",
            run.sale.event
        );
        loop {
            if run.stopped() {
                return None;
            }
            let check = match run
                .api
                .call(
                    "vwr_check",
                    run.api.request(Method::GET, &check_path, &account.caller),
                )
                .await
            {
                Ok(check) => check,
                Err(_) => {
                    run.pause(Duration::from_secs(1)).await;
                    continue;
                }
            };
            match check.status {
                200 => {
                    if let Some(token) = check.str("token") {
                        return Some(token.to_owned());
                    }
                    let poll = check.u64("nextPoll").unwrap_or(1).clamp(1, 60);
                    if !run.pause(Duration::from_secs(poll)).await {
                        return None;
                    }
                }
                // The room lost the request (or it lapsed): take a new number, as the
                // seed's page does (`docs/architecture.md#the-design-urr-rebuilds`).
                404 => continue 'assign,
                _ => {
                    if !run.pause(Duration::from_secs(1)).await {
                        return None;
                    }
                }
            }
        }
    }
    *report = report.clone().fail("vwr: re-assigned three times");
    None
}

/// Fetches a proof-of-work challenge and solves it as the browser's worker does (the
/// room's own rule, `urr_vwr::domain::proof::solve`), off the async threads; the solve
/// time is reported as `vwr_pow_solve`.
async fn solve_challenge(run: &Run, account: &Account) -> Option<(String, u64)> {
    let issued = run
        .api
        .call(
            "vwr_challenge",
            run.api.request(
                Method::GET,
                &run.path("/vwr-api/vwr/challenge/{event}"),
                &account.caller,
            ),
        )
        .await
        .ok()?;
    if !issued.ok() {
        return None;
    }
    let challenge = issued.str("challenge")?.to_owned();
    let difficulty = u8::try_from(issued.u64("difficulty")?).ok()?;
    let started = Instant::now();
    let text = challenge.clone();
    let counter =
        tokio::task::spawn_blocking(move || urr_vwr::domain::proof::solve(&text, difficulty))
            .await
            .ok()?;
    run.api
        .metrics
        .record_local("vwr_pow_solve", started.elapsed());
    Some((challenge, counter))
}

/// The Tier-2 queue: check in, then follow the place by stream or by polling until the
/// entry token comes.
async fn tier2(
    run: &Run,
    account: &Account,
    tier1_token: Option<&str>,
    plan: Plan,
    report: &mut UserReport,
) -> Option<String> {
    let _standing = Standing::new(&run.api.metrics.tier2_waiting);
    let mut request = run
        .queue
        .request(
            Method::POST,
            &run.path("/api/v1/queue/check/{event}"),
            &account.caller,
        )
        .json(&json!({}));
    if let Some(token) = tier1_token {
        request = request.header("x-vwr-token", token);
    }
    let check = match run.queue.call("queue_check", request).await {
        Ok(check) => check,
        Err(err) => {
            *report = report.clone().fail(format!("queue check: {err}"));
            return None;
        }
    };
    let checked = match check.parse::<QueueReply>() {
        Ok(checked) if check.ok() => checked,
        _ => {
            *report = report
                .clone()
                .fail(format!("queue check: {} {}", check.status, check.body));
            return None;
        }
    };
    if let Some(entry) = checked.entry_token {
        return Some(entry);
    }
    let mut next_poll = checked.next_poll;
    if plan.follows_stream && run.sse_open.fetch_add(1, Ordering::Relaxed) < run.sse_max {
        let admitted = follow_stream(run, account).await;
        run.sse_open.fetch_sub(1, Ordering::Relaxed);
        if admitted.is_some() {
            return admitted;
        }
    } else if plan.follows_stream {
        run.sse_open.fetch_sub(1, Ordering::Relaxed);
    }
    let mut last_heartbeat = Instant::now();
    loop {
        if !run.pause(Duration::from_secs(next_poll.clamp(1, 60))).await {
            return None;
        }
        let heartbeat = last_heartbeat.elapsed() >= HEARTBEAT_EVERY;
        let (call, method, path) = if heartbeat {
            (
                "queue_heartbeat",
                Method::POST,
                "/api/v1/queue/heartbeat/{event}",
            )
        } else {
            ("queue_status", Method::GET, "/api/v1/queue/status/{event}")
        };
        let Ok(reply) = run
            .queue
            .call(
                call,
                run.queue.request(method, &run.path(path), &account.caller),
            )
            .await
        else {
            continue;
        };
        if heartbeat && reply.ok() {
            last_heartbeat = Instant::now();
        }
        // Anything but a queue reply (a 429, a 503) means: ask again later.
        let Ok(place) = reply.parse::<QueueReply>() else {
            continue;
        };
        if let Some(entry) = place.entry_token {
            return Some(entry);
        }
        if place.status == QueueStatus::Absent {
            *report = report.clone().fail(LOST_PLACE);
            return None;
        }
        next_poll = place.next_poll;
    }
}

/// Reads the queue's server-sent events until `admitted` (its entry token), sending
/// heartbeats alongside. `None` if the stream ended otherwise: the caller polls.
async fn follow_stream(run: &Run, account: &Account) -> Option<String> {
    let started = Instant::now();
    let response = run
        .queue
        .open_stream(
            run.queue
                .request(
                    Method::GET,
                    &run.path("/api/v1/queue/stream/{event}"),
                    &account.caller,
                )
                .timeout(run.deadline.saturating_duration_since(Instant::now())),
        )
        .await
        .ok()?;
    run.api.metrics.record(
        "queue_stream_open",
        started.elapsed(),
        Some(response.status().as_u16()),
    );
    if !response.status().is_success() {
        return None;
    }
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let mut heartbeat_at = Instant::now() + HEARTBEAT_EVERY;
    let mut stop = run.stop.clone();
    loop {
        tokio::select! {
            chunk = body.next() => {
                let chunk = chunk?.ok()?;
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let frame: String = buffer.drain(..end + 2).collect();
                    if let Some(token) = entry_token_in(&frame) {
                        return Some(token);
                    }
                }
            }
            () = tokio::time::sleep_until(heartbeat_at) => {
                heartbeat_at = Instant::now() + HEARTBEAT_EVERY;
                let _ = run.queue.call(
                    "queue_heartbeat",
                    run.queue.request(Method::POST, &run.path("/api/v1/queue/heartbeat/{event}"), &account.caller),
                ).await;
            }
            () = until_stopped(&mut stop) => return None,
        }
    }
}

/// Resolves once the run stops (the watch guard is dropped here, so callers stay `Send`).
pub async fn until_stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The entry token in an SSE frame's `admitted` event, if this is one.
fn entry_token_in(frame: &str) -> Option<String> {
    let mut name = "";
    let mut data = String::new();
    for line in frame.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            name = value.trim();
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push_str(value.trim_start());
        }
    }
    if name != "admitted" {
        return None;
    }
    serde_json::from_str::<QueueReply>(&data).ok()?.entry_token
}

/// Admitted: look at the map, try for seats side by side, retry after losing a race,
/// then pay (or walk away).
async fn buy(
    run: &Run,
    account: &Account,
    entry: &str,
    plan: Plan,
    rng: &mut StdRng,
    mut report: UserReport,
) -> UserReport {
    let mut attempt = 0;
    let (reservation, seats) = loop {
        if run.stopped() {
            return report;
        }
        // The layout is the run's (read once, as a browser keeps it); each look at the
        // map reads the compact live state.
        let Ok((status, body)) = run
            .buying
            .call_raw(
                "seat_map",
                run.buying.request(
                    Method::GET,
                    &run.path("/api/v1/seats/events/{event}/state"),
                    &account.caller,
                ),
            )
            .await
        else {
            return report.fail("seat map unreachable");
        };
        if status != 200 {
            return report.fail(format!("seat map: {status}"));
        }
        let Ok(view) = MapView::parse(&run.sale.layout, &body) else {
            return report.fail("seat map: unreadable body");
        };
        if view.available.is_empty() {
            if view.held == 0 {
                report.outcome = Outcome::SoldOut;
                return report;
            }
            // Seats held by others may come back when their holds lapse.
            if !run.pause(HELD_ONLY_WAIT).await {
                return report;
            }
            continue;
        }
        let choice = view.choose(plan.wants, rng);
        let hold = run
            .buying
            .call(
                "hold",
                run.buying
                    .request(Method::POST, "/api/v1/seats/reserve", &account.caller)
                    .header("x-queue-entry-token", entry)
                    .json(&SeatHoldRequest {
                        event_id: run.sale.event,
                        seat_ids: choice.clone(),
                        idempotency_key: format!("rush-{}-{attempt}", account.user_id),
                    }),
            )
            .await;
        match hold {
            Ok(reply) if reply.ok() => {
                let Ok(held) = reply.parse::<ReservationView>() else {
                    return report.fail("hold reply without reservationId");
                };
                let id = held.reservation_id;
                report.held.push(id);
                run.buying.metrics.holds.fetch_add(1, Ordering::Relaxed);
                break (id, choice);
            }
            Ok(Reply { status: 409, .. }) => {
                run.buying.metrics.conflicts.fetch_add(1, Ordering::Relaxed);
                attempt += 1;
                if attempt > run.retries {
                    report.outcome = Outcome::LostRaces;
                    return report;
                }
            }
            Ok(reply) => return report.fail(format!("hold: {} {}", reply.status, reply.body)),
            Err(err) => return report.fail(format!("hold: {err}")),
        }
    };
    if plan.abandons {
        run.buying.metrics.abandoned.fetch_add(1, Ordering::Relaxed);
        report.outcome = Outcome::Abandoned;
        return report;
    }
    let paid = if run.toss_keys.is_empty() {
        let method = SANDBOX_METHODS[rng.random_range(0..SANDBOX_METHODS.len())];
        run.buying
            .call(
                "pay",
                run.buying
                    .request(Method::POST, "/api/v1/payments/process", &account.caller)
                    .json(&ProcessRequest {
                        target: PayFor {
                            reservation_id: Some(reservation),
                            ..PayFor::default()
                        },
                        method: method.to_owned(),
                    }),
            )
            .await
    } else {
        let prefix = &run.toss_keys[rng.random_range(0..run.toss_keys.len())];
        pay_with_toss(run, account, reservation, prefix).await
    };
    let done = match &paid {
        Ok(reply) if reply.ok() => reply
            .parse::<PaymentView>()
            .is_ok_and(|paid| paid.status == PaymentStatus::Done),
        // A retried payment whose first try landed, a provider that answered late or
        // not at all, a payment received whose ticket is being issued: ask for the
        // outcome, as the page tells a person to.
        Ok(reply) if matches!(reply.status, 200 | 409 | 502..=504) => {
            ticket_issued(run, account, reservation).await
        }
        _ => false,
    };
    match paid {
        Ok(_) if done => {
            let metrics = &run.buying.metrics;
            metrics.sales.fetch_add(1, Ordering::Relaxed);
            let n = seats.len() as u64;
            let sold = metrics.seats_sold.fetch_add(n, Ordering::Relaxed) + n;
            if sold >= run.sale.total_seats && run.sale.total_seats > 0 {
                let _ = metrics.sold_out_ms.compare_exchange(
                    0,
                    metrics.elapsed_ms().max(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                let _ = run.stop_tx.send(true);
            }
            report.reservation = Some(reservation);
            report.seats = seats;
            report.outcome = Outcome::Bought;
            report
        }
        Ok(reply) => report.fail(format!("pay: {} {}", reply.status, reply.body)),
        Err(err) => report.fail(format!("pay: {err}")),
    }
}

/// Toss as the browser drives it: prepare an order, then (after the provider's window)
/// confirm it with the payment key the provider gave.
async fn pay_with_toss(
    run: &Run,
    account: &Account,
    reservation: Uuid,
    prefix: &str,
) -> Result<Reply, crate::LoadgenError> {
    let prepared = run
        .buying
        .call(
            "pay_prepare",
            run.buying
                .request(Method::POST, "/api/v1/payments/prepare", &account.caller)
                .json(&PayFor {
                    reservation_id: Some(reservation),
                    ..PayFor::default()
                }),
        )
        .await?;
    let Ok(order) = prepared.parse::<PreparedPayment>() else {
        return Ok(prepared);
    };
    run.buying
        .call(
            "pay",
            run.buying
                .request(Method::POST, "/api/v1/payments/confirm", &account.caller)
                .json(&ConfirmRequest {
                    payment_key: format!("{prefix}_{}", Uuid::new_v4().simple()),
                    order_id: order.order_id,
                    amount: order.amount,
                }),
        )
        .await
}

/// Follows a reservation whose payment is being settled until it is confirmed (true) or
/// 30 s pass.
async fn ticket_issued(run: &Run, account: &Account, reservation: Uuid) -> bool {
    let path = format!("/api/v1/reservations/{reservation}");
    for _ in 0..60 {
        if let Ok(reply) = run
            .buying
            .call(
                "payment_outcome",
                run.buying.request(Method::GET, &path, &account.caller),
            )
            .await
            && let Ok(found) = reply.parse::<ReservationDetail>()
        {
            match found.reservation.status {
                ReservationStatus::Confirmed => return true,
                ReservationStatus::Pending => {}
                _ => return false,
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

/// What a person sees on the seat map: free seats by row, and how many are held.
#[derive(Debug, Default)]
struct MapView {
    /// Each row with a free seat: its free seats as (number, id), by number.
    rows: Vec<Vec<(i64, Uuid)>>,
    /// Every free seat as (row in `rows`, place in that row).
    available: Vec<(usize, usize)>,
    held: usize,
}

impl MapView {
    /// The layout with the live state read over it: the state's characters follow the
    /// layout's seats in order. Read once per look at the map by every buyer, so it
    /// copies no names: the load generator shares the node's cores.
    fn parse(layout: &SeatLayoutView, state: &[u8]) -> Result<Self, serde_json::Error> {
        let state: SeatStateView = serde_json::from_slice(state)?;
        let mut view = MapView::default();
        let mut index = 0;
        for row in layout.sections.iter().flat_map(|section| &section.rows) {
            let mut free = Vec::new();
            for seat in &row.seats {
                match state.status_at(index) {
                    Some(SeatStatus::Available) => free.push((i64::from(seat.number), seat.id)),
                    Some(SeatStatus::Reserved) | None => {}
                    Some(SeatStatus::Locked) => view.held += 1,
                }
                index += 1;
            }
            if !free.is_empty() {
                free.sort_unstable();
                let at = view.rows.len();
                view.available.extend((0..free.len()).map(|i| (at, i)));
                view.rows.push(free);
            }
        }
        Ok(view)
    }

    /// A random free seat and up to `wants - 1` free neighbours to its right (or left).
    fn choose(&self, wants: usize, rng: &mut StdRng) -> Vec<Uuid> {
        let Some(&(row, at)) = self
            .available
            .get(rng.random_range(0..self.available.len().max(1)))
        else {
            return Vec::new();
        };
        let Some(seats) = self.rows.get(row) else {
            return Vec::new();
        };
        let mut start = at;
        let mut end = at;
        while end + 1 < seats.len()
            && end - start + 1 < wants
            && seats[end + 1].0 == seats[end].0 + 1
        {
            end += 1;
        }
        while start > 0 && end - start + 1 < wants && seats[start - 1].0 + 1 == seats[start].0 {
            start -= 1;
        }
        seats[start..=end].iter().map(|(_, id)| *id).collect()
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    use urr_wire::seats::{LayoutRowView, LayoutSeatView, LayoutSectionView};

    /// One row of seats and its compact state with `statuses`.
    fn map(statuses: &[SeatStatus]) -> (SeatLayoutView, String, Vec<Uuid>) {
        let ids: Vec<Uuid> = statuses.iter().map(|_| Uuid::new_v4()).collect();
        let seats = ids
            .iter()
            .zip(1..)
            .map(|(&id, number)| LayoutSeatView {
                id,
                number,
                label: format!("A-1-{number}"),
                price: 10_000,
            })
            .collect();
        let event_id = Uuid::new_v4();
        let layout = SeatLayoutView {
            event_id,
            layout_id: Uuid::new_v4(),
            stage: "STAGE".into(),
            total_seats: statuses.len() as u64,
            sections: vec![LayoutSectionView {
                id: Uuid::new_v4(),
                name: "A".into(),
                price: 10_000,
                rows: vec![LayoutRowView { number: 1, seats }],
            }],
        };
        let state = SeatStateView {
            event_id,
            actor: 1,
            seq: 0,
            seats: statuses
                .iter()
                .map(|s| match s {
                    SeatStatus::Available => 'a',
                    SeatStatus::Locked => 'l',
                    SeatStatus::Reserved => 'r',
                })
                .collect(),
        };
        (
            layout,
            serde_json::to_string(&state).expect("serialise"),
            ids,
        )
    }

    #[test]
    fn neighbours_are_chosen_side_by_side_among_free_seats() {
        use SeatStatus::{Available, Locked, Reserved};
        let (layout, body, ids) = map(&[Reserved, Available, Available, Locked, Available]);
        let view = MapView::parse(&layout, body.as_bytes()).expect("parse");
        assert_eq!(view.held, 1);
        assert_eq!(view.available.len(), 3);
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..50 {
            let choice = view.choose(2, &mut rng);
            assert!(!choice.is_empty() && choice.len() <= 2);
            assert!(!choice.contains(&ids[0]) && !choice.contains(&ids[3]));
            if choice.len() == 2 {
                assert_eq!(
                    choice,
                    vec![ids[1], ids[2]],
                    "only 2 and 3 are adjacent and free"
                );
            }
        }
    }

    #[test]
    fn a_map_with_nothing_free_offers_nothing() {
        let (layout, body, _) = map(&[SeatStatus::Reserved, SeatStatus::Locked]);
        let view = MapView::parse(&layout, body.as_bytes()).expect("parse");
        assert!(view.available.is_empty());
        assert!(view.choose(2, &mut StdRng::seed_from_u64(1)).is_empty());
    }

    #[test]
    fn the_entry_token_is_read_from_the_admitted_event_only() {
        let reply = QueueReply {
            event_id: Uuid::new_v4(),
            queued: false,
            status: QueueStatus::Active,
            position: None,
            people_ahead: Some(0),
            people_behind: None,
            estimated_wait: Some(0),
            next_poll: 1,
            sold_out: false,
            entry_token: Some("t0k".into()),
        };
        let data = serde_json::to_string(&reply).expect("serialise");
        let admitted = format!("event: admitted\ndata: {data}\n\n");
        assert_eq!(entry_token_in(&admitted).as_deref(), Some("t0k"));
        let position = format!("event: position\ndata: {data}\n\n");
        assert_eq!(entry_token_in(&position), None);
        assert_eq!(entry_token_in(": keep-alive\n\n"), None);
    }
}
