//! Assembling a node: the edge's state and router with the Tier-1 room and the browser UI
//! mounted.

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use urr_http::{AppState, HttpConfig, Tier1Rooms};
use urr_store::{Kv, PgPool};
use urr_vwr::{Advancer, AnyStore, VwrConfig, WaitingRoom};
use uuid::Uuid;

/// A node's parts, ready to serve.
pub struct Node {
    pub state: AppState,
    pub router: Router,
    /// Runs the Tier-1 counter advancer; spawn it with `advancer.run(shutdown)`.
    pub advancer: Advancer<AnyStore>,
    /// Publishes the outbox to Redis Streams; spawn with `relay.run(shutdown)`.
    pub relay: urr_bus::Relay,
    /// The stats and ticket consumers; spawn each with `consumer.run(shutdown)`.
    pub consumers: Vec<urr_bus::Consumer>,
}

/// Lets the Tier-2 queue ask whether an event's Tier-1 room is active.
struct Tier1Gate(WaitingRoom<AnyStore>);

#[async_trait::async_trait]
impl Tier1Rooms for Tier1Gate {
    async fn is_active(&self, event: Uuid) -> bool {
        self.0.is_active(&event.to_string()).await
    }
}

pub async fn build(
    db: PgPool,
    kv: Kv,
    http: HttpConfig,
    vwr: &VwrConfig,
    jwt_secret: &[u8],
) -> anyhow::Result<Node> {
    let mut state = AppState::new(db, kv.clone(), http, jwt_secret)
        .await
        .context("starting the event directory")?;
    let tier1 = urr_vwr::build(vwr, kv, state.keys.clone())
        .await
        .context("opening the Tier-1 waiting room store")?;
    state.tier1 = Some(Arc::new(Tier1Gate(tier1.room)));
    // The browser UI answers every other page path; API paths keep their JSON 404.
    let router = urr_http::router_with_ui(
        state.clone(),
        vec![("/vwr-api", tier1.router)],
        urr_web::router(),
    );
    let relay = urr_bus::Relay::new(state.db.clone(), state.kv.clone(), Default::default());
    let node_name = format!("node-{}", Uuid::new_v4().simple());
    let consumers = urr_bus::consumers::for_node(&state.db, &state.kv, &state.events, &node_name);
    Ok(Node {
        state,
        router,
        advancer: tier1.advancer,
        relay,
        consumers,
    })
}
