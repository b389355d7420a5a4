//! The performance checklist: cron-scheduled checks that write reports. So far the hourly
//! health check and the quarterly capacity forecast; the daily, weekly and monthly reviews
//! come next.
//!
//! Owns when checks run and what they find; must not hold SQL (the store's door) or read
//! the clock (the daemon passes `now`).

pub mod capacity;
pub mod fit;
pub mod hourly;
pub mod report;
pub mod schedule;

use crate::config::Config;
use crate::store::{Store, StoreError};

/// The built-in checklist: (name, default schedule, what it reviews). The daily, weekly,
/// monthly and quarterly reviews join it as they are built.
pub const BUILT_IN_JOBS: &[(&str, &str, &str)] = &[
    ("hourly_health", "5 * * * *", "the last hour against the rules' thresholds; the agent's own health"),
    ("quarterly_capacity", "0 9 1 1,4,7,10 *", "when each disk fills; how memory and swap grow"),
];

/// Runs job `name` for `slot` (unix seconds) on the hot store.
pub fn run_job(name: &str, store: &Store, config: &Config, slot: i64) -> Result<report::Report, StoreError> {
    match name {
        "hourly_health" => hourly::run(store, config, slot),
        "quarterly_capacity" => capacity::run(store, config, slot),
        other => unreachable!("config validation admits only built-in jobs, not {other:?}"),
    }
}
