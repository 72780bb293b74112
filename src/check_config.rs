//! `urr serve --check-config`: the whole configuration parsed and checked the way a node
//! would take it, printed with its secrets masked, and nothing contacted. A deployment
//! runs it against the environment it renders (`scripts/check-deploy.sh` does for the
//! Helm chart), so a setting the binary would refuse fails before a pod starts.

use std::fmt::Write as _;
use std::net::SocketAddr;

use anyhow::Context;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory};

use crate::cli::{Cli, ServeArgs};

/// Checks the configuration of the running `urr serve` and prints it; an error lists
/// every problem found.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    // The typed arguments no longer say where each value came from (flag, environment or
    // default); parsing the same command line again in the same environment does.
    let matches = Cli::command().try_get_matches_from(std::env::args_os())?;
    let checked = check(args, &matches)?;
    print!("{}", checked.render());
    Ok(())
}

/// One setting as the node sees it.
#[derive(Debug)]
pub struct Setting {
    pub flag: String,
    pub env: Option<String>,
    /// The value, or for a secret what may be shown of it.
    pub value: String,
    pub source: &'static str,
}

/// A configuration that passed: every setting, the derived cluster identity, and what
/// works but is probably not meant.
#[derive(Debug)]
pub struct Checked {
    pub settings: Vec<Setting>,
    pub node_id: String,
    pub advertise_url: String,
    pub warnings: Vec<String>,
}

/// Checks `args` (parsed from `matches`, a `urr serve` command line) without contacting
/// anything.
pub fn check(args: &ServeArgs, matches: &ArgMatches) -> anyhow::Result<Checked> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let settings = settings(matches)?;

    let services = &args.services;
    match &services.database_url {
        Some(url) => {
            if !has_scheme(url, &["postgres", "postgresql"]) {
                problems.push("DATABASE_URL must be a postgres:// or postgresql:// URL".into());
            }
        }
        None => warnings.push(format!(
            "DATABASE_URL is unset: the node probes 127.0.0.1:{} and else starts a private \
             PostgreSQL under {} (needs initdb): set it in a deployment",
            services.default_postgres_port,
            services.dev_dir.display()
        )),
    }
    match &services.redis_url {
        Some(url) => {
            let schemes = ["redis", "rediss", "redis+unix", "unix", "valkey", "valkeys"];
            if let Err(err) = urr_kv::conn::cluster_nodes(url) {
                problems.push(format!("REDIS_URL names a Redis Cluster badly: {err}"));
            } else if !has_scheme(url, &schemes) && !has_scheme(url, &["redis+cluster"]) {
                problems.push(
                    "REDIS_URL must be a redis://, rediss://, unix:// or \
                     redis+cluster://host:port[,host:port...] URL"
                        .into(),
                );
            }
        }
        None => warnings.push(format!(
            "REDIS_URL is unset: the node probes 127.0.0.1:{} and else starts a private \
             redis-server: set it in a deployment",
            services.default_redis_port
        )),
    }
    if services.db_max_connections == 0 {
        problems.push("--db-max-connections must be at least 1".into());
    }

    let http = &args.http;
    match &http.jwt_secret {
        None => warnings.push(
            "URR_JWT_SECRET is unset: a random secret per process, so tokens die with it and \
             no other node accepts them"
                .into(),
        ),
        Some(secret) => {
            if let Err(err) = crate::node::check_secret(secret.as_bytes()) {
                problems.push(err.to_string());
            }
        }
    }
    if http.request_timeout_secs == 0 {
        problems.push("--request-timeout-secs 0 would answer every request 503".into());
    }
    if http.body_limit == 0 {
        problems.push("--body-limit 0 would refuse every request body".into());
    }
    for (flag, url) in [
        ("--google-jwks-url", Some(&http.google_jwks_url)),
        ("--toss-base-url", Some(&http.payments.toss_base_url)),
        (
            "--vwr-dynamodb-endpoint",
            args.vwr.dynamodb_endpoint.as_ref(),
        ),
    ] {
        if let Some(url) = url
            && !is_http_url(url)
        {
            problems.push(format!("{flag} {url:?} is not an http(s) URL"));
        }
    }
    let limits = &http.rate_limits;
    if limits.enabled {
        for (flag, per_min) in [
            ("--rate-limit-auth-per-min", limits.rate_limit_auth_per_min),
            (
                "--rate-limit-queue-per-min",
                limits.rate_limit_queue_per_min,
            ),
            (
                "--rate-limit-booking-per-min",
                limits.rate_limit_booking_per_min,
            ),
            (
                "--rate-limit-general-per-min",
                limits.rate_limit_general_per_min,
            ),
        ] {
            if per_min == 0 {
                problems.push(format!(
                    "{flag} 0 refuses every request (turn limits off with --rate-limits false)"
                ));
            }
        }
    }
    if !http.secure_cookies {
        warnings.push("auth cookies are sent without Secure (--secure-cookies false)".into());
    }
    let payments = &http.payments;
    if payments.payment_sandbox {
        warnings.push("the payment sandbox confirms payments without taking money".into());
    }
    if payments.toss_secret_key.is_none() && !payments.payment_sandbox {
        warnings.push("no payment provider: set URR_TOSS_SECRET_KEY (or the sandbox)".into());
    }

    let cluster = &args.cluster;
    let node_id = cluster.node_id(http.listen.port()).unwrap_or_else(|err| {
        problems.push(format!("{err:#}"));
        String::new()
    });
    if let Err(err) = cluster.ttls() {
        problems.push(format!("{err:#}"));
    }
    if cluster.cluster_secret.is_none() && http.jwt_secret.is_none() {
        warnings.push(
            "no token secret and no cluster secret: each node makes its own, so nodes \
             cannot call each other; set URR_JWT_SECRET (or URR_CLUSTER_SECRET) on every node"
                .into(),
        );
    }
    let advertise_url = cluster.advertise_url(http.listen).unwrap_or_else(|err| {
        problems.push(format!("{err:#}"));
        String::new()
    });
    if cluster.advertise_url.is_none() && !reachable_by_peers(http.listen) {
        warnings.push(format!(
            "the advertise URL defaults to {advertise_url}, which other hosts cannot reach: \
             set --advertise-url (on Kubernetes, from the pod IP)"
        ));
    }

    if !problems.is_empty() {
        let mut message = format!("the configuration has {} problem(s):", problems.len());
        for problem in &problems {
            let _ = write!(message, "\n  - {problem}");
        }
        anyhow::bail!(message);
    }
    Ok(Checked {
        settings,
        node_id,
        advertise_url,
        warnings,
    })
}

