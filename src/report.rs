//! A check's report: structured findings with a level, and the same as Markdown.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// How much a finding matters. Ordered: critical is the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// For the record.
    Info,
    /// Worth a look: notified.
    Warning,
    /// Act now: notified.
    Critical,
}

impl Level {
    /// The word used in the store and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Critical => "critical",
        }
    }
}

/// One thing a check found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// How much it matters.
    pub level: Level,
    /// What it is about, e.g. `cpu.usage_percent{cpu="total"}`.
    pub subject: String,
    /// What was found, with the figures.
    pub text: String,
}

/// One run of the weekly host benchmark, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bench {
    /// Fixed integer arithmetic.
    pub cpu_ms: f64,
    /// Four passes over 16 MB.
    pub memory_ms: f64,
    /// 20 writes of 4 KiB, each synced to disk.
    pub fsync_ms: f64,
}

/// What one run of a check found.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The job.
    pub job: String,
    /// The slot it ran for, unix seconds.
    pub slot: i64,
    /// The findings, worst first.
    pub findings: Vec<Finding>,
    /// The whole report as Markdown.
    pub markdown: String,
    /// The host benchmark it ran, kept with the report for the next weeks to compare.
    pub bench: Option<Bench>,
    /// The baselines it computed, kept with the report (replacing older ones).
    pub baselines: Vec<Baseline>,
    /// The load test run it judged, kept with the report.
    pub load: Option<LoadRecord>,
}

/// A judged load test run to store: its `load_runs` row and its figures as samples.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadRecord {
    /// The row.
    pub run: LoadRun,
    /// Its figures as `loadtest.*` samples.
    pub samples: Vec<crate::metrics::Sample>,
}

/// One run of a load test as the store keeps it (a `load_runs` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadRun {
    /// The test's name.
    pub test: String,
    /// The conditions it ran under: runs are compared only within one plan.
    pub plan: String,
    /// Unix ms it started.
    pub started_ms: i64,
    /// Unix ms it ended.
    pub finished_ms: i64,
    /// complete, partial, aborted or refused.
    pub status: String,
    /// Why it was refused.
    pub reason: Option<String>,
    /// Whether the generator was saturated (its latencies say little).
    pub client_bound: bool,
    /// The run as JSON (`load::judge::Kept`); empty when refused.
    pub kept: String,
}

impl Report {
    /// A report of `findings` under `title`, with `sections` (heading, lines) after them.
    pub fn new(
        job: &str,
        slot: i64,
        title: &str,
        mut findings: Vec<Finding>,
        sections: &[(&str, Vec<String>)],
    ) -> Report {
        findings.sort_by_key(|f| std::cmp::Reverse(f.level));
        let mut md = format!("# {title}\n\n");
        if findings.is_empty() {
            md.push_str("Nothing to report.\n");
        }
        for f in &findings {
            let _ = writeln!(md, "- **{}** {}: {}", f.level.as_str(), f.subject, f.text);
        }
        for (heading, lines) in sections.iter().filter(|(_, lines)| !lines.is_empty()) {
            let _ = write!(md, "\n## {heading}\n\n");
            for l in lines {
                let _ = writeln!(md, "- {l}");
            }
        }
        Report { job: job.to_owned(), slot, findings, markdown: md, bench: None, baselines: Vec::new(), load: None }
    }

    /// The worst finding's level; `None` when nothing was found.
    pub fn level(&self) -> Option<Level> {
        self.findings.iter().map(|f| f.level).max()
    }

    /// The findings worth a notification (warning or worse).
    pub fn notable(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.level >= Level::Warning)
    }
}

/// The median of `v` (not empty): its middle value once sorted, the upper one of two.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The nearest-rank `q` quantile of `values` (sorted in place); `None` if there are none.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

/// The distribution of one series over a span: its usual values.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// Metric name.
    pub metric: String,
    /// Labels as canonical JSON.
    pub labels: String,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Samples it was computed from.
    pub count: i64,
}
