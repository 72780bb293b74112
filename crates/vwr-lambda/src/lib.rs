//! Tier 1 — the virtual waiting room (`docs/architecture.md#tier-1-and-tier-2`).
//!
//! The same code runs as two AWS Lambda functions on DynamoDB (`vwr-api`,
//! `vwr-advancer`; template in `deploy/`) and inside the `urr` edge on Redis.
//!
//! For the edge:
//!
//! ```ignore
//! let tier1 = urr_vwr::build(&config.vwr, kv.clone(), keys.clone()).await?;
//! let app = app.nest("/vwr-api", tier1.router);
//! tokio::spawn(tier1.advancer.run(shutdown_signal()));
//! ```
//!
//! Rooms get past one counter item's write limit by claiming tickets in blocks
//! ([`joiner`]); a pre-queue is shuffled at sale open by a published seed
//! ([`domain::shuffle`]); the advancer replaces no-shows ([`domain::room`]). The Tier-1
//! token itself is `urr_auth::TokenKeys::issue_queue(event, uid, Tier::One, Some(pos))`,
//! so the edge verifies it with `verify_queue(token, Tier::One, event, uid)`.

pub mod address;
pub mod advancer;
pub mod captcha;
pub mod cli;
pub mod config;
pub mod domain;
mod error;
mod gate;
mod http;
mod identity;
pub mod joiner;
mod metrics;
mod openapi;
mod operator;
mod request;
mod room_cache;
pub mod store;
pub mod telemetry;
pub mod waiting_room;

use axum::Router;
use urr_auth::TokenKeys;
use urr_kv::Kv;

pub use advancer::{Advancer, CycleReport};
pub use config::{StoreKind, VwrConfig};
pub use error::{ErrorCode, VwrError};
pub use gate::{BotDefence, ChallengeReply, JoinProof};
pub use http::{documented_router, router};
pub use operator::ADMIN_KEY_HEADER;
pub use store::{AnyStore, DynamoStore, DynamoTables, RedisStore, VwrStore};
pub use waiting_room::{RoomDefaults, WaitingRoom};

/// Opens the configured store: Redis through `kv` (used only when the store is Redis), or
/// DynamoDB (an emulator when an endpoint is configured, else AWS from the environment).
pub async fn open_store(config: &VwrConfig, kv: Option<Kv>) -> Result<AnyStore, VwrError> {
    match config.store {
        StoreKind::Redis => {
            let kv = kv.ok_or_else(|| {
                VwrError::Config("the Redis store needs a Redis connection".into())
            })?;
            Ok(AnyStore::Redis(RedisStore::new(kv)))
        }
        StoreKind::Dynamodb => {
            let store = match &config.dynamodb_endpoint {
                Some(endpoint) => {
                    DynamoStore::local(endpoint, &config.dynamodb_region, config.tables())
                }
                None => DynamoStore::from_env(None, config.tables()).await,
            };
            if config.create_tables {
                store.ensure_tables().await?;
            }
            Ok(AnyStore::Dynamo(store))
        }
    }
}

/// Everything the edge needs: the waiting room's router (to nest at `/vwr-api`), its
/// advancer (to spawn with `advancer.run(shutdown)`), and the room itself (so the Tier-2
/// queue can ask whether an event's room is active).
pub struct Tier1 {
    pub router: Router,
    /// The routes' part of the OpenAPI document, paths relative to the router.
    pub api: utoipa::openapi::OpenApi,
    pub advancer: Advancer<AnyStore>,
    pub room: WaitingRoom<AnyStore>,
}

pub async fn build(config: &VwrConfig, kv: Kv, keys: TokenKeys) -> Result<Tier1, VwrError> {
    let store = open_store(config, Some(kv)).await?;
    let room =
        WaitingRoom::new(store, keys, config.room_defaults()).with_defence(config.bot_defence()?);
    let advancer = Advancer::new(room.clone(), config.advance_tick());
    let (router, api) = http::documented_router(room.clone(), config.admin_key.clone());
    Ok(Tier1 {
        router,
        api,
        advancer,
        room,
    })
}

impl<S: VwrStore> WaitingRoom<S> {
    /// Whether `event`'s room is active. A store failure is an error, never "inactive":
    /// the Tier-2 queue must not let people past a room it cannot see (it answers 503 and
    /// the caller retries).
    pub async fn is_active(&self, event: &str) -> Result<bool, VwrError> {
        let Some(id) = domain::ids::EventId::parse(event) else {
            return Ok(false);
        };
        Ok(self.status(&id).await?.is_active)
    }
}
