//! The command line: one typed configuration, every flag with an environment fallback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use sha2::{Digest, Sha256};

#[derive(Debug, Parser)]
#[command(
    name = "urr",
    version,
    about = "URR: a ticket on-sale cluster that admits people fairly and sells every seat once"
)]
pub struct Cli {
    /// Log format: `text` for people, `json` for log collectors.
    #[arg(
        long,
        global = true,
        env = "URR_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: crate::telemetry::LogFormat,

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
    /// Hold many people waiting in one event's queue on a running node, polling as the
    /// node asks, and report its memory per waiting person, CPU and status latency
    /// (loopback only).
    Waiters(Box<WaitersArgs>),
    /// Apply database migrations and exit.
    Migrate(ServiceArgs),
    /// Operator tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The cluster: its members and which node owns which event.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// The event bus's dead letters: list them, replay them after a fix.
    Streams {
        #[command(subcommand)]
        command: urr_bus::StreamsCommand,
        #[command(flatten)]
        services: ServiceArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Members (address, last heartbeat, counters) and each event's owner and epoch, read
    /// from Redis and PostgreSQL (no node needs to run).
    Status {
        #[command(flatten)]
        services: ServiceArgs,
        /// A member not heard from for longer is shown as gone (the nodes' setting).
        #[arg(long, env = "URR_MEMBER_TTL_MS", default_value_t = DEFAULT_MEMBER_TTL_MS)]
        member_ttl_ms: u64,
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

/// How this node takes part in a cluster (`docs/architecture.md#ownership`): the other
/// nodes find it in the membership by its id and forward calls for the events it owns to
/// its advertised URL. Which node owns an event is decided by leases and epochs, never
/// by these names.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// This node's id in the cluster's membership, unique per node. Defaults to
    /// <host name>-<port>, unique per process on one machine; on Kubernetes set it to the
    /// pod name.
    #[arg(long, env = "URR_NODE_ID")]
    pub node_id: Option<String>,

    /// Base URL the other nodes reach this one at, e.g. http://10.0.3.7:8080. Defaults
    /// to http://<listen address>, which only other nodes on this machine can reach when
    /// listening on 0.0.0.0: on Kubernetes set it from the pod IP.
    #[arg(long, env = "URR_ADVERTISE_URL")]
    pub advertise_url: Option<String>,

    /// How long an event's lease lasts unless renewed, in milliseconds. It is renewed
    /// every third of it; a node stops serving an event a fifth of it before the lease
    /// could lapse, and a dead owner's events move after about this long.
    #[arg(long, env = "URR_LEASE_TTL_MS", default_value_t = DEFAULT_LEASE_TTL_MS)]
    pub lease_ttl_ms: u64,

    /// How long a node stays a member without a heartbeat, in milliseconds (it beats
    /// every quarter of it).
    #[arg(long, env = "URR_MEMBER_TTL_MS", default_value_t = DEFAULT_MEMBER_TTL_MS)]
    pub member_ttl_ms: u64,

    /// The secret node-to-node calls carry; every node of a cluster needs the same one.
    /// Defaults to one derived from the token secret (URR_JWT_SECRET).
    #[arg(long, env = "URR_CLUSTER_SECRET", hide_env_values = true)]
    pub cluster_secret: Option<String>,
}

impl Default for ClusterArgs {
    fn default() -> Self {
        Self {
            node_id: None,
            advertise_url: None,
            lease_ttl_ms: DEFAULT_LEASE_TTL_MS,
            member_ttl_ms: DEFAULT_MEMBER_TTL_MS,
            cluster_secret: None,
        }
    }
}

pub const DEFAULT_LEASE_TTL_MS: u64 = 5_000;
pub const DEFAULT_MEMBER_TTL_MS: u64 = 5_000;
/// Below this a lease would lapse between renewals on a busy node.
pub const MIN_LEASE_TTL_MS: u64 = 300;

impl ClusterArgs {
    /// The node id: `--node-id`, else `<host name>-<port>` (the port this node listens
    /// on, so two nodes on one machine differ).
    pub fn node_id(&self, port: u16) -> anyhow::Result<String> {
        let id = match &self.node_id {
            Some(id) => id.trim().to_owned(),
            None => {
                let host =
                    host_name().context("no host name to default the node id to: set --node-id")?;
                format!("{host}-{port}")
            }
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

    /// The lease and member TTLs, checked.
    pub fn ttls(&self) -> anyhow::Result<(Duration, Duration)> {
        if self.lease_ttl_ms < MIN_LEASE_TTL_MS {
            bail!(
                "--lease-ttl-ms {}: give at least {MIN_LEASE_TTL_MS}",
                self.lease_ttl_ms
            );
        }
        if self.member_ttl_ms < MIN_LEASE_TTL_MS {
            bail!(
                "--member-ttl-ms {}: give at least {MIN_LEASE_TTL_MS}",
                self.member_ttl_ms
            );
        }
        Ok((
            Duration::from_millis(self.lease_ttl_ms),
            Duration::from_millis(self.member_ttl_ms),
        ))
    }

    /// `--cluster-secret`, else one derived from the token secret, so nodes that share
    /// the token secret share this one too without it ever crossing the wire.
    pub fn secret(&self, jwt_secret: &[u8]) -> String {
        match &self.cluster_secret {
            Some(secret) => secret.clone(),
            None => {
                let mut hasher = Sha256::new();
                hasher.update(b"urr cluster secret\0");
                hasher.update(jwt_secret);
                hasher
                    .finalize()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            }
        }
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
pub struct WaitersArgs {
    /// The node's database: the run's operator account and its bulk accounts.
    #[command(flatten)]
    pub services: ServiceArgs,

    /// The node's token secret (its URR_JWT_SECRET), to sign the accounts' tokens.
    #[arg(long, env = "URR_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: String,

    #[command(flatten)]
    pub waiters: urr_loadgen::waiters::WaitersConfig,
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

    use super::{Cli, ClusterArgs, Command, DEFAULT_LEASE_TTL_MS};

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
        assert_eq!(cluster.node_id(8080).unwrap(), "urr-7f9c-x2x4q");
        assert_eq!(
            cluster.advertise_url(listen).unwrap(),
            "http://10.0.3.7:8080"
        );
    }

    #[test]
    fn cluster_identity_defaults_to_the_host_name_port_and_listen_address() {
        let cluster = ClusterArgs::default();
        let listen: SocketAddr = "127.0.0.1:8081".parse().unwrap();
        let id = cluster.node_id(8081).unwrap();
        assert!(id.ends_with("-8081"), "{id}");
        assert_ne!(
            id,
            cluster.node_id(8082).unwrap(),
            "two nodes on one machine"
        );
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
            assert!(cluster.node_id(8080).is_err(), "{id:?} accepted");
        }
    }

    #[test]
    fn the_cluster_secret_defaults_to_one_derived_from_the_token_secret() {
        let cluster = ClusterArgs::default();
        let derived = cluster.secret(b"token-secret");
        assert_eq!(
            derived,
            cluster.secret(b"token-secret"),
            "every node agrees"
        );
        assert_ne!(derived, cluster.secret(b"another-secret"));
        assert!(!derived.contains("token-secret"));
        let given = ClusterArgs {
            cluster_secret: Some("shared".into()),
            ..Default::default()
        };
        assert_eq!(given.secret(b"token-secret"), "shared");
    }

    #[test]
    fn lease_and_member_ttls_are_checked() {
        let cli = Cli::try_parse_from(["urr", "serve"]).unwrap();
        let Command::Serve(serve) = cli.command else {
            panic!("not serve");
        };
        let (lease, _) = serve.node.cluster.ttls().unwrap();
        assert_eq!(lease.as_millis() as u64, DEFAULT_LEASE_TTL_MS);
        let short = ClusterArgs {
            lease_ttl_ms: 10,
            ..Default::default()
        };
        assert!(short.ttls().is_err());
    }
}
