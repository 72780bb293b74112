//! Finding PostgreSQL and Redis, or starting private ones.
//!
//! Order per service: the configured URL; else the default local port when something
//! answers there; else a private server on a free port with its data under `--dev-dir`,
//! stopped again when [`Services`] is dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::cli::ServiceArgs;

/// Resolved service addresses, and the private servers that must outlive them.
/// The persistence and eviction settings `docs/operations.md#redis-settings-urr-needs`
/// asks of any Redis URR runs on: every write in the append-only file before it is
/// acknowledged, and never a key evicted.
pub const DURABLE_REDIS: [&str; 8] = [
    "--save",
    "",
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
    "--maxmemory-policy",
    "noeviction",
];

pub struct Services {
    pub database_url: String,
    pub redis_url: String,
    _postgres: Option<PrivatePostgres>,
    _redis: Option<PrivateRedis>,
}

impl Services {
    pub async fn resolve(args: &ServiceArgs) -> anyhow::Result<Services> {
        let (database_url, postgres) = match &args.database_url {
            Some(url) => (url.clone(), None),
            None => resolve_postgres(args).await?,
        };
        let (redis_url, redis) = match &args.redis_url {
            Some(url) => (url.clone(), None),
            None => resolve_redis(args).await?,
        };
        Ok(Services {
            database_url,
            redis_url,
            _postgres: postgres,
            _redis: redis,
        })
    }
}

async fn resolve_postgres(args: &ServiceArgs) -> anyhow::Result<(String, Option<PrivatePostgres>)> {
    let server = format!(
        "postgres://postgres@127.0.0.1:{}/postgres",
        args.default_postgres_port
    );
    if urr_store::db::reachable(&server).await {
        tracing::info!(port = args.default_postgres_port, "using local PostgreSQL");
        urr_store::db::ensure_database(&server, &args.database_name).await?;
        let url = format!(
            "postgres://postgres@127.0.0.1:{}/{}",
            args.default_postgres_port, args.database_name
        );
        return Ok((url, None));
    }
    let private = PrivatePostgres::start(
        &args.dev_dir.join("postgres"),
        args.postgres_bin_dir.as_deref(),
    )?;
    let server = private.url("postgres");
    wait_until(Duration::from_secs(20), || {
        urr_store::db::reachable(&server)
    })
    .await?;
    urr_store::db::ensure_database(&server, &args.database_name).await?;
    let url = private.url(&args.database_name);
    Ok((url, Some(private)))
}

async fn resolve_redis(args: &ServiceArgs) -> anyhow::Result<(String, Option<PrivateRedis>)> {
    let url = format!("redis://127.0.0.1:{}/", args.default_redis_port);
    if urr_kv::reachable(&url).await {
        tracing::info!(port = args.default_redis_port, "using local Redis");
        return Ok((url, None));
    }
    let private = PrivateRedis::start(&args.dev_dir.join("redis"))?;
    let url = format!("redis://127.0.0.1:{}/", private.port);
    wait_until(Duration::from_secs(10), || urr_kv::reachable(&url)).await?;
    Ok((url, Some(private)))
}

async fn wait_until<F, Fut>(limit: Duration, mut probe: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if probe().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("private server did not answer within {limit:?}")
}

/// A PostgreSQL cluster of our own, run with the system's `initdb` and `pg_ctl`.
struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// PostgreSQL refuses to run as root; as root we run it as this user.
    run_as: Option<String>,
}

impl PrivatePostgres {
    fn start(dir: &Path, bin_dir: Option<&Path>) -> anyhow::Result<PrivatePostgres> {
        let bin = find_postgres_bin(bin_dir).context(
            "PostgreSQL is not running and its server binaries (initdb, pg_ctl) were not \
             found: install them with `apt-get install postgresql`, or set DATABASE_URL",
        )?;
        let run_as = running_as_root().then(|| "postgres".to_owned());
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = dir.canonicalize()?;
        let data = dir.join("data");
        if let Some(user) = &run_as {
            run(Command::new("chown").args(["-R", user]).arg(&dir))?;
            let reachable = Command::new("runuser")
                .args(["-u", user, "--", "test", "-w"])
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            if !reachable {
                bail!(
                    "PostgreSQL runs as user `{user}` here and cannot reach {}: set URR_DEV_DIR \
                     to a directory it can reach (for example under /tmp)",
                    dir.display()
                );
            }
        }
        let port = free_port()?;
        let postgres = PrivatePostgres {
            bin,
            data,
            port,
            run_as,
        };
        if !postgres.data.join("PG_VERSION").exists() {
            tracing::info!(dir = %postgres.data.display(), "initialising a private PostgreSQL");
            run(postgres
                .command("initdb")
                .arg("-D")
                .arg(&postgres.data)
                .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]))?;
        }
        // A previous run that was killed may have left its server up: stop it first.
        let _ = postgres
            .command("pg_ctl")
            .arg("-D")
            .arg(&postgres.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // Listen on loopback only, no Unix socket (its default directory may not exist).
        let options =
            format!("-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=");
        run(postgres
            .command("pg_ctl")
            .arg("-D")
            .arg(&postgres.data)
            .arg("-l")
            .arg(dir.join("postgres.log"))
            .args(["-o", &options, "-w", "-t", "30", "start"]))?;
        tracing::info!(port, "started a private PostgreSQL");
        Ok(postgres)
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        tracing::info!("stopping the private PostgreSQL");
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .status();
    }
}

/// A `redis-server` of our own, with an append-only file synced on every write so queue
/// logs survive restarts, and no eviction.
struct PrivateRedis {
    child: Child,
    port: u16,
}

impl PrivateRedis {
    fn start(dir: &Path) -> anyhow::Result<PrivateRedis> {
        let binary = which("redis-server").context(
            "Redis is not running and `redis-server` was not found: install it with \
             `apt-get install redis-server`, or set REDIS_URL",
        )?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = dir.canonicalize()?;
        let port = free_port()?;
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(DURABLE_REDIS)
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(&dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .stdout(Stdio::null())
            .spawn()
            .context("starting redis-server")?;
        tracing::info!(port, "started a private Redis");
        Ok(PrivateRedis { child, port })
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        tracing::info!("stopping the private Redis");
        // SIGTERM lets Redis flush its append-only file; kill only if it lingers.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_postgres_bin(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = configured {
        return dir.join("initdb").is_file().then(|| dir.to_path_buf());
    }
    if let Some(initdb) = which("initdb") {
        return initdb.parent().map(Path::to_path_buf);
    }
    // Debian keeps the server binaries out of PATH, one directory per major version.
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, bin)| bin)
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .is_some_and(|uid| uid.trim() == "0")
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
