//! What the store's tests share: a fresh database and Redis key prefix per test on the
//! real servers, an on-sale event with seats, buyers, and the event store over them.

use chrono::Utc;
use urr_actors::event::QueueSettings;
use urr_actors::ids::{SeatId, TicketTypeId, UserId};
use urr_store::event_store::PgRedisEventStore;
use urr_store::events::{NewEvent, NewSection, NewTicketType};
use urr_store::{Kv, PgPool};
use urr_wire::status::EventStatus;
use uuid::Uuid;

/// A test's own database (dropped with it) and Redis key prefix.
pub struct Stores {
    pub db: PgPool,
    pub kv: Kv,
    name: String,
}

impl Drop for Stores {
    fn drop(&mut self) {
        urr_store::db::drop_database_blocking(&server(), &self.name);
    }
}

fn server() -> String {
    std::env::var("URR_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A migrated database of its own with a pool of `connections`, and a Redis prefix of
/// its own.
pub async fn stores(connections: u32) -> Stores {
    let id = Uuid::new_v4().simple().to_string();
    let name = format!("urr_store_test_{id}");
    urr_store::db::create_database(&server(), &name)
        .await
        .expect("create the test database (is PostgreSQL running?)");
    let (base, _) = server()
        .rsplit_once('/')
        .map(|(b, d)| (b.to_owned(), d.to_owned()))
        .expect("URL");
    let db = urr_store::db::connect(&format!("{base}/{name}"), connections)
        .await
        .expect("connect");
    urr_store::db::migrate(&db).await.expect("migrate");
    let redis =
        std::env::var("URR_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let kv = Kv::connect(&redis, format!("urr-store-test:{id}:"))
        .await
        .expect("connect to Redis (is it running?)");
    Stores { db, kv, name }
}

/// An on-sale event with `seats` seats and one counted ticket type of `capacity`.
pub async fn event(db: &PgPool, seats: i32, capacity: i32) -> (Uuid, Vec<SeatId>, TicketTypeId) {
    let now = Utc::now();
    let created = urr_store::events::create(
        db,
        &NewEvent {
            title: "Fenced".into(),
            description: None,
            artist_id: None,
            venue: "Olympic Hall".into(),
            address: "Seoul".into(),
            starts_at: now + chrono::Duration::days(30),
            sale_starts_at: now - chrono::Duration::hours(1),
            sale_ends_at: None,
            status: EventStatus::OnSale,
            ticket_types: vec![NewTicketType {
                name: "General".into(),
                price: 1_000,
                quantity: Some(capacity),
            }],
            sections: Some(vec![NewSection {
                name: "A".into(),
                rows: 1,
                seats_per_row: seats,
                price: 10_000,
            }]),
        },
    )
    .await
    .expect("event");
    let id = created.event.id;
    let layout = urr_store::seats::layout_for_event(db, id)
        .await
        .expect("layout")
        .expect("a layout");
    let seats = layout.sections[0]
        .seats
        .iter()
        .map(|s| SeatId::from(s.id))
        .collect();
    (id, seats, TicketTypeId::from(created.ticket_types[0].id))
}

/// The event store over the test's own database and Redis prefix, unfenced.
pub fn event_store(stores: &Stores) -> PgRedisEventStore {
    PgRedisEventStore::new(
        stores.db.clone(),
        stores.kv.clone(),
        QueueSettings::default(),
    )
}

pub async fn user(db: &PgPool) -> UserId {
    let email = format!("{}@urr.test", Uuid::new_v4().simple());
    let user = urr_store::users::create(db, &email, "Fan", "hash")
        .await
        .expect("user");
    UserId::from(user.id)
}
