//! The command line: one typed configuration, every flag with an environment fallback.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
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
    Serve(Box<ServeCommand>),
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
    /// Give the account with EMAIL the admin role (operator calls work from its next request).
    Grant {
        /// Email of an existing account.
        email: String,
        #[command(flatten)]
        services: ServiceArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ServeCommand {
    #[command(flatten)]
    pub node: ServeArgs,

    /// Parse and validate the whole configuration (flags and environment), print it with
    /// secrets masked and exit, without contacting PostgreSQL, Redis or anything else.
    /// Deployments run it against the environment they render. A mode, not a setting:
    /// it has no environment fallback, so a stray variable cannot stop a node serving.
    #[arg(long)]
    pub check_config: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub services: ServiceArgs,
    #[command(flatten)]
    pub http: urr_http::HttpConfig,
    #[command(flatten)]
    pub vwr: urr_vwr::VwrConfig,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// How this node is known to the other nodes of a cluster: they find it in the membership
/// by its id and forward requests for the events it owns to its advertised URL. Which
/// node owns an event is decided by leases and epochs, never by these names.
#[derive(Debug, Clone, Default, Args)]
pub struct ClusterArgs {
    /// This node's id in the cluster's membership, unique per node. Defaults to the host
    /// name (on Kubernetes, the pod name); give each node on one machine its own.
    #[arg(long, env = "URR_NODE_ID")]
    pub node_id: Option<String>,

    /// Base URL the other nodes reach this one at, e.g. http://10.0.3.7:8080. Defaults
    /// to http://<listen address>, which only other nodes on this machine can reach when
    /// listening on 0.0.0.0: on Kubernetes set it from the pod IP.
    #[arg(long, env = "URR_ADVERTISE_URL")]
    pub advertise_url: Option<String>,
}

impl ClusterArgs {
    /// The node id: `--node-id`, else the host name.
    pub fn node_id(&self) -> anyhow::Result<String> {
        let id = match &self.node_id {
            Some(id) => id.trim().to_owned(),
            None => host_name().context("no host name to default the node id to: set --node-id")?,
        };
        if id.is_empty() || id.len() > 253 || !id.chars().all(|c| c.is_ascii_graphic()) {
            bail!("node id {id:?}: give 1 to 253 printable ASCII characters, no spaces");
        }
        Ok(id)
    }

    /// The advertised base URL (no trailing slash): `--advertise-url`, else
    /// http://<listen address>.
    pub fn advertise_url(&self, listen: SocketAddr) -> anyhow::Result<String> {
        let url = match &self.advertise_url {
            Some(url) => url.trim().trim_end_matches('/').to_owned(),
            None => return Ok(format!("http://{listen}")),
        };
        let uri: axum::http::Uri = url
            .parse()
            .with_context(|| format!("advertise URL {url:?} is not a URL"))?;
        let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
        let host_ok = uri.host().is_some_and(|host| !host.is_empty());
        let bare = uri.path().is_empty() || uri.path() == "/";
        if !(scheme_ok && host_ok && bare && uri.query().is_none()) {
            bail!("advertise URL {url:?}: give http(s)://host[:port] with no path or query");
        }
        Ok(url)
    }
}

/// The kernel's host name (the pod name in a Kubernetes pod), else `$HOSTNAME`, else what
/// `hostname` prints.
fn host_name() -> Option<String> {
    let from_kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    let from_env = || std::env::var("HOSTNAME").ok();
    let from_command = || {
        std::process::Command::new("hostname")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok())
    };
    from_kernel
        .or_else(from_env)
        .or_else(from_command)
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
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
    use std::net::SocketAddr;

    use clap::{CommandFactory, Parser};

    use super::{Cli, ClusterArgs, Command};

    /// Flattened configs share one flag namespace; clap finds clashes only at run time.
    #[test]
    fn every_command_parses_without_clashing_flags() {
        Cli::command().debug_assert();
    }

    /// A newcomer types `--payment-sandbox` as a plain switch; an explicit value (or the
    /// environment's `true`/`false`) still works.
    #[test]
    fn boolean_flags_are_switches_that_still_take_a_value() {
        let parse = |args: &[&str]| {
            let cli = Cli::try_parse_from(["urr", "serve"].iter().chain(args)).unwrap();
            let Command::Serve(serve) = cli.command else {
                panic!("not serve");
            };
            serve.node
        };
        let bare = parse(&["--payment-sandbox", "--vwr-create-tables"]);
        assert!(bare.http.payments.payment_sandbox);
        assert!(bare.vwr.create_tables);
        let explicit = parse(&["--secure-cookies", "false", "--rate-limits=false"]);
        assert!(!explicit.http.secure_cookies);
        assert!(!explicit.http.rate_limits.enabled);
        let defaults = parse(&[]);
        assert!(!defaults.http.payments.payment_sandbox);
        assert!(defaults.http.secure_cookies);
    }

    #[test]
    fn serve_takes_the_cluster_flags_and_the_check_switch() {
        let cli = Cli::try_parse_from([
            "urr",
            "serve",
            "--check-config",
            "--node-id",
            "urr-7f9c-x2x4q",
            "--advertise-url",
            "http://10.0.3.7:8080/",
        ])
        .unwrap();
        let Command::Serve(serve) = cli.command else {
            panic!("not serve");
        };
        assert!(serve.check_config);
        let cluster = &serve.node.cluster;
        let listen: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(cluster.node_id().unwrap(), "urr-7f9c-x2x4q");
        assert_eq!(
            cluster.advertise_url(listen).unwrap(),
            "http://10.0.3.7:8080"
        );
    }

    #[test]
    fn cluster_identity_defaults_to_the_host_name_and_listen_address() {
        let cluster = ClusterArgs::default();
        let listen: SocketAddr = "127.0.0.1:8081".parse().unwrap();
        assert!(!cluster.node_id().unwrap().is_empty());
        assert_eq!(
            cluster.advertise_url(listen).unwrap(),
            "http://127.0.0.1:8081"
        );
    }

    #[test]
    fn bad_cluster_identities_are_refused() {
        let listen: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        for url in [
            "10.0.3.7:8080",
            "ftp://10.0.3.7",
            "http://10.0.3.7/api",
            "http://",
        ] {
            let cluster = ClusterArgs {
                advertise_url: Some(url.into()),
                ..Default::default()
            };
            assert!(cluster.advertise_url(listen).is_err(), "{url} accepted");
        }
        for id in ["", "two words", "\u{e9}t\u{e9}"] {
            let cluster = ClusterArgs {
                node_id: Some(id.into()),
                ..Default::default()
            };
            assert!(cluster.node_id().is_err(), "{id:?} accepted");
        }
    }
}
