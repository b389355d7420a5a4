//! The performance checklist (issue 5, in progress on this branch): cron-scheduled checks
//! that write reports.
//!
//! Owns when checks run and what they find; must not hold SQL (the store's door) or read
//! the clock (the daemon passes `now`).

pub mod report;
pub mod schedule;

/// The built-in checklist: (name, default schedule, what it reviews).
pub const BUILT_IN_JOBS: &[(&str, &str, &str)] = &[
    ("hourly_health", "5 * * * *", "the last hour against its baseline and thresholds; the agent's own health"),
    ("daily_review", "15 8 * * *", "yesterday against the 7 days before; anomalies, alerts, top processes, leaks"),
    ("weekly_trends", "30 8 * * 1", "week-over-week change per metric; a short host benchmark against its history"),
    ("monthly_audit", "45 8 1 * *", "baselines recomputed; rules that never or always fire"),
    ("quarterly_capacity", "0 9 1 1,4,7,10 *", "when each disk fills; memory and swap growth"),
];
