//! What the cluster keeps in storage (`docs/architecture.md#ownership`): the owner and
//! epoch of each event in PostgreSQL (`epochs`), the lease per event and the epoch key
//! beside the event's keys in Redis (`leases`), and the membership with its heartbeats,
//! the nodes' counters and the set of live events in Redis (`members`). The logic that
//! uses them lives in `urr-cluster`; every statement and script lives here.

pub mod epochs;
pub mod leases;
pub mod members;
