//! Probes: scheduled, timed requests to what runs on or near the machine, turned into
//! samples of the catalogue's `probe.*` metrics labelled `probe=NAME`, so they are stored,
//! archived, judged by rules and reported like the host's own.
//!
//! Owns what a probe is (its validated settings), one attempt at it and how the answer is
//! judged; must not schedule, store or read the wall clock: the agent schedules attempts
//! and passes each one's start time in. Durations inside an attempt are measured on the
//! monotonic clock.
//!
//! Secrets (tokens, passwords) are read from their environment variable or 0600 file at
//! each attempt and go only into the request: a failure's detail never holds one.

mod ai;
mod cert;
mod condition;
mod http;
mod pg_tls;
mod postgres;
mod secret;
mod sqlite;

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

pub use ai::{Ai, Api};
pub use condition::{Answer, Condition, Kind, Op, Subject};
pub use http::{Clients, Http, KEPT_BODY, MAX_BODY, load_client, read_body};
pub use pg_tls::Tls;
pub use postgres::Postgres;
pub use secret::Secret;
pub use sqlite::Sqlite;

use crate::metrics::{Metric, PROBE_DEGRADED, PROBE_UP, Sample, SeriesKey};

/// `[probes]`: every configured probe, enabled or not.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settings {
    /// By name, sorted.
    pub probes: Vec<Probe>,
    /// Attempts under way at once, all probes together.
    pub concurrency: usize,
}

/// One `[probes.NAME]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Letters, digits, `_`, `-`: the series' `probe` label.
    pub name: String,
    /// Whether the agent runs it (`probe run NAME` runs it either way).
    pub enabled: bool,
    /// Time between attempts.
    pub interval: Duration,
    /// An attempt still under way after this fails (reason `timeout`).
    pub timeout: Duration,
    /// The availability it should reach, in percent (99.9), for the quarterly review.
    pub sla: Option<f64>,
    /// What is probed.
    pub target: Target,
}

impl Probe {
    /// The longest time between two samples of one of its series: an ai probe's completion
    /// series come every `completion_interval`.
    pub fn longest_period(&self) -> Duration {
        match &self.target {
            Target::Ai(a) => self.interval.max(a.completion_interval),
            _ => self.interval,
        }
    }
}

/// What a probe asks, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// An HTTP(S) endpoint.
    Http(Http),
    /// A model endpoint.
    Ai(Ai),
    /// A query on an application's SQLite file.
    Sqlite(Sqlite),
    /// A query on a PostgreSQL server, and its connection counts.
    Postgres(Postgres),
}

impl Target {
    /// The `kind` key's word.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Http(_) => "http",
            Target::Ai(_) => "ai",
            Target::Sqlite(_) => "sqlite",
            Target::Postgres(_) => "postgres",
        }
    }

    /// The target as it may be shown (no secret, no query string).
    pub fn shown(&self) -> String {
        match self {
            Target::Http(h) => h.target(),
            Target::Ai(a) => a.target(),
            Target::Sqlite(s) => s.target(),
            Target::Postgres(p) => p.target(),
        }
    }
}

/// Why an attempt failed, in the words `hostwatch probes` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The name did not resolve.
    Dns,
    /// Nothing listens there.
    Refused,
    /// Another connect failure (unreachable, reset).
    Connect,
    /// No answer within the timeout.
    Timeout,
    /// The TLS handshake failed (an untrusted or expired certificate).
    Tls,
    /// More redirects than allowed.
    Redirect,
    /// An unexpected status.
    Status,
    /// A condition did not hold.
    Condition,
    /// The body was cut or too large.
    Body,
    /// A database refused or failed the query.
    Query,
    /// A model's stream held an error, was cut, or held no token.
    Stream,
    /// The secret could not be read.
    Secret,
}

