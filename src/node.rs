//! A node, assembled in one place: its part in the cluster, the event directory over its
//! durable store (serving events under the cluster's leases), the payment service, the
//! edge's state and router with the Tier-1 room and the browser UI mounted, and the
//! background parts (leases and membership, Tier-1 advancer, outbox relay, bus
//! consumers, hold sweeper, payment reconciler). `urr serve`, `urr demo`, the test
//! harness and the benches all start a node through [`Node::assemble`], so none of them
//! wires a part the others lack.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use futures::future::BoxFuture;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use urr_actors::event::{DirectoryOptions, EventDirectory};
use urr_auth::TokenKeys;
use urr_cluster::{Cluster, ClusterConfig};
use urr_http::{AppState, HttpConfig, Tier1Rooms, Tier1Unavailable};
use urr_store::event_store::PgRedisEventStore;
use urr_store::{Kv, PgPool};
use urr_vwr::{AnyStore, VwrConfig, WaitingRoom};
use uuid::Uuid;

use crate::cli::ServeArgs;
use crate::private_services::Services;

/// The shortest token secret a node accepts: HS256 with a shorter key can be guessed
/// offline from one token.
pub const MIN_SECRET_BYTES: usize = 32;

/// Refuses a token secret shorter than [`MIN_SECRET_BYTES`], with what to do about it.
pub fn check_secret(secret: &[u8]) -> anyhow::Result<()> {
    if secret.len() < MIN_SECRET_BYTES {
        anyhow::bail!(
            "the token secret (--jwt-secret / URR_JWT_SECRET) is {} bytes; it must be at least \
             {MIN_SECRET_BYTES} (e.g. `openssl rand -base64 48`)",
            secret.len()
        );
    }
    Ok(())
}

/// What differs between the ways a node is started.
#[derive(Clone)]
pub struct NodeOptions {
    pub http: HttpConfig,
    pub vwr: VwrConfig,
    /// The resolved token secret (the CLI makes a random one when none is configured).
    pub jwt_secret: Vec<u8>,
    /// How the node's bus consumers poll their streams.
    pub bus: urr_bus::ConsumerConfig,
    /// Its part in the cluster (a single node is a cluster of one).
    pub cluster: ClusterConfig,
}

/// A node's parts, wired and ready to run.
pub struct Node {
    pub state: AppState,
    pub router: Router,
    pub cluster: Arc<Cluster>,
    /// Background parts, each run until the node stops.
    background: Vec<Background>,
}

