//! The performance checklist (issue 5, in progress on this branch): cron-scheduled checks
//! that write reports.
//!
//! Owns when checks run and what they find; must not hold SQL (the store's door) or read
//! the clock (the daemon passes `now`).

pub mod schedule;
