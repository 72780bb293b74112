//! Before the rush: an operator account, the event on sale with its waiting rooms open,
//! and the people who will queue, each with an account.

use std::sync::Arc;

use futures::StreamExt;
use reqwest::Method;
use serde_json::json;
use urr_auth::{Role, TokenKeys};
use urr_store::PgPool;
use urr_wire::admin::{
    CreateEventRequest, QueueSettingsRequest, SeatLayoutRequest, SectionRequest,
};
use urr_wire::auth::{RegisterRequest, SessionView};
use urr_wire::events::EventDetailView;
use urr_wire::seats::SeatLayoutView;
use urr_wire::site::SiteConfig;
use uuid::Uuid;

use crate::client::{Api, Caller};
use crate::config::{Accounts, LoadgenConfig};
use crate::error::LoadgenError;

/// What the load generator needs beyond HTTP: the node's database (for the operator
/// account, bulk accounts and the oversell check in the system of record) and the
/// secret the node signs access tokens with.
#[derive(Clone)]
pub struct Backend {
    pub db: PgPool,
    pub keys: TokenKeys,
}

/// A signed-in virtual user.
#[derive(Debug, Clone)]
pub struct Account {
    pub user_id: Uuid,
    pub caller: Caller,
}

/// The event being sold and what the run knows about it.
#[derive(Debug, Clone)]
pub struct Sale {
    pub event: Uuid,
    pub total_seats: u64,
    pub tier1: bool,
    /// The proof of work the room asks of a join (0: none).
    pub pow_difficulty: u8,
    /// The seat layout, read once as a browser keeps it by its `ETag`; buyers read only
    /// the compact live state beside it.
    pub layout: Arc<SeatLayoutView>,
}

const SEATS_PER_ROW: u32 = 25;
const ROWS_PER_SECTION: u32 = 20;

/// An operator for this run, made in the store and signed with the node's secret.
pub async fn operator(backend: &Backend) -> Result<Caller, LoadgenError> {
    let email = format!("loadgen-operator-{}@urr.test", Uuid::new_v4().simple());
    let user = urr_store::users::create(&backend.db, &email, "Load generator", "!").await?;
    urr_store::users::grant_admin(&backend.db, &email).await?;
    let (access, _) = backend.keys.issue_access(user.id, &email, Role::Admin)?;
    Ok(Caller {
        access: Some(access),
        forwarded_for: None,
        home: 0,
    })
}

/// The seat layout for `seats` seats: sections of 20 rows of 25, the front ones dearer.
pub fn layout(seats: u32) -> SeatLayoutRequest {
    let rows_total = seats.div_ceil(SEATS_PER_ROW).max(1);
    let per_row = seats.clamp(1, SEATS_PER_ROW);
    let mut sections = Vec::new();
    let mut rows_left = rows_total;
    let mut index = 0u8;
    while rows_left > 0 {
        let rows = rows_left.min(ROWS_PER_SECTION);
        let price = match index {
            0 => 154_000,
            1 => 132_000,
            _ => 99_000,
        };
        let name = char::from(b'A' + index % 26).to_string();
        sections.push(SectionRequest {
            name,
            rows: i64::from(rows),
            seats_per_row: i64::from(per_row),
            price,
        });
        rows_left -= rows;
        index = index.saturating_add(1);
    }
    SeatLayoutRequest { sections }
}

