//! URR: a ticket on-sale cluster. This crate is the `urr` command: it resolves where
//! PostgreSQL and Redis are (starting private ones when needed) and runs the edge.

pub mod app;
pub mod cli;
pub mod consumers;
pub mod services;
pub mod telemetry;

use anyhow::Context;
use cli::{Cli, Command};
use services::Services;
use tokio::net::TcpListener;

/// Runs the command the CLI asked for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Migrate(args) => {
            let services = Services::resolve(&args).await?;
            let db = urr_store::db::connect(&services.database_url, 2).await?;
            urr_store::db::migrate(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Streams { command, services } => {
            let resolved = Services::resolve(&services).await?;
            let db = urr_store::db::connect(&resolved.database_url, 2).await?;
            urr_store::db::migrate(&db).await?;
            let kv =
                urr_store::Kv::connect(&resolved.redis_url, services.redis_prefix.clone()).await?;
            urr_bus::cli::run(command, &kv, &db).await?;
            Ok(())
        }
        Command::Admin(cli::AdminCommand::Grant { email, services }) => {
            let resolved = Services::resolve(&services).await?;
            let db = urr_store::db::connect(&resolved.database_url, 2).await?;
            urr_store::db::migrate(&db).await?;
            let user = urr_store::users::grant_admin(&db, &email)
                .await
                .map_err(|e| match e {
                    urr_store::StoreError::NotFound => {
                        anyhow::anyhow!("no account with email {email}: register first")
                    }
                    other => other.into(),
                })?;
            println!("{} ({}) is now an admin", user.email, user.id);
            Ok(())
        }
    }
}

async fn serve(args: cli::ServeArgs) -> anyhow::Result<()> {
    let services = Services::resolve(&args.services).await?;
    let db = urr_store::db::connect(&services.database_url, args.services.db_max_connections)
        .await
        .context("connecting to PostgreSQL")?;
    urr_store::db::migrate(&db).await.context("migrating")?;
    let kv = urr_store::Kv::connect(&services.redis_url, args.services.redis_prefix.clone())
        .await
        .context("connecting to Redis")?;
    let secret = match &args.http.jwt_secret {
        Some(secret) => secret.clone().into_bytes(),
        None => {
            tracing::warn!("URR_JWT_SECRET is not set: using a random secret for this run");
            urr_auth::refresh::new_secret().into_bytes()
        }
    };
    let listener = TcpListener::bind(args.http.listen)
        .await
        .with_context(|| format!("binding {}", args.http.listen))?;
    let address = listener.local_addr()?;
    let node = app::build(db, kv, args.http, &args.vwr, &secret).await?;
    node.state.spawn_sweeper();
    // Background parts stop together when the server does.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    tokio::spawn(node.advancer.run(until_stopped()));
    tokio::spawn(node.relay.run(until_stopped()));
    for consumer in node.consumers {
        tokio::spawn(consumer.run(until_stopped()));
    }
    // Scripts and tests read this line to find the port when listening on port 0.
    println!("URR listening on http://{address}");
    tracing::info!(%address, "serving");
    urr_http::serve(listener, node.router, shutdown_signal()).await?;
    let _ = stop.send(true);
    node.state.events.shutdown().await;
    tracing::info!("shut down");
    drop(services);
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (what Kubernetes sends).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
