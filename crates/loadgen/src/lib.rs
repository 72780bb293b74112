//! `urr loadgen`: a rush of virtual users against a running URR node, over HTTP as
//! browsers do, with the checks that matter reported at the end (oversold seats,
//! fairness, errors by status, latency percentiles, time to sell out), a JSON report and
//! a plot.
//!
//! The run: set up (operator, event, rooms), make accounts, let users arrive over
//! `--arrival-secs`, each on its own journey (`journey`), sample the counters once a
//! second, stop at sell-out or the deadline, then check and report.

pub mod bound;
pub mod checks;
pub mod client;
pub mod config;
pub mod error;
pub mod fairness;
pub mod journey;
pub mod metrics;
pub mod plot;
mod progress;
pub mod report;
pub mod setup;
pub mod waiters;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub use config::{Accounts, LoadgenConfig};
pub use error::LoadgenError;
use journey::{Plan, Run};
pub use metrics::Metrics;
pub use report::Report;
pub use setup::Backend;

/// Where the run wrote its files.
#[derive(Debug, Clone)]
pub struct Written {
    pub report: std::path::PathBuf,
    pub plot: std::path::PathBuf,
}

/// Runs one rush against `config.target` and writes the report and plot to `config.out`.
pub async fn run(
    config: &LoadgenConfig,
    backend: &Backend,
    title: &str,
) -> Result<(Report, Written), LoadgenError> {
    client::parse_targets(&config.target)?;
    if !(0.0..=1.0).contains(&config.abandon) || !(0.0..=1.0).contains(&config.sse) {
        return Err(LoadgenError::Config(
            "--abandon and --sse are shares between 0 and 1".into(),
        ));
    }
    let metrics = Arc::new(Metrics::new());
    let patience = Duration::from_secs(config.patience_secs);
    let api = client::Api::with_patience(
        &config.target,
        config.concurrency,
        patience,
        metrics.clone(),
    )?;
    let operator = setup::operator(backend).await?;
    let sale = setup::sale(&api, &operator, config, title).await?;
    tracing::info!(event = %sale.event, seats = sale.total_seats, tier1 = sale.tier1, "sale ready");

    let bars = progress::Bars::new(config.progress, config.users as u64, sale.total_seats);
    let signup_started = Instant::now();
    let made = AtomicUsize::new(0);
    let accounts = setup::accounts(&api, backend, config, || {
        let n = made.fetch_add(1, Ordering::Relaxed) + 1;
        bars.signed_up(n as u64);
    })
    .await?;
    let signup_secs = signup_started.elapsed().as_secs_f64();

    // The rush proper: counters restart so rates and latencies describe the rush only.
    let metrics = Arc::new(Metrics::new());
    let api = client::Api::with_patience(
        &config.target,
        config.concurrency,
        patience,
        metrics.clone(),
    )?;
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let run = Arc::new(Run {
        queue: api.lane(config.queue_concurrency, client::QUEUE_SLOT)?,
        buying: api.lane(config.buying_concurrency, client::BUYING_SLOT)?,
        api: api.clone(),
        sale: sale.clone(),
        stop,
        stop_tx,
        deadline: tokio::time::Instant::now() + Duration::from_secs(config.max_secs),
        sse_open: AtomicUsize::new(0),
        sse_max: config.sse_max,
        retries: config.retries,
        toss_keys: config.toss_keys.clone(),
    });
    let mut rng = StdRng::seed_from_u64(config.seed);
    let spread = Duration::from_secs(config.arrival_secs);
    let mut tasks = tokio::task::JoinSet::new();
    let mut people = Vec::with_capacity(accounts.len());
    for account in accounts.iter().cloned() {
        let plan = Plan {
            arrive_after: spread.mul_f64(rng.random::<f64>()),
            wants: rng.random_range(1..=config.max_seats_per_user.max(1) as usize),
            abandons: rng.random_bool(config.abandon),
            follows_stream: rng.random_bool(config.sse),
            rng_seed: rng.random(),
        };
        people.push(bound::Person {
            arrives: plan.arrive_after,
            wants: u32::try_from(plan.wants).unwrap_or(u32::MAX),
            walks_away: plan.abandons,
        });
        tasks.spawn(journey::journey(run.clone(), account, plan));
    }
    let ideal = ideal_times(config, &sale, people);

    let sampler = {
        let metrics = metrics.clone();
        let bars = bars.clone();
        let mut stop = run.stop.clone();
        tokio::spawn(async move {
            let mut timeline = metrics::Timeline::default();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = journey::until_stopped(&mut stop) => {
                        timeline.sample(&metrics);
                        return timeline;
                    }
                }
                timeline.sample(&metrics);
                bars.update(&metrics);
            }
        })
    };
    let mut users = Vec::with_capacity(config.users);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(user) => users.push(user),
            Err(err) => tracing::error!(%err, "a virtual user's task failed"),
        }
    }
    let rush_secs = metrics.started.elapsed().as_secs_f64();
    // Those still waiting when the last seat went were sold out, not cut off.
    if metrics.sold_out_ms.load(Ordering::Relaxed) > 0 {
        for user in &mut users {
            if user.outcome == journey::Outcome::Stopped {
                user.outcome = journey::Outcome::SoldOut;
            }
        }
    }
    let _ = run.stop_tx.send(true);
    let timeline = sampler
        .await
        .map(metrics::Timeline::into_samples)
        .unwrap_or_default();
    bars.finish(&metrics);

    let checks = checks::run(
        &api,
        backend,
        &operator,
        &sale,
        &accounts,
        &users,
        config.concurrency,
    )
    .await?;
    let (outcomes, failure_examples) = report::outcomes(&users);
    let sold_out_ms = metrics.sold_out_ms.load(Ordering::Relaxed);
    let report = Report {
        event: sale.event,
        users: config.users,
        seats: sale.total_seats,
        accounts: format!("{:?}", config.accounts).to_lowercase(),
        tier1: sale.tier1,
        signup_secs,
        rush_secs,
        sold_out_secs: (sold_out_ms > 0).then(|| sold_out_ms as f64 / 1000.0),
        ideal_sell_out_secs: ideal.0,
        ideal_without_walkers_secs: ideal.1,
        admitted: metrics.admitted.load(Ordering::Relaxed),
        holds: metrics.holds.load(Ordering::Relaxed),
        conflicts: metrics.conflicts.load(Ordering::Relaxed),
        sales: metrics.sales.load(Ordering::Relaxed),
        seats_sold: metrics.seats_sold.load(Ordering::Relaxed),
        abandoned: metrics.abandoned.load(Ordering::Relaxed),
        retries: metrics.retries.load(Ordering::Relaxed),
        outcomes,
        failure_examples,
        acknowledged_holds: users.iter().flat_map(|u| u.held.iter().copied()).collect(),
        lost_queue_places: users
            .iter()
            .filter(|u| u.failure.as_deref() == Some(journey::LOST_PLACE))
            .count() as u64,
        checks,
        calls: metrics.calls(),
        timeline,
    };
    std::fs::create_dir_all(&config.out)?;
    let written = Written {
        report: config.out.join("report.json"),
        plot: config.out.join("plot.svg"),
    };
    let json = serde_json::to_vec_pretty(&report)
        .map_err(|e| LoadgenError::Setup(format!("serialising the report: {e}")))?;
    std::fs::write(&written.report, json)?;
    plot::draw(
        &report.timeline,
        &written.plot,
        &format!("URR rush: {} users, {} seats", report.users, report.seats),
    )?;
    Ok((report, written))
}

/// What the admission rate alone allows with these people, with and without their
/// walkers (`bound`); unknown for an event the run did not set up.
fn ideal_times(
    config: &LoadgenConfig,
    sale: &setup::Sale,
    mut people: Vec<bound::Person>,
) -> (Option<f64>, Option<f64>) {
    if config.event.is_some() {
        return (None, None);
    }
    let tick = Duration::from_millis(config.tick_ms.max(1)).as_secs_f64();
    let mut rate = f64::from(config.batch) / tick;
    if sale.tier1 {
        rate = rate.min(config.tier1_batch as f64 / config.tier1_interval_secs.max(1) as f64);
    }
    let pace = bound::Pace {
        admissions_per_sec: rate,
        hold_ttl: Duration::from_secs(config.hold_ttl_secs),
    };
    people.sort_by_key(|p| p.arrives);
    let with = bound::ideal_sell_out(&people, sale.total_seats, pace);
    for person in &mut people {
        person.walks_away = false;
    }
    let without = bound::ideal_sell_out(&people, sale.total_seats, pace);
    (
        with.map(|d| d.as_secs_f64()),
        without.map(|d| d.as_secs_f64()),
    )
}