impl Reason {
    /// The reason's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Dns => "dns",
            Reason::Refused => "refused",
            Reason::Connect => "connect",
            Reason::Timeout => "timeout",
            Reason::Tls => "tls",
            Reason::Redirect => "redirect",
            Reason::Status => "status",
            Reason::Condition => "condition",
            Reason::Body => "body",
            Reason::Query => "query",
            Reason::Stream => "stream",
            Reason::Secret => "secret",
        }
    }
}

/// A failed attempt: why, and the detail (no secret, no body).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The kind of failure.
    pub reason: Reason,
    /// What happened, for `hostwatch probes` and the logs.
    pub detail: String,
}

impl Failure {
    fn secret_header() -> Failure {
        Failure { reason: Reason::Secret, detail: "the secret is not a valid header value".into() }
    }

    /// Classifies a transport error by its causes; the detail is the chain without the URL.
    pub fn from_http(e: &reqwest::Error) -> Failure {
        let mut chain = Vec::new();
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
        while let Some(s) = source {
            chain.push(s.to_string());
            source = s.source();
        }
        let all = chain.join(": ").to_lowercase();
        let io_refused = chain.iter().any(|c| c.contains("Connection refused"));
        let reason = if e.is_timeout() {
            Reason::Timeout
        } else if e.is_redirect() {
            Reason::Redirect
        } else if all.contains("dns error") || all.contains("failed to lookup") {
            Reason::Dns
        } else if io_refused {
            Reason::Refused
        } else if all.contains("certificate") || all.contains("tls") || all.contains("handshake") {
            Reason::Tls
        } else if e.is_body() || e.is_decode() {
            Reason::Body
        } else {
            Reason::Connect
        };
        let detail = if chain.is_empty() { e.to_string() } else { chain.join(": ") };
        Failure { reason, detail }
    }
}

/// One attempt's outcome: its measurements, whether it failed and why, and which warning
/// conditions did not hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// When it started, Unix ms.
    pub at_ms: i64,
    /// `None` if the attempt succeeded.
    pub failure: Option<Failure>,
    /// The warning conditions that did not hold (the probe is up but degraded).
    pub warnings: Vec<String>,
    /// What was measured, even for a failure that got an answer (a 503 still has a time).
    pub values: Vec<(&'static Metric, f64)>,
    /// Measurements of a part of the target, with the label that names it (a statement).
    pub parts: Vec<(&'static Metric, (&'static str, String), f64)>,
    /// What `probe run` prints beside the measurements (a statement's text); not stored.
    pub notes: Vec<String>,
}

impl Attempt {
    fn new(at_ms: i64) -> Attempt {
        Attempt { at_ms, failure: None, warnings: Vec::new(), values: Vec::new(), parts: Vec::new(), notes: Vec::new() }
    }

    fn failed(mut self, failure: Failure) -> Attempt {
        self.failure = Some(failure);
        self
    }

    /// Applies the conditions to an answer: the first failing one fails the attempt, each
    /// failing warning condition is listed.
    fn judge(mut self, conditions: &[Condition], warn: &[Condition], answer: &Answer<'_>) -> Attempt {
        if let Some(c) = conditions.iter().find(|c| !c.holds(answer)) {
            return self.failed(Failure { reason: Reason::Condition, detail: format!("condition failed: {c}") });
        }
        self.warnings = warn.iter().filter(|c| !c.holds(answer)).map(ToString::to_string).collect();
        self
    }

    /// The attempt as samples of probe `name`, at its start second.
    pub fn samples(&self, name: &str) -> Vec<Sample> {
        let ts = self.at_ms.div_euclid(1000);
        let up = f64::from(u8::from(self.failure.is_none()));
        let degraded = f64::from(u8::from(self.failure.is_none() && !self.warnings.is_empty()));
        let parts = self.parts.iter().map(|(metric, (label, part), value)| {
            let key = SeriesKey::labelled(metric, vec![("probe", name.to_owned()), (*label, part.clone())]);
            Sample { key, ts, value: *value }
        });
        [(&PROBE_UP, up), (&PROBE_DEGRADED, degraded)]
            .into_iter()
            .chain(self.values.iter().copied())
            .map(|(metric, value)| Sample { key: SeriesKey::with(metric, "probe", name), ts, value })
            .chain(parts)
            .collect()
    }
}

