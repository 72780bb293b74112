//! What the cluster reports to Prometheus (names in `docs/operations.md#metrics`): the
//! node's ownership counters, published with each heartbeat, and lease renewals as they
//! happen.

use crate::NodeCounters;

/// The node's counters since it started, as Prometheus counters and a gauge, labelled
/// with the node's id (one process may host several nodes in tests).
pub(crate) fn publish(node: &str, counters: &NodeCounters) {
    let node = node.to_owned();
    metrics::gauge!("urr_cluster_events_owned", "node" => node.clone()).set(counters.owned as f64);
    for (name, value) in [
        (
            "urr_cluster_lease_acquisitions_total",
            counters.acquisitions,
        ),
        ("urr_cluster_lease_releases_total", counters.releases),
        ("urr_cluster_handoffs_total", counters.handoffs),
        ("urr_cluster_failovers_total", counters.failovers),
        ("urr_cluster_refused_writes_total", counters.refused_writes),
    ] {
        metrics::counter!(name, "node" => node.clone()).absolute(value);
    }
}

/// One lease renewal: `renewed`, `lost` (another node holds it) or `failed` (Redis
/// did not answer).
pub(crate) fn renewal(outcome: &'static str) {
    metrics::counter!("urr_cluster_lease_renewals_total", "outcome" => outcome).increment(1);
}
