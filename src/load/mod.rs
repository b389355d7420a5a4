//! Load and stress tests: many requests to one target, measured as a histogram, stopped at
//! a breaking point or a threshold, judged against the test's own earlier runs.
//!
//! Owns what a test is (its validated settings), running one ([`generator`]) and judging a
//! run ([`judge`]); must not schedule, store or read the wall clock: the checklist or the
//! command line passes the start time in, the store keeps the [`crate::report::LoadRecord`]
//! a judged run becomes. Durations inside a run are measured on the monotonic clock.
//!
//! Safe on a laptop: a target is loopback unless its host is in `loadtests.allow_hosts`
//! (checked when the config is read), redirects are never followed (a 3xx is the answer),
//! every run is bounded in time and requests, and [`guard`] says when not to run at all.

pub mod generator;
pub mod guard;
pub mod judge;
pub mod record;
mod schedule;
mod wire;

use std::time::Duration;

use crate::probe::Http;

pub use record::{Quantiles, Summary};

/// `[loadtests]`: the tests and the hosts beside loopback they may target.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settings {
    /// Host names (as written in URLs) that are not loopback but may be load-tested.
    pub allow_hosts: Vec<String>,
    /// By name, sorted.
    pub tests: Vec<Loadtest>,
}

/// One `[loadtests.NAME]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Loadtest {
    /// Letters, digits, `_`, `-`: the series' `name` label.
    pub name: String,
    /// Each request: a URL's, or a probe's (`probe = "NAME"`, named in `via_probe`).
    pub request: Http,
    /// The probe whose request it sends, if any.
    pub via_probe: Option<String>,
    /// How many users or requests, for how long.
    pub shape: Shape,
    /// One request still unanswered after this fails (kind `timeout`).
    pub timeout: Duration,
    /// The run stops after this many requests, whatever its duration.
    pub max_requests: u64,
    /// The open model's requests under way at once; past it a send waits, and its latency,
    /// counted from when it was meant to leave, shows the wait.
    pub max_in_flight: usize,
    /// What a good run stays within; each one passed is a finding.
    pub thresholds: Thresholds,
    /// Stop the run early when its error rate stays this high.
    pub abort_on: Option<AbortOn>,
    /// Earlier runs of the same plan whose median a run is compared with.
    pub compare_runs: usize,
    /// A latency this much higher (or a rate this much lower) than the median, as a
    /// fraction: (warning, critical).
    pub regression: (f64, f64),
}

/// Users (the closed model: each sends its next request when the last is answered) or a
/// rate (the open model: requests leave on schedule whatever the answers do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// `users`: concurrent users.
    Closed,
    /// `target_rps`: requests per second.
    Open,
}

impl Model {
    /// The unit of a level: "users" or "rps".
    pub fn unit(self) -> &'static str {
        match self {
            Model::Closed => "users",
            Model::Open => "rps",
        }
    }
}

/// The shape of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A steady level after a linear ramp.
    Load {
        /// Users or rate.
        model: Model,
        /// Users, or requests per second.
        level: u32,
        /// From nothing to `level` over this.
        ramp_up: Duration,
        /// The whole run, ramp included.
        duration: Duration,
    },
    /// Steps up from `start` by `step` to `max`, stopping at the first step that fails.
    Stress {
        /// Users or rate.
        model: Model,
        /// The first step's level.
        start: u32,
        /// Added at each step.
        step: u32,
        /// The last step's level, at most.
        max: u32,
        /// How long each step lasts.
        step_duration: Duration,
        /// A step whose error rate passes this (a fraction) fails.
        failure_threshold: f64,
        /// A step whose p95 passes this fails.
        max_p95: Option<Duration>,
    },
}

/// One stretch of a run at one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Users, or requests per second.
    pub level: u32,
    /// Reached linearly over this, from the step before (from nothing for the first).
    pub ramp_up: Duration,
    /// How long it lasts, ramp included.
    pub duration: Duration,
}

impl Shape {
    /// The users-or-rate model.
    pub fn model(&self) -> Model {
        match self {
            Shape::Load { model, .. } | Shape::Stress { model, .. } => *model,
        }
    }

    /// The run's steps: one for a load test, `start..=max` for a stress test.
    pub fn steps(&self) -> Vec<Step> {
        match *self {
            Shape::Load { level, ramp_up, duration, .. } => vec![Step { level, ramp_up, duration }],
            Shape::Stress { start, step, max, step_duration, .. } => (0..)
                .map(|i| start.saturating_add(step.saturating_mul(i)))
                .take_while(|level| *level <= max)
                .map(|level| Step { level, ramp_up: Duration::ZERO, duration: step_duration })
                .collect(),
        }
    }

    /// The whole run's length if no step fails.
    pub fn duration(&self) -> Duration {
        self.steps().iter().map(|s| s.duration).sum()
    }
}

/// Limits a good run stays within (k6's thresholds); `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Thresholds {
    /// Median latency.
    pub p50: Option<Duration>,
    /// 95th percentile latency.
    pub p95: Option<Duration>,
    /// 99th percentile latency.
    pub p99: Option<Duration>,
    /// Slowest request.
    pub max: Option<Duration>,
    /// Failed requests as a fraction of all.
    pub error_rate: Option<f64>,
}

/// Stop early when the error rate over the last `window` passes `error_rate` (k6's
/// `abortOnFail`, with the window as its `delayAbortEval`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbortOn {
    /// A fraction of requests.
    pub error_rate: f64,
    /// How long it must hold.
    pub window: Duration,
}

impl Loadtest {
    /// The conditions a run ran under, as text: runs are compared only with runs of the
    /// same plan (another step plan, rate or target is another experiment).
    pub fn plan(&self) -> String {
        let secs = |d: Duration| humantime::format_duration(d).to_string();
        let shape = match &self.shape {
            Shape::Load { model, level, ramp_up, duration } => {
                format!("load {level} {} ramp {} for {}", model.unit(), secs(*ramp_up), secs(*duration))
            }
            Shape::Stress { model, start, step, max, step_duration, .. } => {
                format!("stress {start}..{max} {} by {step} every {}", model.unit(), secs(*step_duration))
            }
        };
        format!("{shape}; {}; timeout {}", self.request.target(), secs(self.timeout))
    }
}
