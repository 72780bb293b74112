//! The waiting room's settings, as flags with environment fallbacks; the edge flattens
//! this struct into `urr serve` and the Lambda binaries into their own command lines.

use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::VwrError;
use crate::address::IpNet;
use crate::captcha::CaptchaVerifier;
use crate::gate::BotDefence;
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

    /// Where CAPTCHA tokens are verified, Turnstile-style (a form POST of `secret`,
    /// `response`, `remoteip`; a JSON reply with `success`). Unset: rooms cannot ask for
    /// a CAPTCHA.
    #[arg(long = "vwr-captcha-verify-url", env = "URR_VWR_CAPTCHA_VERIFY_URL")]
    pub captcha_verify_url: Option<String>,

    /// The secret sent to the CAPTCHA verifier.
    #[arg(
        long = "vwr-captcha-secret",
        env = "URR_VWR_CAPTCHA_SECRET",
        hide_env_values = true
    )]
    pub captcha_secret: Option<String>,

    /// The CAPTCHA provider's site key, handed to the browser's widget.
    #[arg(long = "vwr-captcha-site-key", env = "URR_VWR_CAPTCHA_SITE_KEY")]
    pub captcha_site_key: Option<String>,

    /// How long a CAPTCHA verification may take before the join is refused (503).
    #[arg(
        long = "vwr-captcha-timeout-ms",
        env = "URR_VWR_CAPTCHA_TIMEOUT_MS",
        default_value_t = 3000
    )]
    pub captcha_timeout_ms: u64,

    /// Proxies (IPs or CIDRs, comma-separated) whose `X-Forwarded-For` the room believes
    /// for its per-address join limits; the same variable as the edge's
    /// `--trusted-proxies`, so one setting serves both. On Lambda the address is API
    /// Gateway's `sourceIp` instead.
    #[arg(
        id = "vwr_trusted_proxies",
        value_name = "IP_OR_CIDR",
        long = "vwr-trusted-proxies",
        env = "URR_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpNet>,
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
            captcha_verify_url: None,
            captcha_secret: None,
            captcha_site_key: None,
            captcha_timeout_ms: 3000,
            trusted_proxies: Vec::new(),
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

    /// The node's side of bot defence; a verify URL without a secret is refused.
    pub fn bot_defence(&self) -> Result<BotDefence, VwrError> {
        let captcha = match (&self.captcha_verify_url, &self.captcha_secret) {
            (None, _) => None,
            (Some(url), Some(secret)) if !secret.is_empty() => Some(CaptchaVerifier::new(
                url.clone(),
                secret.clone(),
                Duration::from_millis(self.captcha_timeout_ms.max(1)),
            )?),
            (Some(_), _) => {
                return Err(VwrError::Config(
                    "--vwr-captcha-verify-url needs --vwr-captcha-secret".into(),
                ));
            }
        };
        Ok(BotDefence {
            captcha,
            captcha_site_key: self.captcha_site_key.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
        })
    }
}
