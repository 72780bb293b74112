//! The counter advancer: every cycle, each room whose interval has come round admits its
//! next batch. A failing room or cycle is logged and the next one runs, so one bad item
//! never stops admission everywhere.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;

use crate::store::VwrStore;
use crate::waiting_room::WaitingRoom;

/// On Lambda: an EventBridge rule fires once a minute (its finest grain), and the
/// function runs six cycles ten seconds apart to admit every ten seconds.
pub const LAMBDA_CYCLES: u32 = 6;
pub const LAMBDA_CYCLE_SPACING: Duration = Duration::from_secs(10);

/// What one cycle did, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CycleReport {
    pub rooms: usize,
    pub admitted: u64,
    pub failures: usize,
}

#[derive(Clone)]
pub struct Advancer<S> {
    room: WaitingRoom<S>,
    tick: Duration,
}

impl<S: VwrStore> Advancer<S> {
    pub fn new(room: WaitingRoom<S>, tick: Duration) -> Self {
        Self { room, tick }
    }

    /// One pass over every room. Never fails: failures are counted and logged.
    pub async fn cycle(&self) -> CycleReport {
        let mut report = CycleReport::default();
        let events = match self.room.rooms().await {
            Ok(events) => events,
            Err(err) => {
                tracing::warn!(error = %err, "advancer could not list rooms; next cycle retries");
                report.failures += 1;
                return report;
            }
        };
        for event in events {
            report.rooms += 1;
            match self.room.advance(&event, Utc::now()).await {
                Ok(step) => {
                    report.admitted += step.admitted;
                    if step.admitted > 0 || step.no_shows_settled > 0 {
                        tracing::debug!(%event, admitted = step.admitted, no_shows = step.no_shows_settled, "room advanced");
                    }
                }
                Err(err) => {
                    report.failures += 1;
                    tracing::warn!(%event, error = %err, "advancing a room failed; next cycle retries");
                }
            }
        }
        report
    }

    /// The edge's form: a cycle every tick until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let mut ticks = tokio::time::interval(self.tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = ticks.tick() => { self.cycle().await; }
            }
        }
    }

    /// The Lambda form: `cycles` cycles `spacing` apart, measured from each start, so one
    /// invocation covers its minute without drifting into the next.
    pub async fn run_cycles(&self, cycles: u32, spacing: Duration) -> CycleReport {
        let start = tokio::time::Instant::now();
        let mut total = CycleReport::default();
        for i in 0..cycles {
            tokio::time::sleep_until(start + spacing * i).await;
            let report = self.cycle().await;
            total.rooms = total.rooms.max(report.rooms);
            total.admitted += report.admitted;
            total.failures += report.failures;
        }
        total
    }
}
