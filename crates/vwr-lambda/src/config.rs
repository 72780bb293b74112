//! The waiting room's settings, as flags with environment fallbacks; the edge flattens
//! this struct into `urr serve` and the Lambda binaries into their own command lines.

use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::store::DynamoTables;
use crate::waiting_room::RoomDefaults;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    Redis,
    Dynamodb,
}

#[derive(Debug, Clone, Args)]
pub struct VwrConfig {
    /// Where rooms live: Redis (in the edge) or DynamoDB (the Lambda's store).
    #[arg(
        long = "vwr-store",
        env = "URR_VWR_STORE",
        value_enum,
        default_value = "redis"
    )]
    pub store: StoreKind,

    /// DynamoDB endpoint, for an emulator or DynamoDB Local; unset means AWS itself.
    #[arg(long = "vwr-dynamodb-endpoint", env = "URR_VWR_DYNAMODB_ENDPOINT")]
    pub dynamodb_endpoint: Option<String>,

    /// Region for the emulator client (AWS itself takes the region from its environment).
    #[arg(
        long = "vwr-dynamodb-region",
        env = "URR_VWR_DYNAMODB_REGION",
        default_value = "us-east-1"
    )]
    pub dynamodb_region: String,

    #[arg(
        long = "vwr-counters-table",
        env = "URR_VWR_COUNTERS_TABLE",
        default_value = "counters"
    )]
    pub counters_table: String,

    #[arg(
        long = "vwr-positions-table",
        env = "URR_VWR_POSITIONS_TABLE",
        default_value = "positions"
    )]
    pub positions_table: String,

    /// Create the DynamoDB tables at start-up when missing (emulators and local stacks).
    #[arg(long = "vwr-create-tables", env = "URR_VWR_CREATE_TABLES", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub create_tables: bool,

    /// Shared secret for operator calls (header `x-vwr-admin-key`); admin access tokens
    /// work whether or not it is set.
    #[arg(
        long = "vwr-admin-key",
        env = "URR_VWR_ADMIN_KEY",
        hide_env_values = true
    )]
    pub admin_key: Option<String>,

    /// Positions admitted per interval when an operator opens a room without one.
    #[arg(long = "vwr-batch", env = "URR_VWR_BATCH", default_value_t = 500)]
    pub batch: u64,

    #[arg(
        long = "vwr-interval-secs",
        env = "URR_VWR_INTERVAL_SECS",
        default_value_t = 10
    )]
    pub interval_secs: u64,

    /// Seconds an admitted join has to fetch its token before it counts as a no-show.
    #[arg(
        long = "vwr-claim-window-secs",
        env = "URR_VWR_CLAIM_WINDOW_SECS",
        default_value_t = 60
    )]
    pub claim_window_secs: u64,

    /// How long a join's position record lives.
    #[arg(long = "vwr-position-ttl-secs", env = "URR_VWR_POSITION_TTL_SECS", default_value_t = 24 * 3600)]
    pub position_ttl_secs: u64,

    /// Most joins served by one counter write.
    #[arg(
        long = "vwr-max-block",
        env = "URR_VWR_MAX_BLOCK",
        default_value_t = 500
    )]
    pub max_block: usize,

    /// Milliseconds a join waits for company before its counter write (0: none).
    #[arg(long = "vwr-linger-ms", env = "URR_VWR_LINGER_MS", default_value_t = 0)]
    pub linger_ms: u64,

    /// Milliseconds a process reuses a room read for status, assign and check (0: never).
    #[arg(
        long = "vwr-room-cache-ms",
        env = "URR_VWR_ROOM_CACHE_MS",
        default_value_t = 500
    )]
    pub room_cache_ms: u64,

    /// How often the in-process advancer looks for rooms whose interval has come round.
    #[arg(
        long = "vwr-advance-tick-ms",
        env = "URR_VWR_ADVANCE_TICK_MS",
        default_value_t = 1000
    )]
    pub advance_tick_ms: u64,
}

impl Default for VwrConfig {
    fn default() -> Self {
        let defaults = RoomDefaults::default();
        Self {
            store: StoreKind::Redis,
            dynamodb_endpoint: None,
            dynamodb_region: "us-east-1".into(),
            counters_table: "counters".into(),
            positions_table: "positions".into(),
            create_tables: false,
            admin_key: None,
            batch: defaults.batch,
            interval_secs: defaults.interval_secs,
            claim_window_secs: defaults.claim_window_secs,
            position_ttl_secs: defaults.position_ttl.as_secs(),
            max_block: defaults.max_block,
            linger_ms: 0,
            room_cache_ms: 500,
            advance_tick_ms: 1000,
        }
    }
}

impl VwrConfig {
    pub fn room_defaults(&self) -> RoomDefaults {
        RoomDefaults {
            batch: self.batch.max(1),
            interval_secs: self.interval_secs.max(1),
            claim_window_secs: self.claim_window_secs.max(1),
            position_ttl: Duration::from_secs(self.position_ttl_secs.max(1)),
            max_block: self.max_block.max(1),
            linger: Duration::from_millis(self.linger_ms),
            cache_for: Duration::from_millis(self.room_cache_ms),
        }
    }

    pub fn tables(&self) -> DynamoTables {
        DynamoTables {
            counters: self.counters_table.clone(),
            positions: self.positions_table.clone(),
        }
    }

    pub fn advance_tick(&self) -> Duration {
        Duration::from_millis(self.advance_tick_ms.max(10))
    }
}