/// Creates and opens the event for the run, or reads the one it was given.
pub async fn sale(
    api: &Api,
    operator: &Caller,
    config: &LoadgenConfig,
    title: &str,
) -> Result<Sale, LoadgenError> {
    // Buyers pay with the sandbox provider: a node without it would fail every payment
    // and the run would measure nothing but expiring holds.
    let node = api
        .call(
            "setup",
            api.request(Method::GET, "/api/v1/config", operator),
        )
        .await?;
    if !node
        .parse::<SiteConfig>()
        .is_ok_and(|site| site.payment_sandbox)
    {
        return Err(LoadgenError::Setup(
            "the node's sandbox payments are off: start it with --payment-sandbox true".into(),
        ));
    }
    let event = match config.event {
        Some(event) => event,
        None => create_event(api, operator, config, title).await?,
    };
    let layout = api
        .call(
            "setup",
            api.request(
                Method::GET,
                &format!("/api/v1/seats/events/{event}/layout"),
                operator,
            ),
        )
        .await?;
    let layout = match layout.parse::<SeatLayoutView>() {
        Ok(seats) if layout.ok() => seats,
        _ => {
            return Err(LoadgenError::Setup(format!(
                "seat layout of {event}: {} {}",
                layout.status, layout.body
            )));
        }
    };
    let total_seats = layout.total_seats;
    let room = api
        .call(
            "setup",
            api.request(
                Method::GET,
                &format!("/vwr-api/vwr/status/{event}"),
                operator,
            ),
        )
        .await?;
    let tier1 = room.body["isActive"].as_bool().unwrap_or(false);
    let pow_difficulty = room.body["powDifficulty"]
        .as_u64()
        .and_then(|d| u8::try_from(d).ok())
        .unwrap_or(0);
    Ok(Sale {
        event,
        total_seats,
        tier1,
        pow_difficulty,
        layout: Arc::new(layout),
    })
}

async fn create_event(
    api: &Api,
    operator: &Caller,
    config: &LoadgenConfig,
    title: &str,
) -> Result<Uuid, LoadgenError> {
    let now = chrono::Utc::now();
    let body = CreateEventRequest {
        title: title.to_owned(),
        description: Some("A rush driven by urr loadgen.".to_owned()),
        artist_id: None,
        venue: "KSPO Dome".to_owned(),
        address: "424 Olympic-ro, Songpa-gu, Seoul".to_owned(),
        starts_at: now + chrono::Duration::days(30),
        sale_starts_at: now - chrono::Duration::minutes(1),
        sale_ends_at: None,
        status: Some("on_sale".to_owned()),
        ticket_types: Vec::new(),
        seat_layout: Some(layout(config.seats)),
    };
    let created = expect_ok(
        api.call(
            "setup",
            api.request(Method::POST, "/api/v1/admin/events", operator)
                .json(&body),
        )
        .await?,
        "create the event",
    )?;
    let event = created
        .parse::<EventDetailView>()
        .map_err(|_| LoadgenError::Setup(format!("no event id in {}", created.body)))?
        .event
        .id;
    let settings = QueueSettingsRequest {
        threshold: Some(i64::from(config.threshold)),
        batch: Some(i64::from(config.batch)),
        tick_ms: Some(i64::try_from(config.tick_ms).unwrap_or(i64::MAX)),
        hold_ttl_secs: Some(i64::try_from(config.hold_ttl_secs).unwrap_or(i64::MAX)),
        max_seats_per_hold: Some(i64::from(config.max_seats_per_user.max(1))),
        ..QueueSettingsRequest::default()
    };
    expect_ok(
        api.call(
            "setup",
            api.request(
                Method::PUT,
                &format!("/api/v1/admin/events/{event}/queue"),
                operator,
            )
            .json(&settings),
        )
        .await?,
        "set the queue settings",
    )?;
    if config.tier1 {
        expect_ok(
            api.call(
                "setup",
                api.request(
                    Method::POST,
                    &format!("/vwr-api/vwr/admin/rooms/{event}/open"),
                    operator,
                )
                .json(&json!({
                    "batch": config.tier1_batch,
                    "intervalSecs": config.tier1_interval_secs,
                    "powDifficulty": config.tier1_pow_difficulty,
                })),
            )
            .await?,
            "open the Tier-1 room",
        )?;
    }
    Ok(event)
}

fn expect_ok(
    reply: crate::client::Reply,
    what: &str,
) -> Result<crate::client::Reply, LoadgenError> {
    if reply.ok() {
        Ok(reply)
    } else {
        Err(LoadgenError::Setup(format!(
            "{what}: {} {}",
            reply.status, reply.body
        )))
    }
}

