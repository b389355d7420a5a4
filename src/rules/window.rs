//! The recent samples of one series, and what a condition makes of them.

use std::collections::VecDeque;

use super::{Condition, Direction};
use crate::units::secs;

/// The latest samples of one series: as many as the longest window or count over it needs.
#[derive(Debug, Default)]
pub struct Window {
    /// (unix seconds, value), oldest first.
    samples: VecDeque<(i64, f64)>,
    /// Seconds of history kept behind the newest sample.
    keep_secs: i64,
    /// Unix seconds of the first sample ever pushed.
    first: Option<i64>,
    /// Samples kept whatever their age.
    keep_count: usize,
}

/// What a condition measured on a window.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// One number compared with the thresholds.
    Value(f64),
    /// The latest samples, of which `hits` must be beyond a threshold.
    Count {
        /// The newest value, for messages.
        latest: f64,
        /// The last `of` values.
        recent: Vec<f64>,
        /// How many must be beyond.
        hits: usize,
    },
}

impl Measure {
    /// The number shown in messages.
    pub fn value(&self) -> f64 {
        match self {
            Measure::Value(v) | Measure::Count { latest: v, .. } => *v,
        }
    }

    /// Whether the measure is on the bad side of `threshold`.
    pub fn beyond(&self, direction: Direction, threshold: f64) -> bool {
        match self {
            Measure::Value(v) => direction.beyond(*v, threshold),
            Measure::Count { recent, hits, .. } => {
                recent.iter().filter(|v| direction.beyond(**v, threshold)).count() >= *hits
            }
        }
    }
}

impl Window {
    /// Makes the window keep at least what `condition` needs.
    pub fn need(&mut self, condition: Condition) {
        match (condition, condition.window()) {
            (_, Some(w)) => self.keep_secs = self.keep_secs.max(secs(w)),
            (Condition::Count { of, .. }, None) => self.keep_count = self.keep_count.max(of),
            (_, None) => self.keep_count = self.keep_count.max(1),
        }
    }

    /// Adds a sample. A repeat of the newest second is ignored; one older (the clock was
    /// stepped back) starts the window afresh, or every later sample would be ignored
    /// until the clock caught up and the rule froze.
    pub fn push(&mut self, ts: i64, value: f64) {
        match self.samples.back() {
            Some(&(last, _)) if ts == last => return,
            Some(&(last, _)) if ts < last => {
                self.samples.clear();
                self.first = None;
            }
            _ => {}
        }
        self.first.get_or_insert(ts);
        self.samples.push_back((ts, value));
        let horizon = ts.saturating_sub(self.keep_secs);
        while self.samples.len() > self.keep_count.max(1) && self.samples.front().is_some_and(|&(t, _)| t <= horizon) {
            self.samples.pop_front();
        }
    }

    /// The newest sample's time and value.
    pub fn latest(&self) -> Option<(i64, f64)> {
        self.samples.back().copied()
    }

