//! `urr serve` with nothing configured and nothing on the default ports starts a private
//! PostgreSQL and Redis, serves with them, and stops them on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

/// Two ports nothing listens on: bound and released, so they are free right now.
fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

#[tokio::test]
async fn serve_starts_private_postgres_and_redis_when_none_is_reachable() {
    // Under the temp dir: as root, PostgreSQL runs as `postgres`, which must reach it.
    let dev_dir =
        std::env::temp_dir().join(format!("urr-dev-test-{}", uuid::Uuid::new_v4().simple()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_urr"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("URR_DEFAULT_POSTGRES_PORT", unused_port().to_string())
        .env("URR_DEFAULT_REDIS_PORT", unused_port().to_string())
        .env("URR_DEV_DIR", &dev_dir)
        .env("URR_LISTEN", "127.0.0.1:0")
        .env(
            "URR_JWT_SECRET",
            "private-services-test-secret-of-32-bytes-or-more",
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn urr");
    let stdout = child.stdout.take().expect("stdout");
    let address = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix("URR listening on ").map(str::to_owned))
    })
    .await
    .unwrap()
    .expect("urr printed its address");

    let client = reqwest::Client::new();
    let ready = client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let register = client
        .post(format!("{address}/api/v1/auth/register"))
        .json(&json!({"email": "p@example.com", "password": "password-1", "name": "P"}))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), 201, "the private database works");
    let pid_file = dev_dir.join("postgres/data/postmaster.pid");
    assert!(pid_file.exists(), "PostgreSQL data lives under the dev dir");
    assert!(dev_dir.join("redis").exists());

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "graceful exit: {status:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!pid_file.exists(), "private PostgreSQL was stopped");
    let _ = std::fs::remove_dir_all(&dev_dir);
}

#[test]
fn missing_binaries_are_named_with_the_package_to_install() {
    let dev_dir = std::env::temp_dir().join(format!("urr-nobin-{}", uuid::Uuid::new_v4()));
    let output = Command::new(env!("CARGO_BIN_EXE_urr"))
        .args(["migrate"])
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("URR_DEFAULT_POSTGRES_PORT", unused_port().to_string())
        .env("URR_DEV_DIR", &dev_dir)
        // Nothing answers on the default port and the server binaries are "not installed".
        .env("URR_POSTGRES_BIN_DIR", "/nonexistent")
        .output()
        .expect("run urr");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("apt-get install postgresql"),
        "names the package: {stderr}"
    );
}
