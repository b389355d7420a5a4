//! `hostwatch checks` and `hostwatch report list|show|run`.

use anyhow::{Result, bail};

use super::listing::{Field, Listing};
use super::{Paths, UsageError};
use crate::checks::run_job;
use crate::cli::Format;
use crate::config::Config;
use crate::daemon::wall_ms;
use crate::store::Store;

/// The jobs with their schedule, next slot and last run.
pub fn list(paths: &Paths, config: &Config, format: Format) -> Result<()> {
    let runs = super::store_if_any(paths)?.map(|s| s.last_runs()).transpose()?.unwrap_or_default();
    let now = chrono::Local::now();
    let mut list = Listing::new(&["job", "schedule", "next_run", "last_run", "last_result", "report"]);
    for job in &config.checks.jobs {
        let next = job.schedule.next_slot(&now).map_or(Field::Absent("never"), |t| Field::Time(t.timestamp()));
        let last = runs.iter().find(|r| r.job == job.name);
        let ran = last.map_or(Field::Absent("never"), |r| Field::Time(r.slot));
        let result = last.map(|r| r.outcome.clone().unwrap_or_else(|| "running or interrupted".to_owned()));
        let report = last.and_then(|r| r.report_id).map_or(Field::Absent("-"), Field::Int);
        let schedule = Field::Text(job.schedule.expr.clone());
        list.push(vec![Field::Text(job.name.clone()), schedule, next, ran, Field::text(result), report]);
    }
    if !config.checks.enabled && format == Format::Table {
        outln!("The checklist is off (checks.enabled = false).");
    }
    list.print(format)
}

/// The latest reports.
pub fn reports(paths: &Paths, limit: u32, format: Format) -> Result<()> {
    let store = Store::open_read_only(&paths.hot)?;
    let mut list = Listing::new(&["id", "job", "written", "level", "findings"]);
    for r in store.reports(limit)? {
        let findings: Vec<serde_json::Value> = serde_json::from_str(&r.findings).unwrap_or_default();
        list.push(vec![
            Field::Int(r.id),
            Field::Text(r.job.clone()),
            Field::Time(r.created_ms / 1000),
            Field::Text(r.level.clone()),
            Field::Int(i64::try_from(findings.len()).unwrap_or(i64::MAX)),
        ]);
    }
    list.print(format)
}

/// One report's Markdown.
pub fn show(paths: &Paths, id: i64) -> Result<()> {
    let store = Store::open_read_only(&paths.hot)?;
    let Some(report) = store.report(id)? else {
        bail!(UsageError(format!("no report {id}: `hostwatch report list` shows their ids")));
    };
    out!("{}", report.markdown);
    Ok(())
}

/// Runs a job now for the hour just ended and prints its report.
pub fn run_now(paths: &Paths, config: &Config, name: &str) -> Result<()> {
    let Some(job) = config.checks.jobs.iter().find(|j| j.name == name) else {
        let known: Vec<&str> = config.checks.jobs.iter().map(|j| j.name.as_str()).collect();
        bail!(UsageError(format!("no job {name:?}; the checklist is {}", known.join(", "))));
    };
    let store = Store::open_read_only(&paths.hot)?;
    let report = run_job(job, &store, &config.checks_context(&paths.archive, wall_ms), wall_ms() / 1000)?;
    out!("{}", report.markdown);
    Ok(())
}
