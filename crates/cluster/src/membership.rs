//! This node's view of the membership: who is live (heard from within the member TTL,
//! by Redis's clock), refreshed with every heartbeat. Placement reads it.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

use urr_store::Kv;
use urr_store::cluster::members::{self, LiveMember, NodeCounters};
use uuid::Uuid;

use crate::config::ClusterConfig;
use crate::placement;

pub(crate) struct Membership {
    kv: Kv,
    config: ClusterConfig,
    view: Mutex<View>,
}

#[derive(Default)]
struct View {
    live: Vec<LiveMember>,
    /// The members of the view before this one: a handoff goes only to a member seen
    /// twice in a row, so a heartbeat that came late does not move events back and forth.
    before: HashSet<String>,
}

fn lock(view: &Mutex<View>) -> MutexGuard<'_, View> {
    view.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Membership {
    pub(crate) fn new(kv: Kv, config: ClusterConfig) -> Self {
        Self {
            kv,
            config,
            view: Mutex::new(View::default()),
        }
    }

    /// Records this node's heartbeat with its counters and takes the live members
    /// Redis returns as the new view.
    pub(crate) async fn heartbeat(
        &self,
        counters: &NodeCounters,
    ) -> Result<(), urr_store::StoreError> {
        let live = members::heartbeat(
            &self.kv,
            &self.config.node_id,
            &self.config.advertise_url,
            counters,
            self.config.member_ttl,
            self.config.forget_after(),
        )
        .await?;
        self.replace(live);
        Ok(())
    }

    /// Reads the live members afresh without a heartbeat (after a `NotOwner`).
    pub(crate) async fn refresh(&self) -> Result<(), urr_store::StoreError> {
        let live = members::live(&self.kv, self.config.member_ttl).await?;
        self.replace(live);
        Ok(())
    }

    fn replace(&self, live: Vec<LiveMember>) {
        let mut view = lock(&self.view);
        view.before = view.live.iter().map(|m| m.node.clone()).collect();
        view.live = live;
    }

    /// Leaves the membership at once (a drain).
    pub(crate) async fn leave(&self) -> Result<(), urr_store::StoreError> {
        members::leave(&self.kv, &self.config.node_id).await?;
        let mut view = lock(&self.view);
        view.live.retain(|m| m.node != self.config.node_id);
        Ok(())
    }

    /// The member that should own `event`: over the live members and this node, unless
    /// `without_me` (a draining node places nothing on itself).
    pub(crate) fn preferred(&self, event: Uuid, without_me: bool) -> Option<LiveMember> {
        let view = lock(&self.view);
        let me = &self.config.node_id;
        let mut candidates: Vec<&str> = view
            .live
            .iter()
            .map(|m| m.node.as_str())
            .filter(|node| !(without_me && *node == me.as_str()))
            .collect();
        if !without_me && !candidates.contains(&me.as_str()) {
            candidates.push(me);
        }
        let winner = placement::preferred(event, candidates)?;
        Some(self.member(&view, winner))
    }

    /// The member this owner should hand `event` to, if another one should own it:
    /// preferred among the members live in this view and the one before.
    pub(crate) fn hand_to(&self, event: Uuid) -> Option<LiveMember> {
        let view = lock(&self.view);
        let me = &self.config.node_id;
        let mut candidates: Vec<&str> = view
            .live
            .iter()
            .map(|m| m.node.as_str())
            .filter(|node| view.before.contains(*node) || *node == me.as_str())
            .collect();
        if !candidates.contains(&me.as_str()) {
            candidates.push(me);
        }
        let winner = placement::preferred(event, candidates)?;
        (winner != me.as_str()).then(|| self.member(&view, winner))
    }

    fn member(&self, view: &View, node: &str) -> LiveMember {
        view.live
            .iter()
            .find(|m| m.node == node)
            .cloned()
            .unwrap_or_else(|| LiveMember {
                node: self.config.node_id.clone(),
                url: self.config.advertise_url.clone(),
            })
    }

    /// The live members now (this view).
    pub(crate) fn live(&self) -> Vec<LiveMember> {
        lock(&self.view).live.clone()
    }
}
