//! Progress bars while the run goes (hidden when not on a terminal or when turned off).

use std::sync::atomic::Ordering;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct Bars {
    signup: ProgressBar,
    waiting: ProgressBar,
    sold: ProgressBar,
    done: ProgressBar,
}

impl Bars {
    pub fn new(visible: bool, users: u64, seats: u64) -> Self {
        let multi = if visible {
            MultiProgress::new()
        } else {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        };
        let style = |template: &str| {
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
        };
        let counted = style("{prefix:>12} [{bar:40}] {pos}/{len} {msg}");
        let signup = multi.add(
            ProgressBar::new(users)
                .with_style(counted.clone())
                .with_prefix("accounts"),
        );
        let waiting = multi.add(
            ProgressBar::new(users)
                .with_style(style("{prefix:>12} {pos} {msg}"))
                .with_prefix("waiting"),
        );
        let sold = multi.add(
            ProgressBar::new(seats)
                .with_style(counted.clone())
                .with_prefix("seats sold"),
        );
        let done = multi.add(
            ProgressBar::new(users)
                .with_style(counted)
                .with_prefix("users done"),
        );
        Self {
            signup,
            waiting,
            sold,
            done,
        }
    }

    pub fn signed_up(&self, n: u64) {
        self.signup.set_position(n);
    }

    pub fn update(&self, metrics: &Metrics) {
        let tier1 = metrics.tier1_waiting.load(Ordering::Relaxed).max(0);
        let tier2 = metrics.tier2_waiting.load(Ordering::Relaxed).max(0);
        self.waiting.set_position((tier1 + tier2) as u64);
        self.waiting.set_message(format!(
            "(Tier 1 {tier1}, Tier 2 {tier2}; admitted {}, holds {}, 409s {})",
            metrics.admitted.load(Ordering::Relaxed),
            metrics.holds.load(Ordering::Relaxed),
            metrics.conflicts.load(Ordering::Relaxed),
        ));
        self.sold
            .set_position(metrics.seats_sold.load(Ordering::Relaxed));
        self.done
            .set_position(metrics.finished.load(Ordering::Relaxed));
    }

    pub fn finish(&self, metrics: &Metrics) {
        self.update(metrics);
        for bar in [&self.signup, &self.waiting, &self.sold, &self.done] {
            bar.abandon();
        }
    }
}