/// A distinct client address per user (10.0.0.0/8), as if each came from their own home.
pub fn address_of(index: usize) -> String {
    let n = u32::try_from(index).unwrap_or(u32::MAX) & 0x00ff_ffff;
    format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

/// Accounts for `count` users, the way the run was told to make them. `on_done` ticks
/// once per account (progress).
pub async fn accounts(
    api: &Api,
    backend: &Backend,
    config: &LoadgenConfig,
    on_done: impl Fn() + Send + Sync,
) -> Result<Vec<Account>, LoadgenError> {
    let run = Uuid::new_v4().simple().to_string();
    let run = &run[..8];
    let forwarded = |i: usize| config.forwarded_for.then(|| address_of(i));
    match config.accounts {
        Accounts::Provisioned => {
            let mut out = Vec::with_capacity(config.users);
            for chunk_start in (0..config.users).step_by(5_000) {
                let chunk_end = (chunk_start + 5_000).min(config.users);
                let people: Vec<(String, String)> = (chunk_start..chunk_end)
                    .map(|i| (format!("fan{i}-{run}@urr.test"), format!("Fan {i}")))
                    .collect();
                // `!` is no argon2 hash: these accounts cannot sign in with a password.
                let ids = urr_store::users::create_many(&backend.db, &people, "!").await?;
                for ((i, id), (email, _)) in (chunk_start..).zip(ids).zip(&people) {
                    let (access, _) = backend.keys.issue_access(id, email, Role::User)?;
                    out.push(Account {
                        user_id: id,
                        caller: Caller {
                            access: Some(access),
                            forwarded_for: forwarded(i),
                            home: i,
                        },
                    });
                    on_done();
                }
            }
            Ok(out)
        }
        Accounts::Http => {
            let api = Arc::new(api.clone());
            let results: Vec<Result<Account, LoadgenError>> =
                futures::stream::iter(0..config.users)
                    .map(|i| {
                        let api = api.clone();
                        let caller = Caller {
                            access: None,
                            forwarded_for: forwarded(i),
                            home: i,
                        };
                        let on_done = &on_done;
                        async move {
                            let account =
                                sign_up(&api, caller, &format!("fan{i}-{run}@urr.test"), i).await;
                            on_done();
                            account
                        }
                    })
                    .buffer_unordered(config.concurrency.max(1))
                    .collect()
                    .await;
            results.into_iter().collect()
        }
    }
}

async fn sign_up(
    api: &Api,
    caller: Caller,
    email: &str,
    i: usize,
) -> Result<Account, LoadgenError> {
    let reply = api
        .call(
            "register",
            api.request(Method::POST, "/api/v1/auth/register", &caller)
                .json(&RegisterRequest {
                    email: email.to_owned(),
                    password: format!("rush-{i}-password"),
                    name: format!("Fan {i}"),
                }),
        )
        .await?;
    let reply = expect_ok(reply, "sign up")?;
    let session: SessionView = reply
        .parse()
        .map_err(|e| LoadgenError::Setup(format!("sign-up reply: {e}")))?;
    Ok(Account {
        user_id: session.user.id,
        caller: Caller {
            access: Some(session.access_token),
            forwarded_for: caller.forwarded_for,
            home: caller.home,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seats_in(layout: &SeatLayoutRequest) -> i64 {
        layout
            .sections
            .iter()
            .map(|s| s.rows * s.seats_per_row)
            .sum()
    }

    #[test]
    fn layouts_hold_at_least_the_seats_asked_for_in_whole_rows() {
        assert_eq!(seats_in(&layout(1_000)), 1_000);
        assert_eq!(seats_in(&layout(10_000)), 10_000);
        assert_eq!(seats_in(&layout(30)), 50, "two rows of 25");
        assert_eq!(seats_in(&layout(4)), 4, "one short row");
        assert_eq!(layout(1_000).sections.len(), 2);
    }

    #[test]
    fn each_user_gets_its_own_private_address() {
        assert_eq!(address_of(0), "10.0.0.0");
        assert_eq!(address_of(65_537), "10.1.0.1");
        assert_ne!(address_of(1), address_of(2));
    }
}