    /// Applies `condition` to the samples, each divided by `divisor`; `None` until the
    /// series has been watched for the whole window (an average of the first minute is
    /// not a 5-minute average), or without enough samples (a rate needs two).
    pub fn measure(&self, condition: Condition, divisor: f64) -> Option<Measure> {
        let (newest, latest) = self.latest()?;
        if let Some(w) = condition.window() {
            let watched = newest - self.first.unwrap_or(newest);
            if watched < secs(w) {
                return None;
            }
        }
        let within = |w: std::time::Duration| {
            let from = newest.saturating_sub(secs(w));
            self.samples.iter().filter(move |(t, _)| *t > from).map(|(t, v)| (*t, v / divisor))
        };
        let m = match condition {
            Condition::Value => Measure::Value(latest / divisor),
            Condition::Avg(w) => {
                let (sum, n) = within(w).fold((0.0, 0_u32), |(s, n), (_, v)| (s + v, n + 1));
                Measure::Value(sum / f64::from(n))
            }
            Condition::Min(w) => Measure::Value(within(w).map(|(_, v)| v).fold(f64::INFINITY, f64::min)),
            Condition::Max(w) => Measure::Value(within(w).map(|(_, v)| v).fold(f64::NEG_INFINITY, f64::max)),
            Condition::Rate(w) => {
                let (t0, v0) = within(w).next()?;
                let secs = newest - t0;
                if secs <= 0 {
                    return None;
                }
                #[allow(clippy::cast_precision_loss)] // seconds within a window are small
                Measure::Value((latest / divisor - v0) / secs as f64)
            }
            Condition::ErrorRate(w) => {
                let (failed, n) = within(w).fold((0_u32, 0_u32), |(f, n), (_, v)| (f + u32::from(v < 0.5), n + 1));
                Measure::Value(f64::from(failed) / f64::from(n))
            }
            Condition::Count { hits, of } => {
                let skip = self.samples.len().saturating_sub(of);
                Measure::Count {
                    latest: latest / divisor,
                    recent: self.samples.iter().skip(skip).map(|(_, v)| v / divisor).collect(),
                    hits,
                }
            }
        };
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn window(condition: Condition, values: &[(i64, f64)]) -> Window {
        let mut w = Window::default();
        w.need(condition);
        for &(t, v) in values {
            w.push(t, v);
        }
        w
    }

    #[test]
    fn windows_keep_only_their_span_and_aggregate_it() {
        let avg = Condition::Avg(Duration::from_secs(10));
        let w = window(avg, &[(0, 100.0), (5, 10.0), (10, 20.0), (15, 30.0)]);
        // 0 and 5 are outside (5, 15]: only 10 and 15 count... and 5 is kept no longer.
        assert_eq!(w.measure(avg, 1.0), Some(Measure::Value(25.0)));
        assert_eq!(w.measure(Condition::Max(Duration::from_secs(10)), 1.0), Some(Measure::Value(30.0)));
        assert_eq!(w.measure(Condition::Min(Duration::from_secs(10)), 1.0), Some(Measure::Value(20.0)));
        assert_eq!(w.measure(Condition::Rate(Duration::from_secs(10)), 1.0), Some(Measure::Value(2.0)));
        assert_eq!(w.samples.len(), 2);
    }

    #[test]
    fn an_error_rate_is_the_share_of_failed_attempts_within_its_window() {
        let rate = Condition::ErrorRate(Duration::from_secs(100));
        // 20 attempts 10 s apart, the 1st, 12th and 17th failed: the 1st is outside (90, 190].
        let attempts: Vec<(i64, f64)> =
            (0..20).map(|i| (i * 10, if [0, 11, 16].contains(&i) { 0.0 } else { 1.0 })).collect();
        let w = window(rate, &attempts);
        assert_eq!(w.measure(rate, 1.0), Some(Measure::Value(0.2)), "2 of the last 10");
        assert!(w.measure(rate, 1.0).unwrap().beyond(Direction::Above, 0.05));
        assert_eq!(window(rate, &attempts[..5]).measure(rate, 1.0), None, "watched 40 of 100 seconds");
    }

    #[test]
    fn x_of_y_counts_the_latest_samples_only() {
        let c = Condition::Count { hits: 2, of: 3 };
        let w = window(c, &[(1, 99.0), (2, 99.0), (3, 1.0), (4, 99.0), (5, 1.0)]);
        let m = w.measure(c, 1.0).unwrap();
        assert!(!m.beyond(Direction::Above, 50.0), "only one of the last three is above");
        let w = window(c, &[(1, 1.0), (2, 99.0), (3, 99.0)]);
        assert!(w.measure(c, 1.0).unwrap().beyond(Direction::Above, 50.0));
    }

    #[test]
    fn a_step_back_in_time_starts_the_window_afresh_and_a_rate_needs_two_samples() {
        let rate = Condition::Rate(Duration::from_secs(60));
        let w = window(rate, &[(10, 1.0), (10, 7.0), (5, 500.0)]);
        assert_eq!(w.latest(), Some((5, 500.0)), "the stepped-back sample counts; the repeat does not");
        assert_eq!(w.measure(rate, 1.0), None);
        let after = window(rate, &[(100, 1.0), (40, 2.0), (41, 3.0)]);
        assert_eq!(after.latest(), Some((41, 3.0)), "samples after the step are seen");
        assert_eq!(after.measure(rate, 1.0), None, "watched 1 of 60 seconds since the step");
        let short = Condition::Rate(Duration::from_secs(5));
        assert_eq!(window(short, &[(0, 1.0), (4, 5.0)]).measure(short, 1.0), None, "watched 4 of 5 seconds");
        assert_eq!(window(short, &[(0, 1.0), (1, 2.0), (5, 6.0)]).measure(short, 1.0), Some(Measure::Value(1.0)));
        assert_eq!(w.measure(Condition::Value, 4.0), Some(Measure::Value(125.0)));
    }
}