/// The failed attempt of a probe cut off at `timeout`.
fn timed_out(at_ms: i64, timeout: Duration) -> Attempt {
    Attempt::new(at_ms).failed(Failure {
        reason: Reason::Timeout,
        detail: format!("no complete answer within {}", humantime::format_duration(timeout)),
    })
}

/// `attempt`, or a timeout failure once it has run for `timeout` (dropping it closes its
/// connection).
async fn cut_off(at_ms: i64, timeout: Duration, attempt: impl std::future::Future<Output = Attempt>) -> Attempt {
    tokio::time::timeout(timeout, attempt).await.unwrap_or_else(|_| timed_out(at_ms, timeout))
}

/// A probe ready to run: its settings and, for http and ai, its client.
pub struct Prober {
    /// The settings.
    pub probe: Probe,
    ready: Ready,
    /// Unix ms of the last completion an ai probe asked for.
    last_completion: AtomicI64,
}

/// What an attempt runs with, by kind.
enum Ready {
    Http(Http, reqwest::Client),
    Ai(Ai, reqwest::Client),
    Sqlite(Sqlite),
    Postgres(Postgres, std::sync::Mutex<postgres::Counters>),
}

impl Prober {
    /// Takes the probe's client from `clients` (built there on first use); an error (an
    /// unreadable CA file) names the probe.
    pub fn new(probe: Probe, clients: &mut Clients) -> Result<Prober, String> {
        let named = |e| format!("probe {}: {e}", probe.name);
        let ready = match &probe.target {
            Target::Http(h) => Ready::Http(h.clone(), h.client(clients).map_err(named)?),
            Target::Ai(a) => Ready::Ai(a.clone(), a.client(clients).map_err(named)?),
            Target::Sqlite(s) => Ready::Sqlite(s.clone()),
            Target::Postgres(p) => Ready::Postgres(p.clone(), std::sync::Mutex::default()),
        };
        Ok(Prober { probe, ready, last_completion: AtomicI64::new(i64::MIN) })
    }

    /// The attempt due at `at_ms` (an ai probe's completion when its interval has passed,
    /// else its liveness check), cut off at the probe's timeout.
    pub async fn attempt(&self, at_ms: i64) -> Attempt {
        let completion = match &self.ready {
            Ready::Ai(a, _) => {
                let since = at_ms.saturating_sub(self.last_completion.load(Ordering::Relaxed));
                // A clock stepped back makes `since` negative: ask now rather than wait.
                since < 0 || since >= crate::units::millis(a.completion_interval)
            }
            _ => false,
        };
        self.run(at_ms, completion).await
    }

    /// The fullest attempt now: an ai probe's completion, any other probe's attempt.
    pub async fn attempt_full(&self, at_ms: i64) -> Attempt {
        self.run(at_ms, true).await
    }

    async fn run(&self, at_ms: i64, completion: bool) -> Attempt {
        let timeout = self.probe.timeout;
        match &self.ready {
            Ready::Http(h, client) => cut_off(at_ms, timeout, h.attempt(client, at_ms)).await,
            Ready::Ai(a, client) if completion => {
                self.last_completion.store(at_ms, Ordering::Relaxed);
                cut_off(at_ms, timeout, a.completion(client, Attempt::new(at_ms))).await
            }
            Ready::Ai(a, client) => cut_off(at_ms, timeout, a.liveness(client, Attempt::new(at_ms))).await,
            // The query interrupts itself at the timeout (a dropped future would not).
            Ready::Sqlite(s) => s.attempt(timeout, at_ms).await,
            // Dropped at the timeout, the client closes its connection; the server cancels
            // the query when it next writes to the socket.
            Ready::Postgres(p, counters) => cut_off(at_ms, timeout, p.attempt(at_ms, counters)).await,
        }
    }
}
