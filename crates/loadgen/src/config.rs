//! What a rush looks like: how many people, how they arrive and behave, the event they
//! want, and the bounds the run stays within.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use uuid::Uuid;

/// How virtual users get their accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Accounts {
    /// Each signs up over HTTP (argon2id on the server: ~20 ms of CPU each).
    Http,
    /// Created in PostgreSQL in bulk before the rush, as people who signed up on an
    /// earlier day; each gets an access token signed with the node's secret.
    Provisioned,
}

#[derive(Debug, Clone, Args)]
pub struct LoadgenConfig {
    /// The URR node to drive, or several nodes of one site separated by commas (each user
    /// talks to one, round robin). Only loopback addresses are accepted.
    #[arg(
        long,
        env = "URR_LOADGEN_TARGET",
        default_value = "http://127.0.0.1:8080"
    )]
    pub target: String,

    /// Virtual users in the rush.
    #[arg(long, env = "URR_LOADGEN_USERS", default_value_t = 1_000)]
    pub users: usize,

    /// Requests in flight at once, across all users.
    #[arg(long, env = "URR_LOADGEN_CONCURRENCY", default_value_t = 256)]
    pub concurrency: usize,

    /// Requests in flight at once for people in the Tier-2 queue (checking in, statuses,
    /// heartbeats, streams), beside --concurrency: someone near the front of the queue
    /// does not wait behind the waiting room's crowd to hear they are in.
    #[arg(long, env = "URR_LOADGEN_QUEUE_CONCURRENCY", default_value_t = 256)]
    pub queue_concurrency: usize,

    /// Requests in flight at once for people already admitted (the seat map, holds,
    /// payments), beside --concurrency: a buyer's browser does not wait behind the
    /// crowd's polls in the load generator.
    #[arg(long, env = "URR_LOADGEN_BUYING_CONCURRENCY", default_value_t = 1_024)]
    pub buying_concurrency: usize,

    /// Users arrive spread evenly over this many seconds (0: all at once).
    #[arg(long, env = "URR_LOADGEN_ARRIVAL_SECS", default_value_t = 5)]
    pub arrival_secs: u64,

    /// The run stops after this many seconds whatever is left (at most 840: access
    /// tokens last 15 minutes).
    #[arg(long, env = "URR_LOADGEN_MAX_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=840))]
    pub max_secs: u64,

    /// Sell this existing event instead of creating one.
    #[arg(long, env = "URR_LOADGEN_EVENT")]
    pub event: Option<Uuid>,

    /// Seats of the event the run creates (sections of up to 500).
    #[arg(long, env = "URR_LOADGEN_SEATS", default_value_t = 1_000)]
    pub seats: u32,

    /// Each user wants between 1 and this many seats, side by side when possible.
    #[arg(long, env = "URR_LOADGEN_MAX_SEATS", default_value_t = 2)]
    pub max_seats_per_user: u32,

    /// Share of users who hold seats and then walk away without paying.
    #[arg(long, env = "URR_LOADGEN_ABANDON", default_value_t = 0.1)]
    pub abandon: f64,

    /// Times a user tries other seats after losing a race (409).
    #[arg(long, env = "URR_LOADGEN_RETRIES", default_value_t = 3)]
    pub retries: u32,

    /// Share of users who follow their Tier-2 place over the SSE stream instead of
    /// polling (capped by --sse-max open streams).
    #[arg(long, env = "URR_LOADGEN_SSE", default_value_t = 0.1)]
    pub sse: f64,

    /// Most SSE streams open at once; beyond it users poll.
    #[arg(long, env = "URR_LOADGEN_SSE_MAX", default_value_t = 500)]
    pub sse_max: usize,

    /// Go through the Tier-1 waiting room (opened by the run for an event it creates).
    #[arg(long, env = "URR_LOADGEN_TIER1", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub tier1: bool,

    /// Tier-1 admissions per advance, and seconds between advances.
    #[arg(long, env = "URR_LOADGEN_TIER1_BATCH", default_value_t = 500)]
    pub tier1_batch: u64,
    #[arg(long, env = "URR_LOADGEN_TIER1_INTERVAL_SECS", default_value_t = 1)]
    pub tier1_interval_secs: u64,
    /// Proof-of-work difficulty (leading zero bits) of the Tier-1 room the run opens;
    /// each virtual user then fetches a challenge and solves it, as a browser does.
    #[arg(long, env = "URR_LOADGEN_TIER1_POW_DIFFICULTY", default_value_t = 0)]
    pub tier1_pow_difficulty: u8,

    /// Tier-2 settings for an event the run creates: active users at once, admissions
    /// per tick, tick length, and how long a hold lasts unpaid.
    #[arg(long, env = "URR_LOADGEN_THRESHOLD", default_value_t = 1_000)]
    pub threshold: u32,
    #[arg(long, env = "URR_LOADGEN_BATCH", default_value_t = 200)]
    pub batch: u32,
    #[arg(long, env = "URR_LOADGEN_TICK_MS", default_value_t = 500)]
    pub tick_ms: u64,
    #[arg(long, env = "URR_LOADGEN_HOLD_TTL_SECS", default_value_t = 60)]
    pub hold_ttl_secs: u64,

    /// How long a call keeps trying, node after node, while the node it meets is down
    /// (connection refused, 502/503/504): a fault run's users wait out a crash instead
    /// of failing. 0: a call fails at once.
    #[arg(long, env = "URR_LOADGEN_PATIENCE_SECS", default_value_t = 0)]
    pub patience_secs: u64,

    /// Pay through Toss instead of the sandbox: prepare, then confirm with a payment key
    /// that starts with one of these prefixes, chosen at random per buyer (a provider
    /// stand-in may act on the prefix: `ok`, `error`, `slow`, `down`, ...). Empty: the
    /// sandbox (kakaopay, naverpay, transfer).
    #[arg(long, env = "URR_LOADGEN_TOSS_KEYS", value_delimiter = ',')]
    pub toss_keys: Vec<String>,

    /// How accounts are made.
    #[arg(long, env = "URR_LOADGEN_ACCOUNTS", value_enum, default_value = "http")]
    pub accounts: Accounts,

    /// Where report.json and plot.svg go.
    #[arg(long, env = "URR_LOADGEN_OUT", default_value = "target/loadgen")]
    pub out: PathBuf,

    /// Progress bars on a terminal.
    #[arg(long, env = "URR_LOADGEN_PROGRESS", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub progress: bool,

    /// Send each user's requests with its own X-Forwarded-For address, so a node that
    /// trusts loopback as a proxy rate-limits them as the separate people they are.
    #[arg(long, env = "URR_LOADGEN_FORWARDED_FOR", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub forwarded_for: bool,

    /// Seed of the users' random choices (arrival jitter, seats, who abandons).
    #[arg(long, env = "URR_LOADGEN_SEED", default_value_t = 2026)]
    pub seed: u64,
}

impl Default for LoadgenConfig {
    fn default() -> Self {
        Self {
            target: "http://127.0.0.1:8080".into(),
            users: 1_000,
            concurrency: 256,
            queue_concurrency: 256,
            buying_concurrency: 1_024,
            arrival_secs: 5,
            max_secs: 300,
            event: None,
            seats: 1_000,
            max_seats_per_user: 2,
            abandon: 0.1,
            retries: 3,
            sse: 0.1,
            sse_max: 500,
            tier1: true,
            tier1_batch: 500,
            tier1_interval_secs: 1,
            tier1_pow_difficulty: 0,
            threshold: 1_000,
            batch: 200,
            tick_ms: 500,
            hold_ttl_secs: 60,
            patience_secs: 0,
            toss_keys: Vec::new(),
            accounts: Accounts::Http,
            out: PathBuf::from("target/loadgen"),
            progress: true,
            forwarded_for: true,
            seed: 2026,
        }
    }
}
