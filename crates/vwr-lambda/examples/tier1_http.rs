//! The two halves of `scripts/bench.sh tier1-http` around `wrk`
//! (`benches/tier1_http.lua`): Tier-1 joins over HTTP on a release node, each by a
//! distinct person.
//!
//! ```text
//! URR_JWT_SECRET=... tier1_http tokens --users 600000 --files 2 --out DIR
//! tier1_http verify --redis-prefix P --event E --dir DIR --sent 1234,1250 --ok 2480 --target URL
//! ```
//!
//! `tokens` signs one access token per person with the node's secret (what sign-in would
//! hand out), split over one file per `wrk` thread, and writes each person's id beside
//! it. `verify` reads the room back through the store's own reads after the run: every
//! person sent has at most one place, their own, no ticket is anyone else's, at least as
//! many places are in Redis as `wrk` counted 2xx replies (an acknowledged place is
//! durable), no person who was not sent has one, and a second join by a sample of them
//! answers the same place.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::Utc;
use clap::{Parser, Subcommand};
use futures::stream::{self, StreamExt};
use urr_auth::{Role, TokenKeys};
use urr_kv::Kv;
use urr_vwr::domain::ids::EventId;
use urr_vwr::{RedisStore, VwrStore};
use uuid::Uuid;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign one access token per person (secret from URR_JWT_SECRET).
    Tokens {
        #[arg(long)]
        users: usize,
        /// One file per wrk thread: tokens-<i>.txt and users-<i>.txt.
        #[arg(long, default_value_t = 2)]
        files: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Read the room back after a run and check every join.
    Verify(Verify),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Tokens { users, files, out } => tokens(users, files.max(1), &out),
        Command::Verify(args) => verify(args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tier1_http: {message}");
            ExitCode::FAILURE
        }
    }
}