impl Checked {
    pub fn render(&self) -> String {
        let mut out =
            String::from("urr serve: the configuration is valid (checked without connecting)\n\n");
        for setting in &self.settings {
            let _ = writeln!(
                out,
                "  {:<32} {:<32} {} ({})",
                setting.flag,
                setting.env.as_deref().unwrap_or("-"),
                setting.value,
                setting.source
            );
        }
        let _ = writeln!(out, "\n  node id          {}", self.node_id);
        let _ = writeln!(out, "  advertise URL    {}", self.advertise_url);
        if !self.warnings.is_empty() {
            out.push('\n');
        }
        for warning in &self.warnings {
            let _ = writeln!(out, "warning: {warning}");
        }
        out
    }
}

/// Every `serve` argument with its value and where the value came from, secrets masked.
fn settings(matches: &ArgMatches) -> anyhow::Result<Vec<Setting>> {
    let mut command = Cli::command();
    // Building propagates the global flags (the log format) into the subcommand.
    command.build();
    let serve = command
        .find_subcommand("serve")
        .context("the CLI has no serve command")?;
    let given = matches
        .subcommand_matches("serve")
        .context("not a `urr serve` command line")?;
    let mut settings = Vec::new();
    for arg in serve.get_arguments() {
        let id = arg.get_id().as_str();
        let Some(long) = arg.get_long() else { continue };
        if matches!(id, "help" | "version" | "check_config") {
            continue;
        }
        let raw: Option<Vec<String>> = given.try_get_raw(id).ok().flatten().map(|values| {
            values
                .map(|value| value.to_string_lossy().into_owned())
                .collect()
        });
        let value = match raw {
            None => "-".to_owned(),
            Some(values) => {
                let joined = values.join(",");
                if arg.is_hide_env_values_set() {
                    mask(id, &joined)
                } else if joined.is_empty() {
                    "\"\"".to_owned()
                } else {
                    joined
                }
            }
        };
        let source = match given.value_source(id) {
            None => "unset",
            Some(ValueSource::DefaultValue) => "default",
            Some(ValueSource::EnvVariable) => "env",
            Some(ValueSource::CommandLine) => "flag",
            Some(_) => "other",
        };
        settings.push(Setting {
            flag: format!("--{long}"),
            env: arg.get_env().map(|env| env.to_string_lossy().into_owned()),
            value,
            source,
        });
    }
    Ok(settings)
}

