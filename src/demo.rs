//! `urr demo`: a newcomer's first command. It starts a node (private PostgreSQL and
//! Redis when none is configured or reachable), seeds two shows of one concert, runs a
//! rush of simulated buyers at the first with the load generator in this process, prints
//! what happened, and keeps serving so a person can try to buy a seat at the second.

use anyhow::Context;
use urr_loadgen::{Backend, LoadgenConfig};

use crate::cli::DemoArgs;
use crate::node;

pub async fn run(mut args: DemoArgs) -> anyhow::Result<()> {
    let http = &mut args.node.http;
    // The demo is plain HTTP on this machine: cookies cannot require TLS, and payments go
    // to the sandbox provider.
    http.secure_cookies = false;
    http.payments.payment_sandbox = true;
    // The simulated buyers come through loopback, each naming its own address, so the
    // per-person rate limits apply to each of them as they would to real people.
    if http.rate_limits.trusted_proxies.is_empty() {
        for net in ["127.0.0.1/32", "::1/128"] {
            http.rate_limits
                .trusted_proxies
                .push(net.parse().map_err(anyhow::Error::msg)?);
        }
    }
    let running = node::start(args.node.clone()).await?;
    let url = running.url();
    println!("URR demo: a node is serving on {url}");
    let backend = Backend {
        db: running.state.db.clone(),
        keys: urr_auth::TokenKeys::new(&running.jwt_secret),
    };
    let stamp = crate::loadgen::chrono_like_now();

    // The show left for you: its waiting room is open, holds last five minutes.
    let encore_config = LoadgenConfig {
        target: url.clone(),
        seats: args.seats,
        hold_ttl_secs: 300,
        ..LoadgenConfig::default()
    };
    let api =
        urr_loadgen::client::Api::new(&url, 8, std::sync::Arc::new(urr_loadgen::Metrics::new()))?;
    let operator = urr_loadgen::setup::operator(&backend).await?;
    let encore = urr_loadgen::setup::sale(
        &api,
        &operator,
        &encore_config,
        "URR Live in Seoul: Encore Night",
    )
    .await
    .context("seeding the encore show")?;
    let (admin_email, admin_password) = demo_admin(&backend, stamp).await?;

    if !args.no_rush {
        let rush = LoadgenConfig {
            target: url.clone(),
            users: args.rush_users,
            seats: args.seats,
            accounts: args.accounts,
            out: "target/urr-demo".into(),
            // A line forms: a few hundred shop at once, 200 more every second.
            threshold: 300,
            batch: 100,
            tick_ms: 500,
            hold_ttl_secs: 30,
            ..LoadgenConfig::default()
        };
        println!(
            "rush: {} simulated buyers for {} seats, through both waiting rooms...",
            rush.users, rush.seats
        );
        let (report, written) =
            urr_loadgen::run(&rush, &backend, "URR Live in Seoul: Opening Night")
                .await
                .context("running the rush")?;
        println!("{}", report.summary());
        println!("report: {}", written.report.display());
        println!("plot:   {}", written.plot.display());
    }

    println!("\nOpen {url} in a browser.");
    println!(
        "  The encore show ({}, {} seats) has its waiting room open: sign up and buy a seat",
        encore.event, encore.total_seats
    );
    println!("  (payments go to the sandbox provider: pick KakaoPay, Naver Pay or transfer).");
    println!("  Operator pages: sign in as {admin_email} / {admin_password}");
    println!("Ctrl-C stops the node.");
    running.serve_until_signal().await
}

/// An operator account a person can sign in with, password printed once.
async fn demo_admin(backend: &Backend, stamp: u64) -> anyhow::Result<(String, String)> {
    let email = format!("admin-{stamp}@urr.demo");
    let password = urr_auth::refresh::new_secret()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect::<String>();
    let hash = urr_auth::password::hash(&password)?;
    urr_store::users::create(&backend.db, &email, "Demo operator", &hash).await?;
    urr_store::users::grant_admin(&backend.db, &email).await?;
    Ok((email, password))
}