fn tokens(users: usize, files: usize, out: &Path) -> Result<(), String> {
    let secret = std::env::var("URR_JWT_SECRET").map_err(|_| "URR_JWT_SECRET is not set")?;
    let keys = TokenKeys::new(secret.as_bytes());
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let open = |name: String| {
        File::create(out.join(&name))
            .map(BufWriter::new)
            .map_err(|e| format!("{name}: {e}"))
    };
    let mut writers = (0..files)
        .map(|i| {
            Ok((
                open(format!("tokens-{i}.txt"))?,
                open(format!("users-{i}.txt"))?,
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    for n in 0..users {
        let user = Uuid::new_v4();
        let (token, _) = keys
            .issue_access(user, &format!("tier1-bench-{n}@example.com"), Role::User)
            .map_err(|e| e.to_string())?;
        let (tokens, ids) = &mut writers[n % files];
        writeln!(tokens, "{token}").map_err(|e| e.to_string())?;
        writeln!(ids, "{user}").map_err(|e| e.to_string())?;
    }
    for (mut tokens, mut ids) in writers {
        tokens.flush().map_err(|e| e.to_string())?;
        ids.flush().map_err(|e| e.to_string())?;
    }
    println!(
        "{users} access tokens in {files} files under {}",
        out.display()
    );
    Ok(())
}

#[derive(clap::Args)]
struct Verify {
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    #[arg(long)]
    redis_prefix: String,
    #[arg(long)]
    event: String,
    #[arg(long)]
    dir: PathBuf,
    /// Tokens sent from each file, in order (wrk's count, comma-separated).
    #[arg(long, value_delimiter = ',')]
    sent: Vec<usize>,
    /// Joins wrk saw answered 2xx.
    #[arg(long)]
    ok: usize,
    /// The node, for the second joins.
    #[arg(long)]
    target: String,
    /// People who join a second time.
    #[arg(long, default_value_t = 200)]
    rejoin: usize,
}

/// One person from the files: their id, their token, whether wrk sent them.
struct Person {
    user: String,
    token: String,
    sent: bool,
}

fn people(dir: &Path, sent: &[usize]) -> Result<Vec<Person>, String> {
    /// People past each file's sent ones, checked to hold no place.
    const UNSENT: usize = 1_000;
    let mut people = Vec::new();
    for (i, &sent) in sent.iter().enumerate() {
        let lines = |name: String| -> Result<Vec<String>, String> {
            let file = File::open(dir.join(&name)).map_err(|e| format!("{name}: {e}"))?;
            BufReader::new(file)
                .lines()
                .take(sent + UNSENT)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{name}: {e}"))
        };
        let users = lines(format!("users-{i}.txt"))?;
        let tokens = lines(format!("tokens-{i}.txt"))?;
        if users.len() < sent {
            return Err(format!(
                "file {i} has {} people but {sent} were sent",
                users.len()
            ));
        }
        for (n, (user, token)) in users.into_iter().zip(tokens).enumerate() {
            people.push(Person {
                user,
                token,
                sent: n < sent,
            });
        }
    }
    Ok(people)
}

async fn verify(v: Verify) -> Result<(), String> {
    let event = EventId::parse(&v.event).ok_or("--event is not an event id")?;
    let kv = Kv::connect(&v.redis_url, v.redis_prefix.clone())
        .await
        .map_err(|e| format!("Redis: {e}"))?;
    let store = RedisStore::new(kv);
    let people = people(&v.dir, &v.sent)?;
    let sent = people.iter().filter(|p| p.sent).count();
    let now = Utc::now();
    // Each person's place, read as the room reads it: their place, then its record.
    let places: Vec<(usize, Option<(Uuid, u64)>)> = stream::iter(people.iter().enumerate())
        .map(|(i, person)| {
            let store = store.clone();
            let event = event.clone();
            async move {
                let place = store
                    .place_of(&event, &person.user, now)
                    .await
                    .map_err(|e| e.to_string())?;
                let Some(request_id) = place else {
                    return Ok((i, None));
                };
                let record = store
                    .position(&event, request_id, now)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("{}'s place {request_id} has no record", person.user))?;
                if record.user_id != person.user {
                    return Err(format!(
                        "{}'s place {request_id} is recorded for {}",
                        person.user, record.user_id
                    ));
                }
                Ok::<_, String>((i, Some((request_id, record.ticket))))
            }
        })
        .buffer_unordered(128)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut failures = Vec::new();
    let mut tickets = HashSet::new();
    let mut held = 0usize;
    let mut unsent_with_place = 0usize;
    for (i, place) in &places {
        let Some((_, ticket)) = place else { continue };
        if people[*i].sent {
            held += 1;
            if !tickets.insert(*ticket) {
                failures.push(format!("ticket {ticket} is two people's"));
            }
        } else {
            unsent_with_place += 1;
        }
    }
    let room = store
        .room(&event)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the room is gone")?;
    let claimed = room.next_position;
    if held < v.ok {
        failures.push(format!(
            "{} joins were answered 2xx but only {held} places are in Redis",
            v.ok
        ));
    }
    if held > sent {
        failures.push(format!("{held} places for {sent} people sent"));
    }
    if unsent_with_place > 0 {
        failures.push(format!(
            "{unsent_with_place} people never sent hold a place"
        ));
    }
    if (claimed as usize) < held {
        failures.push(format!(
            "{held} places but the room handed out {claimed} tickets"
        ));
    }
    if tickets.iter().any(|&t| t == 0 || t > claimed) {
        failures.push(format!("a ticket outside 1..={claimed}"));
    }

    // A second join of a sample answers the same place.
    let client = reqwest::Client::new();
    let url = format!(
        "{}/vwr-api/vwr/assign/{}",
        v.target.trim_end_matches('/'),
        v.event
    );
    let sample: Vec<(&Person, Uuid, u64)> = places
        .iter()
        .filter_map(|(i, place)| place.map(|(r, t)| (&people[*i], r, t)))
        .filter(|(p, _, _)| p.sent)
        .step_by((held / v.rejoin.max(1)).max(1))
        .take(v.rejoin)
        .collect();
    let mut same = 0usize;
    for (person, request_id, ticket) in &sample {
        let reply = client
            .post(&url)
            .bearer_auth(&person.token)
            .json(&serde_json::json!({}))
            .send()
            .await
            .map_err(|e| format!("second join: {e}"))?;
        let status = reply.status();
        let body: serde_json::Value = reply.json().await.unwrap_or_default();
        let again = body["requestId"].as_str() == Some(request_id.to_string().as_str())
            && body["position"].as_u64() == Some(*ticket);
        if status.is_success() && again {
            same += 1;
        } else {
            failures.push(format!(
                "{}'s second join answered {status} {body} (held {request_id}, ticket {ticket})",
                person.user
            ));
        }
    }
    println!(
        "verify: {sent} people sent, {} joins answered 2xx, {held} places in Redis, each its \
         own person's, {} distinct tickets of {claimed} handed out ({} claimed by joins cut \
         off when wrk stopped); {unsent_with_place} of {} people never sent hold a place; \
         {same}/{} second joins answered the same place",
        v.ok,
        tickets.len(),
        (claimed as usize).saturating_sub(held),
        people.len() - sent,
        sample.len(),
    );
    if failures.is_empty() {
        println!("verify: OK");
        Ok(())
    } else {
        for failure in failures.iter().take(20) {
            eprintln!("verify: FAILED: {failure}");
        }
        Err(format!("{} checks failed", failures.len()))
    }
}
