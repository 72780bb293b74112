//! The run's result: a JSON report for machines and a summary table for people.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use uuid::Uuid;

use crate::checks::Checks;
use crate::journey::{Outcome, UserReport};
use crate::metrics::{CallSummary, Sample};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub event: Uuid,
    pub users: usize,
    pub seats: u64,
    pub accounts: String,
    pub tier1: bool,
    pub signup_secs: f64,
    pub rush_secs: f64,
    /// From the start of the rush to the last seat paid for; `None`: not sold out.
    pub sold_out_secs: Option<f64>,
    /// What the admission rate alone allows with the run's own people (`bound`): with
    /// their walkers, and as if nobody walked away.
    pub ideal_sell_out_secs: Option<f64>,
    pub ideal_without_walkers_secs: Option<f64>,
    pub admitted: u64,
    pub holds: u64,
    pub conflicts: u64,
    pub sales: u64,
    pub seats_sold: u64,
    pub abandoned: u64,
    /// Calls tried again on another node because one was down.
    pub retries: u64,
    pub outcomes: BTreeMap<String, u64>,
    /// A few failures as they were reported, for a first look.
    pub failure_examples: Vec<String>,
    /// Users whose queue place vanished (the queue answered "absent" while they waited):
    /// must be 0, whatever fails.
    pub lost_queue_places: u64,
    /// Every reservation a hold was acknowledged for, to check against the record (left
    /// out of report.json: a big rush has thousands).
    #[serde(skip)]
    pub acknowledged_holds: Vec<uuid::Uuid>,
    pub checks: Checks,
    pub calls: Vec<CallSummary>,
    pub timeline: Vec<Sample>,
}

pub fn outcomes(users: &[UserReport]) -> (BTreeMap<String, u64>, Vec<String>) {
    let mut counts = BTreeMap::new();
    let mut failures = Vec::new();
    for user in users {
        let name = serde_json::to_value(user.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        *counts.entry(name).or_default() += 1;
        if user.outcome == Outcome::Failed
            && failures.len() < 5
            && let Some(why) = &user.failure
        {
            failures.push(why.clone());
        }
    }
    (counts, failures)
}

fn pass(ok: bool) -> &'static str {
    if ok { "ok" } else { "FAIL" }
}

impl Report {
    /// The table printed at the end of a run.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let c = &self.checks;
        let _ = writeln!(
            out,
            "\nURR rush: {} users for {} seats (event {})",
            self.users, self.seats, self.event
        );
        let _ = writeln!(
            out,
            "accounts {} in {:.1} s; rush {:.1} s; Tier 1 {}",
            self.accounts,
            self.signup_secs,
            self.rush_secs,
            if self.tier1 { "on" } else { "off" }
        );
        let sold_out = self
            .sold_out_secs
            .map_or_else(|| "not sold out".to_owned(), |s| format!("{s:.1} s"));
        let _ = writeln!(out, "time to sell out: {sold_out}");
        if let Some(ideal) = self.ideal_sell_out_secs {
            let ratio = self.sold_out_secs.map_or_else(String::new, |s| {
                format!(" ({:.2}× of it)", s / ideal.max(1e-3))
            });
            let without = self
                .ideal_without_walkers_secs
                .map_or_else(String::new, |w| format!("; {w:.1} s if nobody walked away"));
            let _ = writeln!(
                out,
                "the admission rate alone allows: {ideal:.1} s with these people{ratio}{without}"
            );
        }
        let _ = writeln!(
            out,
            "admitted {}  holds {}  lost races (409) {}  sales {}  seats sold {}  abandoned {}",
            self.admitted, self.holds, self.conflicts, self.sales, self.seats_sold, self.abandoned
        );
        let outcomes: Vec<String> = self
            .outcomes
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(out, "outcomes: {}", outcomes.join(", "));
        let _ = writeln!(out, "\nchecks");
        // Each of these must be 0 for the run to pass.
        let must_be_zero = [
            ("oversold seats (API, buyers' reservations)", c.oversold_api),
            (
                "oversold seats (PostgreSQL, live reservations)",
                c.oversold_postgres,
            ),
            ("paid but not confirmed", c.sales_not_confirmed),
            (
                "fairness inversions (vs Tier-1 order)",
                c.fairness.inversions,
            ),
            (
                "Tier-1 places logged differently",
                c.fairness.position_mismatches,
            ),
        ];
        for (label, value) in must_be_zero {
            let _ = writeln!(out, "  {label:<48} {value:>8}  {}", pass(value == 0));
        }
        let _ = writeln!(
            out,
            "  {:<48} {:>8}",
            "admissions in the queue log", c.fairness.admissions
        );
        let _ = writeln!(
            out,
            "  {:<48} {:>8}",
            "seats sold on the map / paid for",
            format!("{}/{}", c.seats_sold_on_map, c.seats_paid_for)
        );
        let _ = writeln!(
            out,
            "\n  {:<18} {:>8} {:>9} {:>9} {:>9} {:>9}  statuses",
            "call", "count", "p50 ms", "p95 ms", "p99 ms", "max ms"
        );
        for call in &self.calls {
            let mut statuses: Vec<String> = call
                .statuses
                .iter()
                .map(|(s, n)| format!("{s}:{n}"))
                .collect();
            if call.transport_errors > 0 {
                statuses.push(format!("transport:{}", call.transport_errors));
            }
            let _ = writeln!(
                out,
                "  {:<18} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2}  {}",
                call.call,
                call.count,
                call.p50_ms,
                call.p95_ms,
                call.p99_ms,
                call.max_ms,
                statuses.join(" ")
            );
        }
        for failure in &self.failure_examples {
            let _ = writeln!(out, "  failure: {failure}");
        }
        let _ = writeln!(
            out,
            "\nresult: {}",
            if c.passed() { "PASS" } else { "FAIL" }
        );
        out
    }
}
