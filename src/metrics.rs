//! Latency histograms in Prometheus' buckets, recorded by many tasks; `/metrics` prints them.

use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in microseconds, and as Prometheus prints them.
const BUCKETS: [(u64, &str); 11] = [
    (5_000, "0.005"),
    (10_000, "0.01"),
    (25_000, "0.025"),
    (50_000, "0.05"),
    (100_000, "0.1"),
    (250_000, "0.25"),
    (500_000, "0.5"),
    (1_000_000, "1"),
    (2_500_000, "2.5"),
    (5_000_000, "5"),
    (10_000_000, "10"),
];

/// Counts of observed durations, cumulative per bucket when printed.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Observations in each bucket (not cumulative) and above the last.
    buckets: [u64; BUCKETS.len() + 1],
    sum_micros: u64,
    count: u64,
}

impl Counts {
    pub fn observe(&mut self, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let at = BUCKETS
            .iter()
            .position(|&(bound, _)| micros <= bound)
            .unwrap_or(BUCKETS.len());
        self.buckets[at] += 1;
        self.sum_micros = self.sum_micros.saturating_add(micros);
        self.count += 1;
    }

    /// Writes the `_bucket`, `_sum` and `_count` lines of `name` with `labels`.
    pub fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, (_, le)) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i];
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(
            out,
            "{name}_sum{{{labels}}} {}.{:06}",
            self.sum_micros / 1_000_000,
            self.sum_micros % 1_000_000
        );
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// A latency histogram that many tasks record into.
#[derive(Debug, Default)]
pub struct Histogram(Mutex<Counts>);

impl Histogram {
    /// Records one duration.
    pub fn observe(&self, d: Duration) {
        self.0.lock().expect("histogram lock").observe(d);
    }

    /// The counts so far.
    pub fn snapshot(&self) -> Counts {
        self.0.lock().expect("histogram lock").clone()
    }
}
