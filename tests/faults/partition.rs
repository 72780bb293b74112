//! A network partition on loopback: nftables drops every packet to one node's own
//! loopback address, which is where it listens and where it reaches Redis and PostgreSQL
//! (`Site::start_on_hosts`). The node stays up, cut off from the stores and its peers;
//! the others must take its events over, and it must stop serving them.

use std::process::Command;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::services::{FaultPostgres, FaultRedis};
use crate::site::{Backing, Site};
use crate::{ONE_AT_A_TIME, checker, rush};

/// An nftables table of our own that drops packets to one address; deleted on drop.
struct Cut {
    table: String,
}

impl Cut {
    fn off(host: &str) -> Cut {
        let table = format!("urr_fault_{}", &Uuid::new_v4().simple().to_string()[..12]);
        let script = format!(
            "add table inet {table}\n\
             add chain inet {table} out {{ type filter hook output priority 0; policy accept; }}\n\
             add rule inet {table} out ip daddr {host} drop\n"
        );
        let status = Command::new("nft")
            .args(["-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .expect("nft stdin")
                    .write_all(script.as_bytes())?;
                child.wait()
            })
            .expect("nft runs (scripts/test.sh installs nftables)");
        assert!(status.success(), "nft could not add {table}");
        Cut { table }
    }
}

impl Drop for Cut {
    fn drop(&mut self) {
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", &self.table])
            .status();
    }
}

fn nft_usable() -> bool {
    Command::new("nft")
        .args(["list", "tables"])
        .output()
        .is_ok_and(|o| o.status.success())
}

const LEASE_TTL_MS: u64 = 1_500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_stops_serving_and_the_others_take_its_events() {
    if !nft_usable() {
        // Needs root and nftables, which scripts/test.sh installs; say so loudly.
        eprintln!("SKIPPED: nft is not usable here (root and the nftables package needed)");
        assert!(
            std::env::var("URR_REQUIRE_NFT").is_err(),
            "URR_REQUIRE_NFT is set but nft is not usable"
        );
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    // Addresses of this run's own: 127.<77>.<random>.<1..3>.
    let net = rand_octet();
    let hosts: Vec<String> = (1..=3).map(|i| format!("127.77.{net}.{i}")).collect();
    let mut listen = vec!["127.0.0.1".to_owned()];
    listen.extend(hosts.iter().cloned());
    let redis = FaultRedis::start_on(&listen);
    let postgres = FaultPostgres::start_on(&listen);
    let backing = Backing {
        postgres: postgres.server(),
        redis: redis.url(),
    };
    let site = Site::start_on_hosts(backing, hosts, LEASE_TTL_MS).await;
    let rush = rush::start(&site, 200, 100).await;
    let event = rush.event;
    rush::until_sales(&site, event, 10).await;

    let owner = rush::owner(&site, event).await;
    let epoch = rush::epoch(&site, event).await;
    let via = site.nodes[(owner + 1) % 3].url();
    let cut_at = Instant::now();
    let cut = Cut::off(&site.nodes[owner].host);
    let failover = rush::failover_time(&site, event, &via, epoch, cut_at).await;
    println!(
        "FAILOVER partition of the owner: {} ms",
        failover.as_millis()
    );
    // Cut off for a while longer, then the partition heals.
    tokio::time::sleep(Duration::from_millis(LEASE_TTL_MS * 2)).await;
    drop(cut);

    let report = rush::finish(rush).await;
    checker::assert_nothing_lost(&site, event, &report).await;
    assert!(
        site.log_of(owner)
            .contains("the lease lapsed by this node's clock"),
        "the cut-off node stopped serving the event by its own clock"
    );
    assert!(
        rush::epoch(&site, event).await > epoch,
        "ownership moved on"
    );
    drop(site);
    drop(postgres);
    drop(redis);
}

fn rand_octet() -> u8 {
    (Uuid::new_v4().as_u128() % 250) as u8 + 1
}
