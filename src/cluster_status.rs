//! `urr cluster status`: the cluster as text, for an operator's terminal.

use std::fmt::Write as _;

use urr_cluster::status::ClusterStatus;

fn age(now_ms: u64, then_ms: u64) -> String {
    format!(
        "{:.1} s ago",
        now_ms.saturating_sub(then_ms) as f64 / 1000.0
    )
}

pub fn render(status: &ClusterStatus) -> String {
    let mut out = String::new();
    let live = status.members.iter().filter(|m| m.live).count();
    let _ = writeln!(
        out,
        "members: {live} live of {} (member TTL {} ms)",
        status.members.len(),
        status.member_ttl.as_millis()
    );
    let _ = writeln!(
        out,
        "  {:<28} {:<28} {:<14} {:<5} {:>6} {:>6} {:>6} {:>8} {:>8} {:>9}",
        "NODE",
        "URL",
        "HEARTBEAT",
        "LIVE",
        "EVENTS",
        "ACQ",
        "REL",
        "HANDOFFS",
        "REFUSED",
        "FAILOVERS"
    );
    for m in &status.members {
        let c = &m.counters;
        let _ = writeln!(
            out,
            "  {:<28} {:<28} {:<14} {:<5} {:>6} {:>6} {:>6} {:>8} {:>8} {:>9}",
            m.node,
            m.url,
            age(status.now_ms, m.last_heartbeat_ms),
            if m.live { "yes" } else { "no" },
            m.events_owned,
            c.acquisitions,
            c.releases,
            c.handoffs,
            c.refused_writes,
            c.failovers
        );
    }
    let _ = writeln!(
        out,
        "\nevents: {} recorded (newest first), {} with a live actor",
        status.events.len(),
        status.live_events
    );
    let _ = writeln!(
        out,
        "  {:<36} {:<24} {:<28} {:>6}  {:<10} ACQUIRED",
        "EVENT", "TITLE", "OWNER", "EPOCH", "LEASE"
    );
    for e in &status.events {
        let lease = match &e.lease {
            Some((node, epoch)) if *node == e.node && *epoch == e.epoch => "held".to_owned(),
            Some((node, epoch)) => format!("{node}@{epoch}"),
            None if e.released_at.is_some() => "released".to_owned(),
            None => "lapsed".to_owned(),
        };
        let title: String = e.title.chars().take(24).collect();
        let _ = writeln!(
            out,
            "  {:<36} {:<24} {:<28} {:>6}  {:<10} {}",
            e.event_id,
            title,
            e.node,
            e.epoch,
            lease,
            e.acquired_at.format("%Y-%m-%d %H:%M:%S")
        );
    }
    out
}
