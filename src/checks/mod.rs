//! The performance checklist: cron-scheduled checks that write reports. So far the hourly
//! health check, the daily review, the weekly trends with a host benchmark, the monthly
//! audit and the quarterly capacity forecast; user-defined SQL checks come next.
//!
//! Owns when checks run and what they find; must not hold SQL (the store's door) or read
//! the clock (the daemon passes `now`).

pub mod capacity;
mod crontab;
pub mod custom;
pub mod daily;
pub mod fit;
pub mod hourly;
pub mod loadtest;
pub mod monthly;
pub mod probe_review;
pub mod probes;
pub mod schedule;
pub mod tune;
pub mod weekly;

use std::path::PathBuf;
use std::time::Duration;

use crate::archive::{Archive, Policy};
use crate::metrics::SeriesKey;
use crate::report::{Finding, Report};
use crate::store::{Selector, Store, StoreError};
use crate::trend::{Point, one_series, trend};

/// `[checks]`: the scheduled performance checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Whether the checklist runs at all.
    pub enabled: bool,
    /// Whether a slot missed while asleep or stopped runs once on wake.
    pub catch_up: bool,
    /// The enabled jobs, in checklist order (each with its timeout resolved).
    pub jobs: Vec<Job>,
}

/// One scheduled job of the checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Its name (`hourly_health`, ...).
    pub name: String,
    /// What it runs.
    pub kind: JobKind,
    /// When it runs, in local time.
    pub schedule: schedule::Schedule,
    /// The longest one run may take.
    pub timeout: Duration,
}

/// What a job runs: one of the built-in checks, or a user's query.
#[derive(Debug, Clone, PartialEq)]
pub enum JobKind {
    /// [`hourly`]
    HourlyHealth,
    /// [`daily`]
    DailyReview,
    /// [`weekly`], with a host benchmark.
    WeeklyTrends,
    /// [`monthly`]
    MonthlyAudit,
    /// [`capacity`]
    QuarterlyCapacity,
    /// [`custom`]: the query and condition of a user-defined check.
    Custom(custom::Custom),
    /// [`loadtest`]: a scheduled load or stress test.
    Load(Box<crate::load::Loadtest>),
}

/// The built-in checklist: (name, default schedule, kind), in checklist order.
pub const BUILT_IN_JOBS: &[(&str, &str, JobKind)] = &[
    ("hourly_health", "5 * * * *", JobKind::HourlyHealth),
    ("daily_review", "15 8 * * *", JobKind::DailyReview),
    ("weekly_trends", "30 8 * * 1", JobKind::WeeklyTrends),
    ("monthly_audit", "45 8 1 * *", JobKind::MonthlyAudit),
    ("quarterly_capacity", "0 9 1 1,4,7,10 *", JobKind::QuarterlyCapacity),
];

/// What the checks read beside the hot store: the narrow part of the config they need.
#[derive(Debug, Clone)]
pub struct Context {
    /// The alert rules and how the agent runs them: the hourly check judges by them, the
    /// monthly audit replays them.
    pub alerts: crate::backtest::Setup,
    /// The archive's file and rollup policy, when the archive is on.
    pub archive: Option<(PathBuf, Policy)>,
    /// Each probe with an availability target (`sla`, in percent), for the quarterly review.
    pub slas: Vec<(String, f64)>,
    /// Where the host's `/sys` is: a load test looks at the battery first.
    pub sys_root: PathBuf,
    /// Set to stop a running load test at once (the agent's shutdown, its deadline); what
    /// it measured is kept, marked partial.
    pub stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The wall clock, Unix ms: a load test records when it ran.
    pub clock: fn() -> i64,
}

/// Runs `job` for `slot` (unix seconds) on the hot store.
pub fn run_job(job: &Job, store: &Store, ctx: &Context, slot: i64) -> Result<Report, StoreError> {
    match &job.kind {
        JobKind::Custom(check) => custom::run(&job.name, check, store, ctx, slot),
        JobKind::Load(test) => loadtest::run(test, store, ctx, (&job.name, slot), &ctx.stop, |_| {}),
        JobKind::HourlyHealth => hourly::run(store, ctx, slot),
        JobKind::DailyReview => daily::run(store, ctx, slot),
        JobKind::WeeklyTrends => {
            // The benchmark's fsync goes to the data dir's disk, the one the agent writes.
            let dir = store.path().parent().unwrap_or(std::path::Path::new("."));
            let bench = weekly::host_bench(dir).inspect_err(|e| tracing::warn!("host benchmark failed: {e}")).ok();
            weekly::run(store, ctx, slot, bench.as_ref())
        }
        JobKind::MonthlyAudit => Ok(monthly::run(store, ctx, slot)),
        JobKind::QuarterlyCapacity => capacity::run(store, ctx, slot),
    }
}

/// The archive, opened to read, if it is on and can be opened (one held by a writer is
/// skipped: the report says it read the hot store only).
fn archive_beside(ctx: &Context) -> Option<Archive> {
    let (path, _) = ctx.archive.as_ref()?;
    path.exists().then(|| Archive::open_read(path).ok()).flatten()
}

/// Unix seconds of the oldest sample in either store, if any: how much history a job has.
fn history_from(store: &Store, archive: Option<&Archive>) -> Option<i64> {
    let hot = store.oldest_ts().ok().flatten();
    let archived = archive.and_then(|a| a.raw_from().ok().flatten());
    hot.into_iter().chain(archived).min()
}

/// The finding that says a job had too little history to judge (it needs history from
/// `needed_from` on, and has it from `from`), so it finds and clears nothing; `None` when
/// it has enough.
fn too_little(store: &Store, archive: Option<&Archive>, needed_from: i64, slot: i64, what: &str) -> Option<Finding> {
    let from = history_from(store, archive).unwrap_or(slot);
    (from > needed_from).then(|| {
        let minutes = (slot - from).max(0).unsigned_abs() / 60 * 60;
        let had = humantime::format_duration(std::time::Duration::from_secs(minutes));
        Finding {
            level: crate::report::Level::Info,
            subject: "history".into(),
            text: format!("only {had} of it, since {}: {what}", crate::units::local(from)),
        }
    })
}

/// One series in `step`-second buckets over `[from, to)`, from both stores; empty if
/// there is nothing.
fn buckets(store: &Store, archive: Option<&Archive>, key: &SeriesKey, from: i64, to: i64, step: i64) -> Vec<Point> {
    let sel = Selector { metric: key.metric.name.to_owned(), labels: key.labels.clone() };
    let points =
        one_series(Some(store), archive, &sel).and_then(|()| trend(Some(store), archive, &sel, from, to, step));
    points.unwrap_or_default()
}
