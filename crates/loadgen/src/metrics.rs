//! What the run counts while it goes: latency and status per call (HDR histograms), how
//! many people stand where, and a once-a-second timeline for the plot.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latencies are recorded in microseconds up to a minute, at 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("static histogram bounds are valid")
}

#[derive(Debug)]
struct CallStats {
    latency: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
    transport_errors: u64,
}

/// Counters shared by every virtual user.
#[derive(Debug)]
pub struct Metrics {
    pub started: Instant,
    calls: Mutex<BTreeMap<&'static str, CallStats>>,
    /// Every call since the last timeline sample, for the p99 over time.
    window: Mutex<Histogram<u64>>,
    pub tier1_waiting: AtomicI64,
    pub tier2_waiting: AtomicI64,
    pub admitted: AtomicU64,
    pub holds: AtomicU64,
    pub conflicts: AtomicU64,
    pub sales: AtomicU64,
    pub seats_sold: AtomicU64,
    pub abandoned: AtomicU64,
    pub finished: AtomicU64,
    /// Calls tried again because a node was down (`--patience-secs`).
    pub retries: AtomicU64,
    /// Milliseconds from the start to the sale of the last seat (0: not yet).
    pub sold_out_ms: AtomicU64,
}

/// One call's latency percentiles and outcomes, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct CallSummary {
    pub call: String,
    pub count: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// HTTP status → count.
    pub statuses: BTreeMap<u16, u64>,
    pub transport_errors: u64,
}

/// One second of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub t_secs: f64,
    pub waiting: i64,
    pub admissions_per_sec: f64,
    pub holds_per_sec: f64,
    pub seats_sold: u64,
    pub p99_ms: f64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            calls: Mutex::new(BTreeMap::new()),
            window: Mutex::new(histogram()),
            tier1_waiting: AtomicI64::new(0),
            tier2_waiting: AtomicI64::new(0),
            admitted: AtomicU64::new(0),
            holds: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
            sales: AtomicU64::new(0),
            seats_sold: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            sold_out_ms: AtomicU64::new(0),
        }
    }

    /// Records one completed exchange (`status` `None`: it never got an HTTP answer).
    pub fn record(&self, call: &'static str, elapsed: Duration, status: Option<u16>) {
        let micros = self.count(call, elapsed, status);
        if let Ok(mut window) = self.window.lock() {
            window.saturating_record(micros);
        }
    }

    /// Records work done on the client (a proof-of-work solve) under `call`, beside the
    /// HTTP calls in the summary but outside the latency timeline.
    pub fn record_local(&self, call: &'static str, elapsed: Duration) {
        self.count(call, elapsed, Some(200));
    }

    /// Adds one outcome to `call`'s summary; returns the latency it recorded, in µs.
    fn count(&self, call: &'static str, elapsed: Duration, status: Option<u16>) -> u64 {
        let micros = u64::try_from(elapsed.as_micros())
            .unwrap_or(u64::MAX)
            .clamp(1, 60_000_000);
        if let Ok(mut calls) = self.calls.lock() {
            let stats = calls.entry(call).or_insert_with(|| CallStats {
                latency: histogram(),
                statuses: BTreeMap::new(),
                transport_errors: 0,
            });
            stats.latency.saturating_record(micros);
            match status {
                Some(code) => *stats.statuses.entry(code).or_default() += 1,
                None => stats.transport_errors += 1,
            }
        }
        micros
    }

    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub fn calls(&self) -> Vec<CallSummary> {
        let Ok(calls) = self.calls.lock() else {
            return Vec::new();
        };
        calls
            .iter()
            .map(|(name, stats)| CallSummary {
                call: (*name).to_owned(),
                count: stats.latency.len(),
                p50_ms: ms(stats.latency.value_at_quantile(0.50)),
                p95_ms: ms(stats.latency.value_at_quantile(0.95)),
                p99_ms: ms(stats.latency.value_at_quantile(0.99)),
                max_ms: ms(stats.latency.max()),
                statuses: stats.statuses.clone(),
                transport_errors: stats.transport_errors,
            })
            .collect()
    }

    /// The p99 of every call since the last call of this, then starts a new window.
    fn take_window_p99(&self) -> f64 {
        match self.window.lock() {
            Ok(mut window) if !window.is_empty() => {
                let p99 = ms(window.value_at_quantile(0.99));
                window.reset();
                p99
            }
            _ => 0.0,
        }
    }
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// Builds the timeline from successive readings of the counters.
#[derive(Debug, Default)]
pub struct Timeline {
    samples: Vec<Sample>,
    last_admitted: u64,
    last_holds: u64,
    last_at: f64,
}

impl Timeline {
    pub fn sample(&mut self, metrics: &Metrics) {
        let t_secs = metrics.started.elapsed().as_secs_f64();
        let span = (t_secs - self.last_at).max(1e-3);
        let admitted = metrics.admitted.load(Ordering::Relaxed);
        let holds = metrics.holds.load(Ordering::Relaxed);
        self.samples.push(Sample {
            t_secs,
            waiting: metrics.tier1_waiting.load(Ordering::Relaxed)
                + metrics.tier2_waiting.load(Ordering::Relaxed),
            admissions_per_sec: (admitted - self.last_admitted) as f64 / span,
            holds_per_sec: (holds - self.last_holds) as f64 / span,
            seats_sold: metrics.seats_sold.load(Ordering::Relaxed),
            p99_ms: metrics.take_window_p99(),
        });
        self.last_admitted = admitted;
        self.last_holds = holds;
        self.last_at = t_secs;
    }

    pub fn into_samples(self) -> Vec<Sample> {
        self.samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_statuses_and_percentiles_per_call() {
        let metrics = Metrics::new();
        for ms in 1..=100 {
            metrics.record("hold", Duration::from_millis(ms), Some(201));
        }
        metrics.record("hold", Duration::from_millis(5), Some(409));
        metrics.record("hold", Duration::from_millis(5), None);
        let calls = metrics.calls();
        assert_eq!(calls.len(), 1);
        let hold = &calls[0];
        assert_eq!(hold.count, 102);
        assert_eq!(hold.statuses.get(&201), Some(&100));
        assert_eq!(hold.statuses.get(&409), Some(&1));
        assert_eq!(hold.transport_errors, 1);
        assert!((98.0..=100.5).contains(&hold.p99_ms), "{}", hold.p99_ms);
        assert!((49.0..=51.0).contains(&hold.p50_ms), "{}", hold.p50_ms);
    }

    #[test]
    fn the_timeline_turns_counters_into_rates() {
        let metrics = Metrics::new();
        let mut timeline = Timeline::default();
        metrics.admitted.fetch_add(10, Ordering::Relaxed);
        metrics.record("status", Duration::from_millis(3), Some(200));
        timeline.sample(&metrics);
        timeline.sample(&metrics);
        let samples = timeline.into_samples();
        assert!(samples[0].admissions_per_sec > 0.0);
        assert!(samples[0].p99_ms >= 2.9);
        assert_eq!(samples[1].admissions_per_sec, 0.0, "no new admissions");
        assert_eq!(samples[1].p99_ms, 0.0, "the window was reset");
    }
}
