//! The built-in rules: the performance baselines hostwatch targets out of the box. Each can
//! be overridden or disabled by name under `[alerts.rules.NAME]` in the config.

use std::time::Duration;

use glob::Pattern;

use super::{Condition, Direction, Guard, Matcher, Rule};
use crate::metrics::{self as m, Metric};

const MINUTE: u64 = 60;

/// One row of the built-in table.
pub struct DefaultRule {
    /// Rule name.
    pub name: &'static str,
    /// Watched metric.
    pub metric: &'static Metric,
    /// Label globs.
    pub labels: &'static [(&'static str, &'static str)],
    /// What is compared.
    pub condition: Condition,
    /// Which side is bad.
    pub direction: Direction,
    /// Warning threshold.
    pub warning: f64,
    /// Critical threshold.
    pub critical: f64,
    /// Hysteresis: where a firing alert clears.
    pub clear: f64,
    /// `for`, in seconds.
    pub for_secs: u64,
    /// Divide by the number of cores.
    pub per_core: bool,
    /// Applies only while this metric has this value.
    pub guard: Option<(&'static Metric, f64)>,
}

const fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * MINUTE)
}

/// The built-in rules. A developer's machine runs hot for minutes at a time (a build, a
/// test suite): sustained windows and `for` durations keep those from paging anyone.
pub static DEFAULT_RULES: &[DefaultRule] = &[
    DefaultRule {
        name: "cpu",
        metric: &m::CPU_USAGE,
        labels: &[("cpu", "total")],
        condition: Condition::Avg(minutes(5)),
        direction: Direction::Above,
        warning: 70.0,
        critical: 90.0,
        clear: 60.0,
        // A build keeps a 5-minute average over 70 for up to 6 minutes (benches/alert_quality.rs).
        for_secs: 10 * MINUTE,
        per_core: false,
        guard: None,
    },
    DefaultRule {
        name: "memory",
        metric: &m::MEM_USED_PCT,
        labels: &[],
        condition: Condition::Avg(minutes(1)),
        direction: Direction::Above,
        warning: 80.0,
        critical: 95.0,
        clear: 75.0,
        for_secs: 2 * MINUTE,
        per_core: false,
        guard: None,
    },
    DefaultRule {
        name: "disk_space",
        metric: &m::DISK_USED_PCT,
        labels: &[("mount", "*")],
        condition: Condition::Value,
        direction: Direction::Above,
        warning: 80.0,
        critical: 90.0,
        clear: 78.0,
        for_secs: MINUTE,
        per_core: false,
        guard: None,
    },
    DefaultRule {
        name: "swap",
        metric: &m::SWAP_USED_PCT,
        labels: &[],
        condition: Condition::Avg(minutes(5)),
        direction: Direction::Above,
        warning: 50.0,
        critical: 80.0,
        clear: 40.0,
        for_secs: 5 * MINUTE,
        per_core: false,
        guard: None,
    },
    DefaultRule {
        name: "battery_low",
        metric: &m::BATTERY_CHARGE,
        labels: &[("battery", "*")],
        condition: Condition::Value,
        direction: Direction::Below,
        warning: 15.0,
        critical: 5.0,
        clear: 20.0,
        for_secs: 0,
        per_core: false,
        guard: Some((&m::BATTERY_STATUS, -1.0)),
    },
    DefaultRule {
        name: "load",
        metric: &m::LOAD_5,
        labels: &[],
        condition: Condition::Value,
        direction: Direction::Above,
        warning: 1.5,
        critical: 3.0,
        clear: 1.2,
        for_secs: 10 * MINUTE,
        per_core: true,
        guard: None,
    },
    // A process spinning on a core (a runaway): the total CPU barely moves on a many-core
    // machine. A build's compiler uses several cores for minutes; 15 minutes of a 5-minute
    // average over one core is longer than any build of the bench's week.
    DefaultRule {
        name: "process_cpu",
        metric: &m::PROC_CPU,
        labels: &[],
        condition: Condition::Avg(minutes(5)),
        direction: Direction::Above,
        warning: 90.0,
        critical: 400.0,
        clear: 80.0,
        for_secs: 15 * MINUTE,
        per_core: false,
        guard: None,
    },
    // Probes: the share of failed attempts over 10 minutes (error rate 1% / 5%), the
    // response time over 5 minutes (5 s / 10 s), an AI completion's (5 s / 10 s, each one:
    // they are minutes apart), a database's query time over 5 minutes (100 ms / 500 ms), a
    // warning condition, the certificate.
    DefaultRule {
        name: "probe_errors",
        metric: &m::PROBE_UP,
        labels: &[("probe", "*")],
        condition: Condition::ErrorRate(minutes(10)),
        direction: Direction::Above,
        warning: 0.01,
        critical: 0.05,
        clear: 0.005,
        for_secs: 0,
        per_core: false,
        guard: None,
    },
    DefaultRule {
        name: "probe_slow",
        metric: &m::PROBE_DURATION,
        labels: &[("probe", "*")],
        condition: Condition::Avg(minutes(5)),
        direction: Direction::Above,
        warning: 5.0,
        critical: 10.0,
        clear: 4.0,
        for_secs: 0,
        per_core: false,
        guard: None,
    },
    DefaultRule {
        name: "probe_ai_response",
        metric: &m::PROBE_AI_RESPONSE,
        labels: &[("probe", "*")],
        condition: Condition::Value,
        direction: Direction::Above,
        warning: 5.0,
        critical: 10.0,
        clear: 4.0,
        for_secs: 0,
        per_core: false,
        guard: None,
    },
    DefaultRule {
        name: "probe_query",
        metric: &m::PROBE_QUERY,
        labels: &[("probe", "*")],
        condition: Condition::Avg(minutes(5)),
        direction: Direction::Above,
        warning: 0.1,
        critical: 0.5,
        clear: 0.08,
        for_secs: 0,
        per_core: false,
        guard: None,
    },
    DefaultRule {
        name: "probe_degraded",
        metric: &m::PROBE_DEGRADED,
        labels: &[("probe", "*")],
        condition: Condition::Value,
        direction: Direction::Above,
        warning: 0.5,
        // Never reached (the value is 0 or 1): a warning condition only ever warns.
        critical: 1.5,
        clear: 0.5,
        for_secs: 0,
        per_core: false,
        guard: None,
    },
    DefaultRule {
        name: "probe_certificate",
        metric: &m::PROBE_CERT_DAYS,
        labels: &[("probe", "*")],
        condition: Condition::Value,
        direction: Direction::Below,
        warning: 14.0,
        critical: 3.0,
        clear: 15.0,
        for_secs: 0,
        per_core: false,
        guard: None,
    },
];

impl DefaultRule {
    /// The row as a rule.
    pub fn rule(&self) -> Rule {
        Rule {
            name: self.name.to_owned(),
            metric: self.metric,
            matchers: self
                .labels
                .iter()
                .map(|(label, glob)| Matcher {
                    label: (*label).to_owned(),
                    pattern: Pattern::new(glob).expect("built-in globs are valid"),
                })
                .collect(),
            condition: self.condition,
            direction: self.direction,
            warning: Some(self.warning),
            critical: Some(self.critical),
            clear: self.clear,
            for_: Duration::from_secs(self.for_secs),
            keep_firing_for: Duration::ZERO,
            per_core: self.per_core,
            guard: self.guard.map(|(metric, equals)| Guard { metric, equals }),
        }
    }
}