/// What may be shown of a secret: a URL keeps its scheme, user, host and path, loses its
/// password and query; anything else shows only its length.
fn mask(id: &str, value: &str) -> String {
    if value.is_empty() {
        return "(empty)".into();
    }
    let url = id
        .ends_with("url")
        .then(|| value.split_once("://"))
        .flatten();
    let Some((scheme, rest)) = url else {
        return format!("(secret, {} bytes)", value.len());
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once(['?', '#']) {
        Some((path, _)) => format!("{path}?***"),
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

fn has_scheme(url: &str, schemes: &[&str]) -> bool {
    url.split_once("://")
        .is_some_and(|(scheme, rest)| schemes.contains(&scheme) && !rest.is_empty())
}

fn is_http_url(url: &str) -> bool {
    url.parse::<axum::http::Uri>().is_ok_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https"))
            && uri.host().is_some_and(|h| !h.is_empty())
    })
}

/// Whether `http://<listen>` names this host to others: not a wildcard, not port 0.
fn reachable_by_peers(listen: SocketAddr) -> bool {
    !listen.ip().is_unspecified() && listen.port() != 0
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::{check, mask};
    use crate::cli::{Cli, Command};

    const SECRET: &str = "a-token-secret-of-at-least-32-bytes!!";

    /// Checks a deployment-like command line, with `changes` (flag, value) replacing or
    /// adding to it.
    fn checked(changes: &[(&str, &str)]) -> anyhow::Result<super::Checked> {
        let mut flags = vec![
            (
                "--database-url",
                "postgres://urr:pg-pass-word@db.internal:5432/urr",
            ),
            (
                "--redis-url",
                "redis://:redis-pass-word@redis.internal:6379/0",
            ),
            ("--jwt-secret", SECRET),
            ("--listen", "0.0.0.0:8080"),
            ("--node-id", "urr-0"),
            ("--advertise-url", "http://10.0.3.7:8080"),
        ];
        for &(flag, value) in changes {
            match flags.iter_mut().find(|(known, _)| *known == flag) {
                Some(entry) => entry.1 = value,
                None => flags.push((flag, value)),
            }
        }
        let mut argv = vec!["urr", "serve", "--check-config"];
        for (flag, value) in flags {
            argv.extend([flag, value]);
        }
        let matches = Cli::command().try_get_matches_from(argv)?;
        let cli = Cli::from_arg_matches(&matches)?;
        let Command::Serve(serve) = cli.command else {
            anyhow::bail!("not serve");
        };
        check(&serve.node, &matches)
    }

    #[test]
    fn a_deployment_configuration_passes_and_prints_no_secret() {
        let checked = checked(&[("--toss-secret-key", "toss-sk-live-1234")]).unwrap();
        let out = checked.render();
        for secret in [
            SECRET,
            "pg-pass-word",
            "redis-pass-word",
            "toss-sk-live-1234",
        ] {
            assert!(!out.contains(secret), "{secret} printed:\n{out}");
        }
        assert!(
            out.contains("postgres://urr:***@db.internal:5432/urr"),
            "{out}"
        );
        assert!(out.contains("URR_QUEUE_THRESHOLD"), "{out}");
        assert!(out.contains("URR_NODE_ID"), "{out}");
        assert!(out.contains("URR_LEASE_TTL_MS"), "{out}");
        assert_eq!(checked.node_id, "urr-0");
        assert_eq!(checked.advertise_url, "http://10.0.3.7:8080");
        assert!(checked.warnings.is_empty(), "{:?}", checked.warnings);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = checked(&[
            ("--database-url", "mysql://db/urr"),
            ("--request-timeout-secs", "0"),
            ("--advertise-url", "10.0.3.7:8080"),
            ("--jwt-secret", "short-secret"),
            ("--lease-ttl-ms", "50"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("5 problem(s)"), "{err}");
        assert!(err.contains("at least 32"), "{err}");
        assert!(err.contains("--lease-ttl-ms"), "{err}");
        assert!(err.contains("DATABASE_URL"), "{err}");
        assert!(err.contains("request-timeout"), "{err}");
        assert!(err.contains("advertise URL"), "{err}");
    }

    #[test]
    fn a_redis_cluster_url_passes_and_a_bad_one_fails() {
        let passed = checked(&[(
            "--redis-url",
            "redis+cluster://:redis-pass-word@10.0.0.1:6379,10.0.0.2:6379",
        )])
        .unwrap();
        let out = passed.render();
        assert!(!out.contains("redis-pass-word"), "{out}");
        let err = checked(&[("--redis-url", "redis+cluster://10.0.0.1:6379/3")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("Redis Cluster"), "{err}");
    }

    #[test]
    fn values_clap_refuses_fail_the_check() {
        assert!(checked(&[("--queue-threshold", "many")]).is_err());
        assert!(checked(&[("--vwr-store", "mongo")]).is_err());
        assert!(checked(&[("--no-such-flag", "1")]).is_err());
    }

    #[test]
    fn secrets_are_masked() {
        assert_eq!(
            mask("redis_url", "rediss://default:pw@r:6380/0?timeout=1"),
            "rediss://default:***@r:6380/0?***"
        );
        assert_eq!(
            mask("database_url", "postgres://db/urr"),
            "postgres://db/urr"
        );
        assert_eq!(mask("jwt_secret", "x://y:z@w"), "(secret, 9 bytes)");
        assert_eq!(mask("toss_secret_key", ""), "(empty)");
    }
}
