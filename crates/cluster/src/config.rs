//! How a node takes part in the cluster, and the timings that follow from it.

use std::time::Duration;

/// The cluster part of a node's configuration (the CLI fills it from `--node-id`,
/// `--advertise-url`, `--lease-ttl-ms`, `--member-ttl-ms` and `--cluster-secret`).
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// This node's id in the membership, unique per live node.
    pub node_id: String,
    /// Where the other nodes reach this one, e.g. `http://10.0.3.7:8080`.
    pub advertise_url: String,
    /// How long an event's lease lasts unless renewed.
    pub lease_ttl: Duration,
    /// How long a member stays live without a heartbeat.
    pub member_ttl: Duration,
    /// What node-to-node calls carry, and what this node requires of them.
    pub secret: String,
    /// How long a forwarded call may take.
    pub call_timeout: Duration,
}

impl ClusterConfig {
    /// Every owned lease is renewed this often: three chances before it lapses.
    pub fn renew_every(&self) -> Duration {
        self.lease_ttl / 3
    }

    /// A lease counts as lost this long before it can lapse in Redis: the room for the
    /// two clocks running at different rates and for the actor to stop
    /// (`docs/architecture.md#ownership`).
    pub fn fail_closed_margin(&self) -> Duration {
        self.lease_ttl / 5
    }

    /// The node's heartbeat (and its refresh of the membership) this often.
    pub fn heartbeat_every(&self) -> Duration {
        self.member_ttl / 4
    }

    /// How often the watchdog looks for leases that lapsed by this node's clock.
    pub fn watchdog_every(&self) -> Duration {
        (self.fail_closed_margin() / 4).clamp(Duration::from_millis(20), Duration::from_millis(250))
    }

    /// A member silent this long leaves the records the operator sees.
    pub fn forget_after(&self) -> Duration {
        (self.member_ttl * 60).max(Duration::from_secs(600))
    }
}
