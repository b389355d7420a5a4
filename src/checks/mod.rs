//! The performance checklist: cron-scheduled checks that write reports. So far the hourly
//! health check, the daily review, the weekly trends with a host benchmark, the monthly
//! audit and the quarterly capacity forecast; user-defined SQL checks come next.
//!
//! Owns when checks run and what they find; must not hold SQL (the store's door) or read
//! the clock (the daemon passes `now`).

pub mod capacity;
pub mod custom;
pub mod daily;
pub mod fit;
pub mod hourly;
pub mod monthly;
pub mod report;
pub mod schedule;
pub mod weekly;

use crate::archive::Archive;
use crate::config::Config;
use crate::metrics::SeriesKey;
use crate::store::{Selector, Store, StoreError};
use crate::trend::{Point, one_series, trend};

/// The built-in checklist: (name, default schedule). What each reviews is in its module.
pub const BUILT_IN_JOBS: &[(&str, &str)] = &[
    ("hourly_health", "5 * * * *"),
    ("daily_review", "15 8 * * *"),
    ("weekly_trends", "30 8 * * 1"),
    ("monthly_audit", "45 8 1 * *"),
    ("quarterly_capacity", "0 9 1 1,4,7,10 *"),
];

/// Runs `job` for `slot` (unix seconds) on the hot store.
pub fn run_job(
    job: &crate::config::Job,
    store: &Store,
    config: &Config,
    slot: i64,
) -> Result<report::Report, StoreError> {
    if let Some(check) = &job.custom {
        return custom::run(&job.name, check, store, config, slot);
    }
    match job.name.as_str() {
        "hourly_health" => hourly::run(store, config, slot),
        "daily_review" => daily::run(store, config, slot),
        "weekly_trends" => {
            // The benchmark's fsync goes to the data dir's disk, the one the agent writes.
            let dir = store.path().parent().unwrap_or(std::path::Path::new("."));
            let bench = weekly::host_bench(dir).inspect_err(|e| tracing::warn!("host benchmark failed: {e}")).ok();
            weekly::run(store, config, slot, bench.as_ref())
        }
        "monthly_audit" => monthly::run(store, config, slot),
        "quarterly_capacity" => capacity::run(store, config, slot),
        other => unreachable!("config validation admits only built-in jobs, not {other:?}"),
    }
}

/// The archive beside the hot store, opened to read, if it is on and can be opened (one
/// held by a writer is skipped: the report says it read the hot store only).
fn archive_beside(store: &Store, config: &Config) -> Option<Archive> {
    let path = store.path().with_file_name(crate::archive::FILE_NAME);
    (config.archive.enabled && path.exists()).then(|| Archive::open_read(&path).ok()).flatten()
}

/// One series in `step`-second buckets over `[from, to)`, from both stores; empty if
/// there is nothing.
fn buckets(store: &Store, archive: Option<&Archive>, key: &SeriesKey, from: i64, to: i64, step: i64) -> Vec<Point> {
    let labels = key.labels.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    let sel = Selector { metric: key.metric.name.to_owned(), labels };
    let points =
        one_series(Some(store), archive, &sel).and_then(|()| trend(Some(store), archive, &sel, from, to, step));
    points.unwrap_or_default()
}
