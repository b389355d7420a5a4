//! Alert rules: what a rule is, the built-in set, and the engine that turns samples into
//! alert changes.
//!
//! Owns the meaning of a rule (series selection, condition, thresholds, `for`, hysteresis,
//! grace); must not store, notify or read the clock: samples and `now` are passed in, and
//! the changes it returns are persisted and announced by the daemon.

mod alert;
mod defaults;
mod engine;
mod phase;
mod settings;
mod window;

use std::fmt;
use std::time::Duration;

use glob::Pattern;

pub use alert::{Change, Event, EventKind, Phase, Track};
pub use defaults::DEFAULT_RULES;
pub use engine::Engine;
pub use settings::Settings;

use crate::metrics::{Metric, SeriesKey};

/// Logical CPUs: what the load average counts against, and per-core rules divide by.
pub fn logical_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// How bad an alert is. Ordered: critical is worse than warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth a look.
    Warning,
    /// Act now.
    Critical,
}

impl Severity {
    /// The word used in the store, payloads and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// The inverse of [`Severity::as_str`].
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "warning" => Some(Severity::Warning),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// Which side of a threshold is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Values above the threshold are bad (CPU, disk used).
    Above,
    /// Values below the threshold are bad (battery charge, free space).
    Below,
}

impl Direction {
    /// Both directions, with the names used in the config.
    pub const ALL: &[(&str, Direction)] = &[("above", Direction::Above), ("below", Direction::Below)];

    /// Whether `value` is on the bad side of `threshold` (equal is not).
    pub fn beyond(self, value: f64, threshold: f64) -> bool {
        match self {
            Direction::Above => value > threshold,
            Direction::Below => value < threshold,
        }
    }

    /// The word for messages: "above" or "below".
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Above => "above",
            Direction::Below => "below",
        }
    }
}

/// What a rule compares with its thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Condition {
    /// The latest sample.
    Value,
    /// The mean of the samples within the window.
    Avg(Duration),
    /// The smallest sample within the window.
    Min(Duration),
    /// The largest sample within the window.
    Max(Duration),
    /// The change per second between the first and last sample within the window.
    Rate(Duration),
    /// The share of samples within the window that are zero (below 0.5): for an up/down
    /// series such as `probe.up`, the share of failed attempts, the error rate.
    ErrorRate(Duration),
    /// At least `hits` of the last `of` samples are beyond the threshold.
    Count {
        /// How many must be beyond.
        hits: usize,
        /// Out of how many of the latest samples.
        of: usize,
    },
}

impl Condition {
    /// The span of time the condition looks back over, if it is one of time.
    pub fn window(self) -> Option<Duration> {
        match self {
            Condition::Avg(w)
            | Condition::Min(w)
            | Condition::Max(w)
            | Condition::Rate(w)
            | Condition::ErrorRate(w) => Some(w),
            Condition::Value | Condition::Count { .. } => None,
        }
    }

    /// Whether the condition compares the samples themselves (their latest, mean, least,
    /// greatest): then a span's values or percentiles can be judged against the rule's
    /// thresholds directly. A rate or an error rate is in other units.
    pub fn on_values(self) -> bool {
        !matches!(self, Condition::Rate(_) | Condition::ErrorRate(_))
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = |d: &Duration| humantime::format_duration(*d).to_string();
        match self {
            Condition::Value => f.write_str("value"),
            Condition::Avg(w) => write!(f, "avg {}", d(w)),
            Condition::Min(w) => write!(f, "min {}", d(w)),
            Condition::Max(w) => write!(f, "max {}", d(w)),
            Condition::Rate(w) => write!(f, "rate {}", d(w)),
            Condition::ErrorRate(w) => write!(f, "error_rate {}", d(w)),
            Condition::Count { hits, of } => write!(f, "{hits} of {of}"),
        }
    }
}

/// A label matcher: the label must exist and its value match the glob.
#[derive(Debug, Clone, PartialEq)]
pub struct Matcher {
    /// Label name.
    pub label: String,
    /// Glob on the label's value.
    pub pattern: Pattern,
}

