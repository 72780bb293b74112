//! A running node: services resolved, migrated, the edge listening and its background
//! parts (Tier-1 advancer, outbox relay, bus consumers, sweeper) started. `serve` and
//! `demo` both start one and stop it the same way.

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use urr_http::AppState;

use crate::cli::ServeArgs;
use crate::services::Services;

pub struct Running {
    pub address: std::net::SocketAddr,
    pub state: AppState,
    /// The secret access tokens are signed with (the load generator mints with it).
    pub jwt_secret: Vec<u8>,
    server: JoinHandle<std::io::Result<()>>,
    stop: watch::Sender<bool>,
    services: Services,
}

pub async fn start(args: ServeArgs) -> anyhow::Result<Running> {
    let services = Services::resolve(&args.services).await?;
    let db = urr_store::db::connect(&services.database_url, args.services.db_max_connections)
        .await
        .context("connecting to PostgreSQL")?;
    urr_store::db::migrate(&db).await.context("migrating")?;
    let kv = urr_store::Kv::connect(&services.redis_url, args.services.redis_prefix.clone())
        .await
        .context("connecting to Redis")?;
    let jwt_secret = match &args.http.jwt_secret {
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
    let node = crate::app::build(db, kv, args.http, &args.vwr, &jwt_secret).await?;
    node.state.spawn_sweeper();
    // Background parts and the server stop together.
    let (stop, stopped) = watch::channel(false);
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
    let server = tokio::spawn(urr_http::serve(listener, node.router, until_stopped()));
    tracing::info!(%address, "serving");
    Ok(Running {
        address,
        state: node.state,
        jwt_secret,
        server,
        stop,
        services,
    })
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Serves until Ctrl-C or SIGTERM, then stops.
    pub async fn serve_until_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        self.stop().await
    }

    /// Stops taking requests, lets in-flight ones finish, stops the actors and the
    /// private services.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        let served = self.server.await.context("the server task")?;
        self.state.events.shutdown().await;
        tracing::info!("shut down");
        drop(self.services);
        Ok(served?)
    }
}

/// Resolves on Ctrl-C or SIGTERM (what Kubernetes sends).
pub async fn shutdown_signal() {
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
