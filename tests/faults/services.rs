//! A private Redis and a private PostgreSQL for the faults that kill them: each on its own
//! loopback port and data directory, killed with SIGKILL and started again on the same
//! port and data, as a crashed server restarted by its supervisor would be.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::site::free_port;

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(Instant::now() < deadline, "{what} not up in 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Redis as docs/operations.md asks for it: an append-only file synced on every write,
/// and no eviction.
pub struct FaultRedis {
    /// Loopback addresses it listens on; the first is the one `url` names.
    hosts: Vec<String>,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl FaultRedis {
    pub fn start() -> FaultRedis {
        FaultRedis::start_on(&["127.0.0.1".to_owned()])
    }

    /// Listening on each of `hosts` (loopback addresses).
    pub fn start_on(hosts: &[String]) -> FaultRedis {
        let dir = std::env::temp_dir().join(format!("urr-fault-redis-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("redis dir");
        let mut redis = FaultRedis {
            hosts: hosts.to_vec(),
            port: free_port(),
            dir,
            child: None,
        };
        redis.launch();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://{}:{}/", self.hosts[0], self.port)
    }

    fn launch(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                &self.hosts.join(" "),
            ])
            .args(urr::private_services::DURABLE_REDIS)
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let port = self.port.to_string();
        let host = self.hosts[0].clone();
        wait_until("redis", || {
            Command::new("redis-cli")
                .args(["-h", &host, "-p", &port, "ping"])
                .output()
                .is_ok_and(|o| o.stdout.starts_with(b"PONG"))
        });
    }

    /// SIGKILL: whatever the append-only file holds is all that survives.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.launch();
    }

    /// The time `key` has left to live, in ms (negative: no such key, or no expiry).
    pub fn pttl(&self, key: &str) -> i64 {
        let out = Command::new("redis-cli")
            .args([
                "-h",
                &self.hosts[0],
                "-p",
                &self.port.to_string(),
                "pttl",
                key,
            ])
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("PTTL answers a number")
    }

    /// SIGSTOP: connections stay open and commands queue in them unanswered, to run
    /// when it resumes, as on a server stalled by its host.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT: the queued commands run, in order.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status()
                .expect("kill runs");
            assert!(status.success(), "kill {signal} redis-server");
        }
    }
}

impl Drop for FaultRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A PostgreSQL server of its own (initdb'd for the test), run as `postgres` when the
/// test runs as root, as PostgreSQL requires.
pub struct FaultPostgres {
    hosts: Vec<String>,
    port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

fn postgres_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .expect("PostgreSQL server binaries under /usr/lib/postgresql")
}

fn as_postgres(program: PathBuf) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

impl FaultPostgres {
    pub fn start() -> FaultPostgres {
        FaultPostgres::start_on(&["127.0.0.1".to_owned()])
    }

    /// Listening on each of `hosts` (loopback addresses).
    pub fn start_on(hosts: &[String]) -> FaultPostgres {
        let dir = std::env::temp_dir().join(format!("urr-fault-pg-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("postgres dir");
        let _ = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(&dir)
            .status();
        let postgres = FaultPostgres {
            hosts: hosts.to_vec(),
            port: free_port(),
            dir,
            bin: postgres_bin(),
        };
        let status = as_postgres(postgres.bin.join("initdb"))
            .arg("-D")
            .arg(postgres.dir.join("data"))
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .status()
            .expect("initdb runs");
        assert!(status.success(), "initdb");
        postgres.launch();
        postgres
    }

    /// The server's base URL (no database).
    pub fn server(&self) -> String {
        format!("postgres://postgres@{}:{}", self.hosts[0], self.port)
    }

    fn launch(&self) {
        let options = format!(
            "-p {} -c listen_addresses={} -c unix_socket_directories= -c max_connections=200",
            self.port,
            self.hosts.join(",")
        );
        let status = as_postgres(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("postgres.log"))
            .args(["-o", &options, "-w", "-t", "30", "start"])
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl runs");
        assert!(status.success(), "pg_ctl start");
    }

    /// SIGKILL to the postmaster and every backend: a crash; the restart replays the WAL.
    pub fn kill(&self) {
        let pid = std::fs::read_to_string(self.dir.join("data/postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().map(str::to_owned))
            .expect("postmaster pid");
        // Its backends first (they would hold the shared memory a restart needs), then
        // the postmaster itself, all at once as a machine losing power would.
        let _ = Command::new("kill").args(["-STOP", &pid]).status();
        let _ = Command::new("pkill").args(["-KILL", "-P", &pid]).status();
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
        std::thread::sleep(Duration::from_millis(300));
    }

    pub fn restart(&self) {
        let _ = std::fs::remove_file(self.dir.join("data/postmaster.pid"));
        self.launch();
    }
}

impl Drop for FaultPostgres {
    fn drop(&mut self) {
        let _ = as_postgres(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
