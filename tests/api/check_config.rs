//! `urr serve --check-config`: the binary checks a deployment's environment and exits
//! without contacting anything.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

const SECRET: &str = "a-token-secret-of-at-least-32-bytes!!";

/// Runs `urr serve --check-config` with only `env` (and PATH) in its environment.
fn check_config(env: &[(&str, &str)], args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_urr"))
        .args(["serve", "--check-config"])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().copied())
        .output()
        .expect("run urr");
    (out, started.elapsed())
}

#[test]
fn a_pod_environment_passes_without_contacting_its_servers() {
    // Nothing listens on port 1: a node that tried to connect would fail.
    let (out, took) = check_config(
        &[
            ("DATABASE_URL", "postgres://urr:pg-secret@127.0.0.1:1/urr"),
            ("REDIS_URL", "redis://:redis-secret@127.0.0.1:1/"),
            ("URR_JWT_SECRET", SECRET),
            ("URR_LISTEN", "0.0.0.0:8080"),
            ("URR_NODE_ID", "urr-6d9c7b5f4-x2x4q"),
            ("URR_ADVERTISE_URL", "http://10.244.1.17:8080"),
            ("URR_QUEUE_THRESHOLD", "2000"),
            ("URR_PAYMENT_SANDBOX", "true"),
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(stdout.contains("configuration is valid"), "{stdout}");
    assert!(
        stdout.contains("postgres://urr:***@127.0.0.1:1/urr"),
        "{stdout}"
    );
    assert!(stdout.contains("2000 (env)"), "{stdout}");
    assert!(stdout.contains("urr-6d9c7b5f4-x2x4q"), "{stdout}");
    assert!(stdout.contains("http://10.244.1.17:8080"), "{stdout}");
    for secret in [SECRET, "pg-secret", "redis-secret"] {
        assert!(!stdout.contains(secret), "{secret} printed:\n{stdout}");
    }
}

#[test]
fn a_broken_environment_fails_with_every_problem() {
    let (out, _) = check_config(
        &[
            ("DATABASE_URL", "mysql://127.0.0.1/urr"),
            ("REDIS_URL", "redis://127.0.0.1:1/"),
            ("URR_ADVERTISE_URL", "10.244.1.17:8080"),
        ],
        &["--db-max-connections", "0"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{out:?}");
    assert!(stderr.contains("3 problem(s)"), "{stderr}");
}

#[test]
fn a_value_clap_refuses_fails_before_the_check() {
    let (out, _) = check_config(&[("URR_QUEUE_THRESHOLD", "lots")], &[]);
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--queue-threshold"), "{stderr}");
}