/// Another series of the same labels that must hold a value for the rule to apply
/// ("battery low *while discharging*").
#[derive(Debug, Clone, PartialEq)]
pub struct Guard {
    /// The other metric; its series with the alert's labels is consulted.
    pub metric: &'static Metric,
    /// The value it must have.
    pub equals: f64,
}

/// One validated alert rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Unique name, the alert's name in notifications.
    pub name: String,
    /// The metric whose series are watched.
    pub metric: &'static Metric,
    /// Label matchers; every one must match.
    pub matchers: Vec<Matcher>,
    /// What is compared.
    pub condition: Condition,
    /// Which side is bad.
    pub direction: Direction,
    /// Warning threshold, if any.
    pub warning: Option<f64>,
    /// Critical threshold, if any.
    pub critical: Option<f64>,
    /// A firing alert resolves only once the condition is back past this (hysteresis);
    /// on the good side of the less severe threshold.
    pub clear: f64,
    /// How long a threshold must be crossed before the alert fires.
    pub for_: Duration,
    /// How long a firing alert stays firing after it cleared, in case it comes back.
    pub keep_firing_for: Duration,
    /// Divide the condition by the number of CPU cores (load average).
    pub per_core: bool,
    /// The rule applies only while this holds.
    pub guard: Option<Guard>,
}

impl Rule {
    /// Whether this rule watches `key`.
    pub fn selects(&self, key: &SeriesKey) -> bool {
        key.metric == self.metric
            && self
                .matchers
                .iter()
                .all(|m| key.labels.iter().any(|(name, value)| *name == m.label && m.pattern.matches(value)))
    }

    /// What the rule's condition is divided by on a host with `cores` logical CPUs.
    pub fn divisor(&self, cores: usize) -> f64 {
        #[allow(clippy::cast_precision_loss)] // core counts are small
        if self.per_core { cores.max(1) as f64 } else { 1.0 }
    }

    /// The severity a condition value reaches, ignoring `for` and hysteresis.
    pub fn level(&self, beyond: impl Fn(f64) -> bool) -> Option<Severity> {
        if self.critical.is_some_and(&beyond) {
            Some(Severity::Critical)
        } else if self.warning.is_some_and(&beyond) {
            Some(Severity::Warning)
        } else {
            None
        }
    }

    /// The threshold of a severity (for messages); the warning one if it has none.
    pub fn threshold(&self, severity: Severity) -> f64 {
        let t = match severity {
            Severity::Critical => self.critical.or(self.warning),
            Severity::Warning => self.warning.or(self.critical),
        };
        t.unwrap_or(self.clear)
    }

    /// Where a critical alert goes back to warning: short of the critical threshold by
    /// the clear gap (the distance from the warning threshold to `clear`), and by at least
    /// half the way to the warning threshold, so it cannot flap at critical; never past the
    /// warning threshold. With no warning threshold, the clear threshold itself.
    pub fn deescalate_at(&self) -> f64 {
        match (self.warning, self.critical) {
            (Some(w), Some(c)) => {
                let gap = (w - self.clear).abs().max((c - w).abs() / 2.0);
                match self.direction {
                    Direction::Above => (c - gap).max(w),
                    Direction::Below => (c + gap).min(w),
                }
            }
            _ => self.clear,
        }
    }

    /// A one-line description: `cpu.usage_percent{cpu=total} avg 1m above 70/90 for 2m`.
    pub fn describe(&self) -> String {
        let labels: Vec<String> = self.matchers.iter().map(|m| format!("{}={}", m.label, m.pattern)).collect();
        let labels = if labels.is_empty() { String::new() } else { format!("{{{}}}", labels.join(",")) };
        let t = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        let mut s = format!(
            "{}{labels} {} {} {}/{}",
            self.metric.name,
            self.condition,
            self.direction.as_str(),
            t(self.warning),
            t(self.critical)
        );
        if self.per_core {
            s.push_str(" per core");
        }
        if !self.for_.is_zero() {
            s.push_str(&format!(" for {}", humantime::format_duration(self.for_)));
        }
        if let Some(g) = &self.guard {
            s.push_str(&format!(" while {} = {}", g.metric.name, g.equals));
        }
        s
    }
}

#[cfg(test)]
mod tests;
