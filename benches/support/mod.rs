//! Set-up shared by the benches that need PostgreSQL and Redis: a throwaway database and
//! Redis prefix, and on-sale events to run against.
#![allow(dead_code)] // each bench uses a different part

use urr_actors::ids::SeatId;
use urr_store::events::{NewEvent, NewSection, NewTicketType};
use urr_store::{Kv, PgPool};
use uuid::Uuid;

/// A database of the bench's own (dropped by [`BenchDb::drop_database`]) and a Redis
/// prefix of its own, on the servers the tests use.
pub struct BenchDb {
    pub db: PgPool,
    pub kv: Kv,
    server: String,
    name: String,
}

pub async fn bench_db(pool_size: u32) -> BenchDb {
    let server = std::env::var("URR_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let redis =
        std::env::var("URR_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let id = Uuid::new_v4().simple().to_string();
    let name = format!("urr_bench_{id}");
    urr_store::db::create_database(&server, &name)
        .await
        .expect("create bench database");
    let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(&server);
    let db = urr_store::db::connect(&format!("{base}/{name}"), pool_size)
        .await
        .expect("connect");
    urr_store::db::migrate(&db).await.expect("migrate");
    let kv = Kv::connect(&redis, format!("urr-bench:{id}:"))
        .await
        .expect("redis");
    BenchDb {
        db,
        kv,
        server,
        name,
    }
}

impl BenchDb {
    pub async fn drop_database(self) {
        self.db.close().await;
        let _ = urr_store::db::drop_database(&self.server, &self.name).await;
    }
}

/// An on-sale event: with `seats` seats in one section when given, else 10 counted
/// tickets. Returns its id and its seats in layout order.
pub async fn on_sale_event(db: &PgPool, seats: Option<(i32, i32)>) -> (Uuid, Vec<SeatId>) {
    let now = chrono::Utc::now();
    let detail = urr_store::events::create(
        db,
        &NewEvent {
            title: "bench".into(),
            description: None,
            artist_id: None,
            venue: "v".into(),
            address: "a".into(),
            starts_at: now + chrono::Duration::days(1),
            sale_starts_at: now - chrono::Duration::hours(1),
            sale_ends_at: None,
            status: urr_wire::status::EventStatus::OnSale,
            ticket_types: vec![NewTicketType {
                name: "GA".into(),
                price: 1000,
                quantity: if seats.is_some() { None } else { Some(10) },
            }],
            sections: seats.map(|(rows, seats_per_row)| {
                vec![NewSection {
                    name: "A".into(),
                    rows,
                    seats_per_row,
                    price: 1000,
                }]
            }),
        },
    )
    .await
    .expect("event");
    let seats = match urr_store::seats::layout_for_event(db, detail.event.id)
        .await
        .expect("layout")
    {
        Some(layout) => layout.sections[0]
            .seats
            .iter()
            .map(|s| SeatId::from(s.id))
            .collect(),
        None => Vec::new(),
    };
    (detail.event.id, seats)
}