/// A background part: given a future that resolves at shutdown, runs until then.
type Background = Box<dyn FnOnce(BoxFuture<'static, ()>) -> BoxFuture<'static, ()> + Send>;

/// Lets the Tier-2 queue ask whether an event's Tier-1 room is active.
struct Tier1Gate(WaitingRoom<AnyStore>);

#[async_trait::async_trait]
impl Tier1Rooms for Tier1Gate {
    async fn is_active(&self, event: Uuid) -> Result<bool, Tier1Unavailable> {
        self.0
            .is_active(&event.to_string())
            .await
            .map_err(|err| Tier1Unavailable(err.to_string()))
    }
}

impl Node {
    /// Wires every part of a node on live connections to a migrated database and Redis.
    pub async fn assemble(db: PgPool, kv: Kv, options: NodeOptions) -> anyhow::Result<Node> {
        let NodeOptions {
            http,
            vwr,
            jwt_secret,
            bus,
            cluster,
        } = options;
        check_secret(&jwt_secret)?;
        urr_http::metrics::install();
        let metrics_listen = http.metrics.metrics_listen;
        let keys = TokenKeys::new(&jwt_secret);
        let queue_defaults = http.events.queue_defaults();
        let writers = urr_store::db::writers(&db, http.events.writer_connections);
        let store = PgRedisEventStore::new(writers, kv.clone(), queue_defaults);
        let cluster = Cluster::join(db.clone(), kv.clone(), cluster, store.refused_counter())
            .await
            .context("joining the cluster")?;
        let events = EventDirectory::start_clustered(
            Arc::new(store),
            DirectoryOptions {
                idle_after: Duration::from_secs(http.events.actor_idle_secs),
                call_timeout: cluster.config().call_timeout,
                ..DirectoryOptions::default()
            },
            cluster.clone(),
        )
        .await
        .context("starting the event directory")?;
        cluster.attach(&events);
        let payments = Arc::new(urr_payments::PaymentService::new(
            db.clone(),
            events.clone(),
            &http.payments,
        ));
        let tier1 = urr_vwr::build(&vwr, kv.clone(), keys.clone())
            .await
            .context("opening the Tier-1 waiting room store")?;
        let sweeper = Sweeper {
            db: db.clone(),
            kv: kv.clone(),
            every: Duration::from_secs(http.events.sweep_interval_secs.max(1)),
            grace: Duration::from_secs(http.events.sweep_grace_secs),
        };
        let mut state = AppState::new(db, kv, http, keys, events, payments);
        state.tier1 = Some(Arc::new(Tier1Gate(tier1.room)));
        state.cluster = Some(cluster.clone());
        // The browser UI answers every other page path; API paths keep their JSON 404.
        let router = urr_http::router_with_ui(
            state.clone(),
            vec![urr_http::Mount {
                path: "/vwr-api",
                router: tier1.router,
                api: tier1.api,
            }],
            urr_web::router(),
        );

        let node_name = format!("node-{}", Uuid::new_v4().simple());
        let mut background: Vec<Background> = Vec::new();
        let keeper = cluster.clone();
        background.push(Box::new(move |stop| Box::pin(keeper.run(stop))));
        let advancer = tier1.advancer;
        background.push(Box::new(move |stop| Box::pin(advancer.run(stop))));
        let relay = urr_bus::Relay::new(state.db.clone(), state.kv.clone(), Default::default());
        background.push(Box::new(move |stop| Box::pin(relay.run(stop))));
        for consumer in
            urr_bus::consumers::for_node(&state.db, &state.kv, &state.payments, &node_name)
        {
            let consumer = consumer.with_config(bus.clone());
            background.push(Box::new(move |stop| Box::pin(consumer.run(stop))));
        }
        background.push(Box::new(move |stop| Box::pin(sweeper.run(stop))));
        let reconciler = state.payments.reconciler(state.kv.clone());
        background.push(Box::new(move |stop| Box::pin(reconciler.run(stop))));
        if let Some(address) = metrics_listen {
            // Bound now, so a taken port fails the start instead of a background task.
            let listener = std::net::TcpListener::bind(address)
                .with_context(|| format!("binding the metrics listener {address}"))?;
            listener.set_nonblocking(true)?;
            let listener = TcpListener::from_std(listener)?;
            tracing::info!(%address, "serving metrics");
            background.push(Box::new(move |stop| {
                Box::pin(async move {
                    let router = urr_http::metrics::scrape_router();
                    if let Err(err) = axum::serve(listener, router)
                        .with_graceful_shutdown(stop)
                        .await
                    {
                        tracing::error!(%err, "the metrics listener failed");
                    }
                })
            }));
        }
        Ok(Node {
            state,
            router,
            cluster,
            background,
        })
    }

    /// Serves on `listener` and starts every background part; all of them stop together
    /// when the returned [`Running`] is stopped.
    pub fn run(self, listener: TcpListener, jwt_secret: Vec<u8>) -> anyhow::Result<Running> {
        let address = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let until_stopped = move || -> BoxFuture<'static, ()> {
            let mut stopped = stopped.clone();
            Box::pin(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
        };
        let background = self
            .background
            .into_iter()
            .map(|part| tokio::spawn(part(until_stopped())))
            .collect();
        let server = tokio::spawn(urr_http::serve(listener, self.router, until_stopped()));
        tracing::info!(%address, "serving");
        Ok(Running {
            address,
            state: self.state,
            cluster: self.cluster,
            jwt_secret,
            server,
            background,
            stop,
            services: None,
        })
    }
}

/// Finishes holds that no live actor expired (a crashed node's), on every node, without
/// stepping on each other (`FOR UPDATE SKIP LOCKED`).
struct Sweeper {
    db: PgPool,
    kv: Kv,
    every: Duration,
    grace: Duration,
}

impl Sweeper {
    async fn run(self, stop: BoxFuture<'static, ()>) {
        let mut interval = tokio::time::interval(self.every);
        let sweeping = async {
            loop {
                interval.tick().await;
                if let Err(err) =
                    urr_store::sweeper::sweep(&self.db, &self.kv, self.grace, 500).await
                {
                    tracing::warn!(%err, "hold sweep failed; retrying next interval");
                }
            }
        };
        tokio::select! {
            () = sweeping => {},
            () = stop => {},
        }
    }
}

/// A node serving, with its background parts running.
pub struct Running {
    pub address: std::net::SocketAddr,
    pub state: AppState,
    pub cluster: Arc<Cluster>,
    /// The secret access tokens are signed with (the load generator mints with it).
    pub jwt_secret: Vec<u8>,
    server: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    /// Private PostgreSQL and Redis started for this node, stopped with it.
    services: Option<Services>,
}

/// How long a caller waits for an event's answer, here or from its owner's node.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A node's part in the cluster with the default timings, for a node assembled in a
/// test or a bench: its id, where it is reached, the secret its peers share.
pub fn cluster_config(
    node_id: impl Into<String>,
    advertise_url: impl Into<String>,
    secret: impl Into<String>,
) -> ClusterConfig {
    ClusterConfig {
        node_id: node_id.into(),
        advertise_url: advertise_url.into(),
        lease_ttl: Duration::from_millis(crate::cli::DEFAULT_LEASE_TTL_MS),
        member_ttl: Duration::from_millis(crate::cli::DEFAULT_MEMBER_TTL_MS),
        secret: secret.into(),
        call_timeout: CALL_TIMEOUT,
    }
}

/// Resolves the services, migrates, and starts a node as `urr serve` configures it.
pub async fn start(args: ServeArgs) -> anyhow::Result<Running> {
    let services = Services::resolve(&args.services).await?;
    let db = urr_store::db::connect(&services.database_url, args.services.db_max_connections)
        .await
        .context("connecting to PostgreSQL")?;
    urr_store::db::migrate(&db).await.context("migrating")?;
    let kv = Kv::connect(&services.redis_url, args.services.redis_prefix.clone())
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
    let bound = listener.local_addr()?;
    let (lease_ttl, member_ttl) = args.cluster.ttls()?;
    let cluster = ClusterConfig {
        node_id: args.cluster.node_id(bound.port())?,
        advertise_url: args.cluster.advertise_url(bound)?,
        lease_ttl,
        member_ttl,
        secret: args.cluster.secret(&jwt_secret),
        call_timeout: CALL_TIMEOUT,
    };
    let options = NodeOptions {
        http: args.http,
        vwr: args.vwr,
        jwt_secret: jwt_secret.clone(),
        bus: urr_bus::ConsumerConfig::default(),
        cluster,
    };
    let mut running = Node::assemble(db, kv, options)
        .await?
        .run(listener, jwt_secret)?;
    running.services = Some(services);
    Ok(running)
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

    /// Leaves the cluster in order, then stops: out of the membership first (no new work
    /// is placed here), every owned event drained (its actor flushed and stopped, its
    /// lease released, for another node to take over), then no more requests (in-flight
    /// ones finish, and those for drained events were forwarded to their new owners), the
    /// background parts, the actors and the private services. A rolling upgrade that
    /// stops nodes this way drops nothing (`docs/operations.md`).
    pub async fn stop(self) -> anyhow::Result<()> {
        self.cluster.drain().await;
        let _ = self.stop.send(true);
        // In-flight requests get as long as any request may take; an event stream (SSE)
        // never ends by itself, so whatever is still open then is closed, and its
        // browser reconnects to another node.
        let mut server = self.server;
        let grace = self.state.config.request_timeout() + Duration::from_secs(1);
        let served = match tokio::time::timeout(grace, &mut server).await {
            Ok(joined) => joined.context("the server task")?,
            Err(_) => {
                tracing::info!(?grace, "closing the event streams still open");
                server.abort();
                Ok(())
            }
        };
        for part in self.background {
            let _ = part.await;
        }
        self.state.events.shutdown().await;
        tracing::info!("shut down");
        drop(self.services);
        Ok(served?)
    }

    /// Stops the node at once, as a crash would: its leases are neither renewed nor
    /// released (they lapse by their TTL, and the other nodes take its events over), it
    /// stays a member until its heartbeat is missed, the listener closes, background
    /// parts and actors stop, open connections are not waited for (tests of restarts and
    /// failover).
    pub async fn halt(self) {
        self.cluster.halt();
        let _ = self.stop.send(true);
        self.server.abort();
        // Payments being settled stop where they are, as they would in a crash.
        self.state.payments.halt();
        for part in self.background {
            let _ = part.await;
        }
        self.state.events.shutdown().await;
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
