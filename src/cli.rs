//! The command line: one typed configuration, every flag with an environment fallback.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "urr",
    version,
    about = "URR: a ticket on-sale cluster that admits people fairly and sells every seat once"
)]
pub struct Cli {
    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, global = true, env = "URR_LOG_FORMAT", default_value = "text")]
    pub log_format: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node: migrate, then serve the API until Ctrl-C or SIGTERM.
    Serve(Box<ServeArgs>),
    /// The first thing to run: a node with a demo concert, its waiting room open and a
    /// rush of simulated buyers; prints the rush's results and keeps serving for you.
    Demo(Box<DemoArgs>),
    /// Drive a running node with a rush of virtual users over HTTP and report oversold
    /// seats, fairness, errors and latency (loopback only).
    Loadgen(Box<LoadgenArgs>),
    /// Apply database migrations and exit.
    Migrate(ServiceArgs),
    /// Operator tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The event bus's dead letters: list them, replay them after a fix.
    Streams {
        #[command(subcommand)]
        command: urr_bus::StreamsCommand,
        #[command(flatten)]
        services: ServiceArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Give the account with EMAIL the admin role (it takes effect at its next sign-in).
    Grant {
        /// Email of an existing account.
        email: String,
        #[command(flatten)]
        services: ServiceArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub services: ServiceArgs,
    #[command(flatten)]
    pub http: urr_http::HttpConfig,
    #[command(flatten)]
    pub vwr: urr_vwr::VwrConfig,
}

/// Where PostgreSQL and Redis are. Unset URLs fall back to the default local ports, and
/// when nothing answers there, to private servers started under `--dev-dir`.
#[derive(Debug, Clone, Args)]
pub struct ServiceArgs {
    /// PostgreSQL URL, e.g. postgres://user@host:5432/urr.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Redis URL, e.g. redis://127.0.0.1:6379/.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Port probed for a local PostgreSQL (user `postgres`) when DATABASE_URL is unset.
    #[arg(long, env = "URR_DEFAULT_POSTGRES_PORT", default_value_t = 5432)]
    pub default_postgres_port: u16,

    /// Port probed for a local Redis when REDIS_URL is unset.
    #[arg(long, env = "URR_DEFAULT_REDIS_PORT", default_value_t = 6379)]
    pub default_redis_port: u16,

    /// Database used on a local or private PostgreSQL; created when missing.
    #[arg(long, env = "URR_DATABASE_NAME", default_value = "urr")]
    pub database_name: String,

    /// Where private PostgreSQL and Redis keep their data.
    #[arg(long, env = "URR_DEV_DIR", default_value = "target/urr-dev")]
    pub dev_dir: PathBuf,

    /// Directory holding PostgreSQL's `initdb` and `pg_ctl` for a private server. When
    /// unset, PATH and then /usr/lib/postgresql/*/bin (newest first) are searched.
    #[arg(long, env = "URR_POSTGRES_BIN_DIR")]
    pub postgres_bin_dir: Option<PathBuf>,

    /// Prefix of every Redis key this node writes.
    #[arg(long, env = "URR_REDIS_PREFIX", default_value = "urr:")]
    pub redis_prefix: String,

    /// Size of the PostgreSQL connection pool.
    #[arg(long, env = "URR_DB_MAX_CONNECTIONS", default_value_t = 20)]
    pub db_max_connections: u32,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub node: ServeArgs,

    /// Simulated buyers in the opening rush.
    #[arg(long, env = "URR_DEMO_RUSH_USERS", default_value_t = 2_000)]
    pub rush_users: usize,

    /// Seats of the rush concert (the encore show, left for you, has as many).
    #[arg(long, env = "URR_DEMO_SEATS", default_value_t = 2_000)]
    pub seats: u32,

    /// How the simulated buyers get accounts: provisioned in bulk (as if they signed up
    /// the week before), or each signing up over HTTP (argon2: ~25 ms of CPU each).
    #[arg(
        long,
        env = "URR_DEMO_ACCOUNTS",
        value_enum,
        default_value = "provisioned"
    )]
    pub accounts: urr_loadgen::Accounts,

    /// Skip the rush: seed the events and serve.
    #[arg(long, env = "URR_DEMO_NO_RUSH")]
    pub no_rush: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LoadgenArgs {
    /// The node's database: the run's operator account, bulk accounts, and the oversell
    /// check in the system of record.
    #[command(flatten)]
    pub services: ServiceArgs,

    /// The node's token secret (its URR_JWT_SECRET), to sign the operator's token.
    #[arg(long, env = "URR_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: String,

    #[command(flatten)]
    pub rush: urr_loadgen::LoadgenConfig,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Flattened configs share one flag namespace; clap finds clashes only at run time.
    #[test]
    fn every_command_parses_without_clashing_flags() {
        Cli::command().debug_assert();
    }
}
