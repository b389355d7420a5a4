//! What a run measures: latency and time to first byte as HdrHistograms (microseconds, three
//! significant digits, up to an hour), and the requests by outcome; summed up per step and
//! for the whole run.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// The slowest latency a histogram holds, in microseconds; slower ones are clamped to it.
const MAX_MICROS: u64 = 3_600_000_000;

/// How one request ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// To the last byte (from the intended send time in the open model); `None` if no
    /// answer came (refused, timeout).
    pub latency: Option<Duration>,
    /// To the status line and headers.
    pub ttfb: Option<Duration>,
    /// Why it failed (`timeout`, `refused`, `status`, `condition`, ...); `None` if it did not.
    pub error: Option<&'static str>,
}

/// The measurements of one step (or, merged, of a run).
#[derive(Debug, Clone)]
pub struct Recorder {
    latency: Histogram<u64>,
    ttfb: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<&'static str, u64>,
}

impl Default for Recorder {
    fn default() -> Recorder {
        let histogram = || Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("the bounds are valid");
        Recorder { latency: histogram(), ttfb: histogram(), ok: 0, errors: BTreeMap::new() }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).clamp(1, MAX_MICROS)
}

impl Recorder {
    /// Counts one request.
    pub fn record(&mut self, outcome: &Outcome) {
        if let Some(l) = outcome.latency {
            self.latency.saturating_record(micros(l));
        }
        if let Some(t) = outcome.ttfb {
            self.ttfb.saturating_record(micros(t));
        }
        match outcome.error {
            None => self.ok += 1,
            Some(kind) => *self.errors.entry(kind).or_default() += 1,
        }
    }

    /// Requests counted, failed ones included.
    pub fn requests(&self) -> u64 {
        self.ok + self.errors.values().sum::<u64>()
    }

    /// Adds another step's counts.
    pub fn merge(&mut self, other: &Recorder) {
        // Equal bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.ttfb.add(&other.ttfb);
        self.ok += other.ok;
        for (kind, n) in &other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
    }

    /// The 95th percentile latency so far, for the progress line.
    pub fn p95(&self) -> Duration {
        Duration::from_micros(self.latency.value_at_quantile(0.95))
    }

    /// The summary of `seconds` of sending at `level`.
    pub fn summary(&self, level: u32, seconds: f64, intended_rps: Option<f64>) -> Summary {
        let requests = self.requests();
        #[allow(clippy::cast_precision_loss)]
        let rps = if seconds > 0.0 { requests as f64 / seconds } else { 0.0 };
        Summary {
            level,
            seconds,
            requests,
            ok: self.ok,
            errors: self.errors.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect(),
            rps,
            intended_rps,
            latency: Quantiles::of(&self.latency),
            ttfb: Quantiles::of(&self.ttfb),
        }
    }
}

/// A distribution's quantiles, in seconds; all 0 when nothing was measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Quantiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// The slowest.
    pub max: f64,
}

impl Quantiles {
    fn of(h: &Histogram<u64>) -> Quantiles {
        if h.is_empty() {
            return Quantiles::default();
        }
        #[allow(clippy::cast_precision_loss)]
        let at = |q: f64| h.value_at_quantile(q) as f64 / 1e6;
        #[allow(clippy::cast_precision_loss)]
        let max = h.max() as f64 / 1e6;
        Quantiles { p50: at(0.50), p90: at(0.90), p95: at(0.95), p99: at(0.99), max }
    }
}

/// What one step (or a whole run) measured, as stored with the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Users, or the rate asked for.
    pub level: u32,
    /// Seconds of sending.
    pub seconds: f64,
    /// Requests counted, failed ones included.
    pub requests: u64,
    /// Requests that succeeded.
    pub ok: u64,
    /// Failed requests by kind (`timeout`, `refused`, `status`, `condition`, ...).
    pub errors: BTreeMap<String, u64>,
    /// Requests per second achieved.
    pub rps: f64,
    /// Requests per second intended (the open model).
    pub intended_rps: Option<f64>,
    /// Latency to the last byte (from the intended send time in the open model).
    pub latency: Quantiles,
    /// Time to the status line and headers.
    pub ttfb: Quantiles,
}

impl Summary {
    /// Failed requests as a fraction of all; 0 when there were none.
    pub fn error_rate(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let rate = (self.requests - self.ok) as f64 / self.requests.max(1) as f64;
        rate
    }

    /// The errors as `3 timeout, 1 status`, or `none`.
    pub fn errors_shown(&self) -> String {
        if self.errors.is_empty() {
            return "none".to_owned();
        }
        self.errors.iter().map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_histogram_and_errors_are_counted_by_kind() {
        let mut r = Recorder::default();
        for ms in 1..=100 {
            let latency = Some(Duration::from_millis(ms));
            r.record(&Outcome { latency, ttfb: latency, error: None });
        }
        r.record(&Outcome { latency: None, ttfb: None, error: Some("timeout") });
        r.record(&Outcome { latency: Some(Duration::from_millis(3)), ttfb: None, error: Some("status") });
        let s = r.summary(10, 2.0, None);
        assert_eq!((s.requests, s.ok), (102, 100));
        assert!((s.latency.p50 - 0.050).abs() < 0.0005, "{:?}", s.latency);
        assert!((s.latency.p99 - 0.099).abs() < 0.0005, "{:?}", s.latency);
        assert!((s.latency.max - 0.100).abs() < 0.0005, "{:?}", s.latency);
        assert!((s.rps - 51.0).abs() < 1e-9);
        assert!((s.error_rate() - 2.0 / 102.0).abs() < 1e-12);
        assert_eq!(s.errors_shown(), "1 status, 1 timeout");
        let mut total = Recorder::default();
        total.merge(&r);
        total.merge(&r);
        assert_eq!(total.summary(10, 4.0, None).requests, 204);
    }
}
